//===- FlashToGPUPass.cpp - flash.tiled to a GPU kernel and its launch ----===//
//
// The pass: each flash.tiled becomes a gpu.func in a gpu.module, whose body
// TileLowering emits, and a gpu.launch_func shaped by the LaunchPlan (with
// the split workspace allocated around it).
//
//===----------------------------------------------------------------------===//

#include "flashc/Conversion/Passes.h"

#include "BlockMap.h"
#include "FastMath.h"
#include "TileLowering.h"

#include "flashc/Conversion/LaunchPlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHTOGPU
#include "flashc/Conversion/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

/// The kernel of `tiled`, appended to a new gpu.module of `module`.
static FailureOr<gpu::GPUFuncOp> buildKernel(TiledOp tiled, ModuleOp module,
                                             SymbolTable &symbols,
                                             const LaunchPlan &plan,
                                             StringRef base) {
  Location loc = tiled.getLoc();
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, loc, (base + "_kernels").str());
  symbols.insert(gpuModule);
  b.setInsertionPointToStart(gpuModule.getBody());
  if (plan.blockMap)
    buildBlockMapKernel(tiled, b, (base + "_kernel_block_map").str());
  SmallVector<Type> argTypes(tiled->getOperandTypes());
  if (plan.blockMap)
    argTypes.push_back(MemRefType::get({ShapedType::kDynamic}, b.getI32Type()));
  if (plan.kvSplits > 1)
    argTypes.append({MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
                     MemRefType::get({ShapedType::kDynamic}, b.getI32Type())});
  // Tensor maps: pointers here (a !nvgpu.tensormap.descriptor parameter
  // does not legalize); flash-tensor-map-args makes them by-value grid
  // constants once the kernel is an llvm.func.
  if (plan.tensorMaps)
    argTypes.append(2, LLVM::LLVMPointerType::get(b.getContext()));
  auto kernel = gpu::GPUFuncOp::create(b, loc, (base + "_kernel").str(),
                                       b.getFunctionType(argTypes, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  if (plan.tensorMaps)
    kernel->setAttr(kTensorMapArgsAttrName, b.getI64IntegerAttr(2));
  kernel.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(plan.threads), 1, 1}));
  kernel->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  b.getI32IntegerAttr(plan.minBlocksPerSM));
  Block &entry = kernel.getBody().front();
  b.setInsertionPointToStart(&entry);
  TileLowering lowering(tiled, b);
  if (failed(lowering.emit(entry.getArguments())))
    return failure();
  gpu::ReturnOp::create(b, loc);
  return kernel;
}

/// The tensor map of K or V `source` that the kernel's TMA copies read: a
/// box of 64 columns by block_n rows of one (batch, head), 128-byte
/// swizzled, zero past the tensor's edge. This host code only says what
/// the map holds: flashc's runtime encodes it at launch (docs/Bundle.md)
/// and passes its 128 bytes by value, where upstream's lowering of
/// nvgpu.tma.create.descriptor would pass a pointer to a copy in global
/// memory (hence the cast, and docs/CMakePackage.md's warning).
static Value buildTensorMap(OpBuilder &b, Location loc, Value source,
                            const LaunchPlan &plan) {
  auto type = cast<MemRefType>(source.getType());
  auto box = MemRefType::get(
      {1, 1, plan.blockN, kTensorMapBoxColumns}, type.getElementType(),
      MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup));
  auto mapType = nvgpu::TensorMapDescriptorType::get(
      b.getContext(), box, nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
      nvgpu::TensorMapL2PromoKind::L2PROMO_128B,
      nvgpu::TensorMapOOBKind::OOB_ZERO,
      nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
  Value unranked = memref::CastOp::create(
      b, loc, UnrankedMemRefType::get(type.getElementType(), 0), source);
  SmallVector<Value> boxSizes;
  for (int64_t size : box.getShape())
    boxSizes.push_back(arith::ConstantIndexOp::create(b, loc, size));
  Value map =
      nvgpu::TmaCreateDescriptorOp::create(b, loc, mapType, unranked, boxSizes);
  return UnrealizedConversionCastOp::create(
             b, loc, LLVM::LLVMPointerType::get(b.getContext()), map)
      .getResult(0);
}

/// Replaces `tiled` by the launch of `kernel`: one program per (query
/// block, head, batch · split).
static void buildLaunch(TiledOp tiled, gpu::GPUFuncOp kernel,
                        const LaunchPlan &plan) {
  Location loc = tiled.getLoc();
  OpBuilder b(tiled);
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value q = tiled.getQ();
  auto dim = [&](int64_t d) -> Value {
    return memref::DimOp::create(b, loc, q, d);
  };
  Value gridX = arith::CeilDivUIOp::create(b, loc, dim(2), idx(plan.blockM));
  auto batchHeads = [&] {
    return arith::MulIOp::create(b, loc, dim(0), dim(1));
  };
  Value smemValue = arith::ConstantIntOp::create(b, loc, plan.sharedBytes, 32);
  SmallVector<Value> args(tiled->getOperands());
  SmallVector<Value> workspace;
  auto alloc = [&](Type element, Value size) -> Value {
    auto type = MemRefType::get({ShapedType::kDynamic}, element);
    return gpu::AllocOp::create(b, loc, type, Type(), ValueRange{},
                                ValueRange{size}, ValueRange{})
        .getMemref();
  };
  if (plan.blockMap) {
    // The map kernel writes every entry; the attention kernel reads it.
    Value keyBlocks = arith::CeilDivUIOp::create(
        b, loc, memref::DimOp::create(b, loc, tiled.getK(), 2),
        idx(plan.blockN));
    Value mapRows = plan.blockMapRows == 2   ? batchHeads()
                    : plan.blockMapRows == 1 ? dim(0)
                                             : idx(1);
    Value entries = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, gridX, mapRows), keyBlocks);
    Value map = alloc(b.getI32Type(), entries);
    SmallVector<Value> mapArgs(tiled->getOperands());
    mapArgs.push_back(map);
    auto builder = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
        kernel, SymbolRefAttr::get(b.getContext(),
                                   (kernel.getName() + "_block_map").str()));
    gpu::LaunchFuncOp::create(
        b, loc, builder, gpu::KernelDim3{keyBlocks, gridX, mapRows},
        gpu::KernelDim3{idx(kBlockMapThreads), idx(1), idx(1)}, Value(),
        mapArgs);
    args.push_back(map);
    workspace.push_back(map);
  }
  // Splits: the most the config allows, fewer where batch · splits would
  // pass grid z's limit (the runtime's launch chooses per shape instead).
  Value splits = idx(1);
  if (plan.kvSplits > 1)
    splits = arith::MaxUIOp::create(
        b, loc, idx(1),
        arith::MinUIOp::create(
            b, loc, idx(plan.kvSplits),
            arith::DivUIOp::create(
                b, loc, idx(kMaxGridYZ),
                arith::MaxUIOp::create(b, loc, dim(0), idx(1)))));
  if (plan.kvSplits > 1) {
    // The split workspace; the counters are zeroed once (the kernel resets
    // the ones it uses).
    Value tiles = arith::MulIOp::create(b, loc, gridX, batchHeads());
    Value floats = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, tiles, splits),
        idx(plan.partialFloatsPerSlot()));
    Value counterCount =
        arith::MulIOp::create(b, loc, tiles, idx(plan.countersPerTile()));
    Value partials = alloc(b.getF32Type(), floats);
    Value counters = alloc(b.getI32Type(), counterCount);
    gpu::MemsetOp::create(b, loc, Type(), ValueRange{}, counters,
                          arith::ConstantIntOp::create(b, loc, 0, 32));
    workspace.append({partials, counters});
    args.append({partials, counters});
  }
  if (plan.tensorMaps)
    for (Value source : {tiled.getK(), tiled.getV()})
      args.push_back(buildTensorMap(b, loc, source, plan));
  // Heads along y and batches (times splits) along z: each stays within
  // 65535 where batch · heads may not. Varlen: a batch per sequence, and
  // query blocks enough for the total (the host does not read the
  // lengths; the runtime's launch takes the longest instead).
  Value batches = dim(0);
  if (Value cuQ = tiled.getCuSeqlensQ())
    batches = arith::SubIOp::create(
        b, loc, memref::DimOp::create(b, loc, cuQ, 0), idx(1));
  Value gridZ = arith::MulIOp::create(b, loc, batches, splits);
  gpu::LaunchFuncOp::create(
      b, loc, kernel, gpu::KernelDim3{gridX, dim(1), gridZ},
      gpu::KernelDim3{idx(plan.threads), idx(1), idx(1)}, smemValue, args);
  for (Value buffer : workspace)
    gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, buffer);
}

namespace {
struct FlashToGPUPass
    : public mlir::flash::impl::FlashToGPUBase<FlashToGPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // flash.attention must be expanded to the tile level first; lowering
    // nothing would leave it to fail later with a less useful message.
    WalkResult unexpanded = module.walk([](AttentionOp op) {
      op.emitOpError("flash-to-gpu: expand to the tile level first "
                     "(--flash-expand-attention)");
      return WalkResult::interrupt();
    });
    if (unexpanded.wasInterrupted())
      return signalPassFailure();
    SmallVector<TiledOp> programs;
    module.walk([&](TiledOp op) { programs.push_back(op); });
    if (programs.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    SymbolTable symbols(module);
    for (TiledOp tiled : programs) {
      SmallVector<MaskModOp> mapped = dataDependentMasks(tiled);
      if ((tiled.isVarlen() || tiled.isPaged()) && !mapped.empty()) {
        mapped.front().emitOpError()
            << "flash-to-gpu: a mask_mod that reads data (which needs a "
               "block map) is not supported with "
            << (tiled.isVarlen() ? "varlen" : "a paged cache") << " yet";
        return signalPassFailure();
      }
      auto func = tiled->getParentOfType<func::FuncOp>();
      std::string base = func ? func.getSymName().str() : "flash";
      LaunchPlan plan = planLaunch(tiled);
      FailureOr<gpu::GPUFuncOp> kernel =
          buildKernel(tiled, module, symbols, plan, base);
      if (failed(kernel))
        return signalPassFailure();
      buildLaunch(tiled, *kernel, plan);
      tiled.erase();
      // The modifiers' math (FastMath.h).
      if (failed(expandMath(*kernel)))
        return signalPassFailure();
    }
  }
};
} // namespace
