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

/// The bundle's name of a capture's scalar or element type, or "" if the
/// runtime cannot pass it.
static std::string captureTypeName(Type type, bool scalar) {
  if (type.isIndex())
    return "index";
  if (type.isF32() || type.isF64() ||
      (!scalar && (type.isF16() || type.isBF16())))
    return type.isF32()   ? "f32"
           : type.isF64() ? "f64"
           : type.isF16() ? "f16"
                          : "bf16";
  if (auto integer = dyn_cast<IntegerType>(type)) {
    unsigned width = integer.getWidth();
    if (width == 32 || width == 64 ||
        (!scalar && (width == 1 || width == 8 || width == 16)))
      return "i" + std::to_string(width);
  }
  return "";
}

/// The captures as the runtime passes them (flashc::CaptureInfo).
static LogicalResult describeCaptures(TiledOp tiled,
                                      flashc::KernelBundle &bundle) {
  for (auto [index, value] : llvm::enumerate(tiled.getCaptures())) {
    flashc::CaptureInfo capture;
    auto memref = dyn_cast<MemRefType>(value.getType());
    capture.memref = static_cast<bool>(memref);
    Type type = memref ? memref.getElementType() : value.getType();
    capture.type = captureTypeName(type, !memref);
    if (capture.type.empty() || (memref && memref.getRank() > 8))
      return tiled.emitOpError()
             << "capture #" << index << " of type " << value.getType()
             << " cannot be passed by the runtime (memrefs of rank 1-8 of "
                "f16, bf16, f32, f64, i1, i8, i16, i32, i64, index; scalars "
                "i32, i64, index, f32, f64)";
    if (memref)
      for (int64_t size : memref.getShape())
        capture.sizes.push_back(ShapedType::isDynamic(size) ? -1 : size);
    bundle.captures.push_back(std::move(capture));
  }
  return success();
}

/// Whether the program modifies its scores beyond the scale and the masks
/// of flash.mask (so that the reference needs the source).
static bool modifiesScores(TiledOp tiled) {
  return tiled
      .walk([](Operation *op) {
        bool elementwise =
            isa_and_nonnull<arith::ArithDialect, math::MathDialect>(
                op->getDialect()) &&
            !isa<arith::ConstantOp>(op) &&
            llvm::any_of(op->getResultTypes(),
                         [](Type t) { return isa<RankedTensorType>(t); });
        return isa<ScoreModOp, MaskModOp>(op) || elementwise
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
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
  bundle.tensorMaps = plan.tensorMaps;
  if (plan.blockMap) {
    bundle.blockMapKernel = bundle.kernelName + "_block_map";
    bundle.blockMapRows = plan.blockMapRows;
  }
  bundle.sharedBytes = plan.sharedBytes;
  auto staticOr = [](MemRefType t, unsigned d) {
    return t.isDynamicDim(d) ? int64_t(-1) : t.getDimSize(d);
  };
  bundle.batch = staticOr(qType, 0);
  bundle.heads = staticOr(qType, 1);
  bundle.seqQ = staticOr(qType, 2);
  bundle.seqK = staticOr(kType, 2);
  // K's heads, or V's where only they are static (the verifier keeps the
  // two equal).
  auto vType = cast<MemRefType>(tiled.getV().getType());
  bundle.kvHeads =
      kType.isDynamicDim(1) ? staticOr(vType, 1) : staticOr(kType, 1);
  bundle.strided = llvm::any_of(
      ValueRange{tiled.getQ(), tiled.getK(), tiled.getV(), tiled.getO()},
      [](Value operand) {
        return !cast<MemRefType>(operand.getType()).getLayout().isIdentity();
      });
  // What the program computes, for the reference check of a run: causal if
  // any mask is, and the scale from the softmax step.
  bundle.scale = 1.0f / std::sqrt(static_cast<float>(bundle.headDim));
  bundle.causal = tiled.isCausal();
  tiled.walk([&](MaskOp mask) {
    bundle.bottomRight |= mask.getCausal() && mask.getDiagonal();
  });
  bundle.lse = static_cast<bool>(tiled.getLse());
  bundle.varlen = tiled.isVarlen();
  bundle.paged = tiled.isPaged();
  if (bundle.varlen) {
    int64_t entries =
        staticOr(cast<MemRefType>(tiled.getCuSeqlensQ().getType()), 0);
    if (entries < 0)
      entries = staticOr(cast<MemRefType>(tiled.getCuSeqlensK().getType()), 0);
    bundle.sequences = entries < 0 ? -1 : entries - 1;
  }
  if (bundle.paged) {
    auto tableType = cast<MemRefType>(tiled.getBlockTable().getType());
    bundle.pages = staticOr(kType, 0);
    if (bundle.pages < 0)
      bundle.pages = staticOr(vType, 0);
    bundle.maxPages = staticOr(tableType, 1);
    // Q's batch, else the tables' (the verifier keeps them equal).
    if (bundle.batch < 0)
      bundle.batch = staticOr(tableType, 0);
    if (bundle.batch < 0)
      bundle.batch =
          staticOr(cast<MemRefType>(tiled.getSeqlensK().getType()), 0);
  }
  bundle.modified = modifiesScores(tiled);
  if (failed(describeCaptures(tiled, bundle)))
    return failure();
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
