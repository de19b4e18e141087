//===- Pipeline.cpp - flash to PTX: registration and pipelines ------------===//

#include "flashc/Target/Pipeline.h"

#include "flashc/Conversion/Passes.h"
#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "flashc/Target/TargetInfo.h"
#include "flashc/Transforms/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void flash::registerFlashcDialects(DialectRegistry &registry) {
  registry
      .insert<flash::FlashDialect, func::FuncDialect, arith::ArithDialect,
              memref::MemRefDialect, scf::SCFDialect, cf::ControlFlowDialect,
              gpu::GPUDialect, nvgpu::NVGPUDialect, NVVM::NVVMDialect,
              LLVM::LLVMDialect, vector::VectorDialect, math::MathDialect,
              affine::AffineDialect, index::IndexDialect, ub::UBDialect>();
  // What convert-gpu-to-nvvm lowers through (ConvertToLLVMPatternInterface).
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
  // What gpu-module-to-binary serialises through.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

void flash::registerFlashcPasses() {
  // Textual pipelines need the registry; make a second call harmless.
  static bool registered = false;
  if (registered)
    return;
  registered = true;
  registerFlashPasses();
  registerFlashConversionPasses();
  // Only the upstream passes the pipeline runs (a lean registry keeps the
  // static flashc small; see docs/Pipeline.md for the order).
  registerCanonicalizerPass();
  registerCSEPass();
  registerSCFToControlFlowPass();
  registerConvertNVGPUToNVVMPass();
  memref::registerExpandStridedMetadataPass();
  registerLowerAffinePass();
  registerConvertGpuOpsToNVVMOps();
  registerConvertNVVMToLLVMPass();
  registerReconcileUnrealizedCastsPass();
  registerGpuNVVMAttachTarget();
  registerGpuModuleToBinaryPass();
}

bool flash::isSupportedArch(StringRef chip) { return lookupArch(chip); }

std::string flash::supportedArchList() { return supportedArchNames(); }

void flash::buildFlashToTilePipeline(OpPassManager &pm,
                                     const TargetOptions &options) {
  FlashSelectConfigOptions select;
  select.tuneCache = options.tuneCache;
  select.arch = options.chip;
  select.strategy = options.strategy;
  pm.addPass(createFlashSelectConfig(select));
  pm.addPass(createFlashExpandAttention());
  pm.addPass(createCanonicalizerPass());
}

void flash::buildTileToGPUPipeline(OpPassManager &pm) {
  pm.addPass(createFlashToGPU());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

LogicalResult flash::buildGPUToLLVMPipeline(OpPassManager &pm,
                                            const TargetOptions &options) {
  registerFlashcPasses();
  // Parsed from text so that the pipeline reads as it would on the
  // flashc-opt command line (and is printed the same way by
  // --mlir-print-ir-after-all).
  std::string pipeline =
      "nvvm-attach-target{chip=" + options.chip +
      " features=" + options.features +
      " O=" + std::to_string(options.optLevel) +
      "},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,"
      "expand-strided-metadata,lower-affine,"
      "convert-gpu-to-nvvm,flash-tensor-map-args,convert-nvvm-to-llvm,"
      "canonicalize,cse,"
      "reconcile-unrealized-casts)";
  return parsePassPipeline(pipeline, pm);
}

LogicalResult flash::buildSerializePipeline(OpPassManager &pm) {
  registerFlashcPasses();
  return parsePassPipeline("gpu-module-to-binary{format=isa}", pm);
}

FailureOr<std::string> flash::extractPTX(ModuleOp module) {
  std::string ptx;
  int binaries = 0;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjects()) {
      auto objectAttr = cast<gpu::ObjectAttr>(object);
      ptx = objectAttr.getObject().getValue().str();
      ++binaries;
    }
  });
  if (binaries != 1) {
    module.emitError() << "expected exactly one GPU binary, found " << binaries;
    return failure();
  }
  // The serialised PTX may carry a trailing NUL; keep plain text.
  while (!ptx.empty() && ptx.back() == '\0')
    ptx.pop_back();
  return ptx;
}
