//===- KernelInfo.cpp - launch metadata and the whole compile -------------===//

#include "flashc/Target/Pipeline.h"

#include "flashc/Conversion/LaunchPlan.h"
#include "flashc/Conversion/Passes.h"
#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

/// A bundle launches the attention kernel and nothing else: any other op of
/// the function around it (a copy, a loop) would silently not run, so it is
/// an error. Constants are fine (canonicalize hoists the tile program's).
static LogicalResult verifyNoHostCode(TiledOp tiled) {
  Operation *parent = tiled->getParentOp();
  if (!isa<func::FuncOp>(parent))
    return parent->emitOpError()
           << "holds the attention: flashc compiles a function whose body is "
              "the attention alone (the bundle launches only its kernel); "
              "lower host code around it in your own toolchain";
  for (Operation &op : cast<func::FuncOp>(parent).getBody().getOps()) {
    if (&op == tiled.getOperation() || isa<func::ReturnOp>(op) ||
        op.hasTrait<OpTrait::ConstantLike>())
      continue;
    return op.emitOpError()
           << "is host code beside the attention: flashc compiles a function "
              "whose body is the attention alone (the bundle launches only its "
              "kernel, so this would not run); lower host code around it in "
              "your own toolchain";
  }
  return success();
}

FailureOr<flashc::KernelBundle>
flash::describeKernel(ModuleOp module, const TargetOptions &options) {
  SmallVector<TiledOp> programs;
  module.walk([&](TiledOp op) { programs.push_back(op); });
  if (programs.size() != 1) {
    module.emitError() << "flashc compiles one attention per file, found "
                       << programs.size()
                       << " (flash.attention or flash.tiled ops)";
    return failure();
  }
  TiledOp tiled = programs.front();
  if (failed(verifyNoHostCode(tiled)))
    return failure();
  TileConfigAttr config = tiled.getConfig();
  auto qType = cast<MemRefType>(tiled.getQ().getType());
  auto kType = cast<MemRefType>(tiled.getK().getType());
  flashc::KernelBundle bundle;
  auto func = tiled->getParentOfType<func::FuncOp>();
  bundle.kernelName = (func ? func.getSymName().str() : "flash") + "_kernel";
  bundle.arch = options.chip;
  bundle.elementType = qType.getElementType().isBF16() ? "bf16" : "f16";
  bundle.headDim = qType.getDimSize(3);
  bundle.blockM = config.getBlockM();
  bundle.blockN = config.getBlockN();
  bundle.stages = config.getStages();
  bundle.warps = config.getWarps();
  bundle.strategy = stringifyStrategy(config.getStrategy()).str();
  bundle.kvSplits = config.getKvSplits();
  LaunchPlan plan = planLaunch(tiled);
  bundle.threads = plan.threads;
  bundle.sharedBytes = plan.sharedBytes;
  auto staticOr = [](MemRefType t, unsigned d) {
    return t.isDynamicDim(d) ? int64_t(-1) : t.getDimSize(d);
  };
  bundle.batch = staticOr(qType, 0);
  bundle.heads = staticOr(qType, 1);
  bundle.seqQ = staticOr(qType, 2);
  bundle.seqK = staticOr(kType, 2);
  // What the program computes, for the reference check of a run: causal if
  // any mask is, and the scale from the softmax step.
  bundle.scale = 1.0f / std::sqrt(static_cast<float>(bundle.headDim));
  bundle.causal = tiled.isCausal();
  tiled.walk([&](SoftmaxStepOp step) {
    bundle.scale =
        step.getScaleLog2e().convertToFloat() / static_cast<float>(M_LOG2E);
  });
  return bundle;
}

LogicalResult flash::compileModule(ModuleOp module, Stage stage,
                                   const TargetOptions &options,
                                   flashc::KernelBundle *bundle) {
  MLIRContext *context = module.getContext();
  if (!isSupportedArch(options.chip))
    return module.emitError() << "unsupported --arch '" << options.chip
                              << "' (supported: " << supportedArchList() << ")";
  if (stage == Stage::Input)
    return success();
  PassManager tilePm(context);
  buildFlashToTilePipeline(tilePm, options);
  if (failed(tilePm.run(module)))
    return failure();
  FailureOr<flashc::KernelBundle> info = describeKernel(module, options);
  if (failed(info))
    return failure();
  if (bundle)
    *bundle = *info;
  if (stage == Stage::Tile)
    return success();
  PassManager gpuPm(context);
  buildTileToGPUPipeline(gpuPm);
  if (failed(gpuPm.run(module)))
    return failure();
  if (stage == Stage::GPU)
    return success();
  PassManager llvmPm(context);
  if (failed(buildGPUToLLVMPipeline(llvmPm, options)) ||
      failed(llvmPm.run(module)))
    return failure();
  if (stage == Stage::LLVM)
    return success();
  PassManager binaryPm(context);
  if (failed(buildSerializePipeline(binaryPm)) || failed(binaryPm.run(module)))
    return failure();
  FailureOr<std::string> ptx = extractPTX(module);
  if (failed(ptx))
    return failure();
  if (bundle)
    bundle->ptx = *ptx;
  return success();
}
