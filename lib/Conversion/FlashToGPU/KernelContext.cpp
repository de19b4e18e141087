//===- KernelContext.cpp - what every piece of one kernel shares ----------===//

#include "KernelContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::flash;

KernelContext::KernelContext(OpBuilder &builder, Location loc, TiledOp tiled)
    : b(builder), loc(loc), config(tiled.getConfig()),
      policy(tiled.getEffectivePolicy()) {
  auto qType = cast<MemRefType>(tiled.getQ().getType());
  element = qType.getElementType();
  headDim = qType.getDimSize(3);
  blockM = config.getBlockM();
  blockN = config.getBlockN();
  stages = config.getStages();
  warps = config.getWarps();
  rowsPerWarp = blockM / warps;
  strips = rowsPerWarp / kStripRows;
  kvSplits = config.getKvSplits();
  producer = hasProducer(policy.getPrefetch());
  tma = policy.getPrefetch() == Prefetch::tma;
}

void KernelContext::emitPreamble() {
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value warp = arith::DivUIOp::create(b, loc, tid, idx(kWarpThreads));
  lane = arith::RemUIOp::create(b, loc, tid, idx(kWarpThreads));
  warpRow = mul(warp, idx(rowsPerWarp));
}

Value KernelContext::idx(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value KernelContext::f32(float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value KernelContext::i32(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 32);
}

Value KernelContext::add(Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}

Value KernelContext::mul(Value x, Value y) {
  return arith::MulIOp::create(b, loc, x, y);
}

Value KernelContext::exp2(Value x) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, b.getF32Type(),
             b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"), ValueRange{x})
      .getResult(0);
}

Value KernelContext::log2(Value x) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, b.getF32Type(), b.getStringAttr("llvm.nvvm.lg2.approx.f"),
             ValueRange{x})
      .getResult(0);
}

Value KernelContext::shuffleXor(Value x, int32_t offset) {
  return gpu::ShuffleOp::create(b, loc, x, offset, kWarpThreads,
                                gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

void KernelContext::warpSync() { NVVM::SyncWarpOp::create(b, loc, i32(-1)); }

Value KernelContext::buildVector(VectorType type, ArrayRef<Value> elements) {
  Value v = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
  int64_t cols = type.getDimSize(1);
  for (auto [i, e] : llvm::enumerate(elements))
    v = vector::InsertOp::create(
        b, loc, e, v, ArrayRef<int64_t>{int64_t(i) / cols, int64_t(i) % cols});
  return v;
}

Value KernelContext::sharedBuffer() {
  if (!sharedBytes) {
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                     MemRefLayoutAttrInterface(), workgroup);
    sharedBytes = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
  }
  return sharedBytes;
}

Value KernelContext::sharedView(int64_t &offset, ArrayRef<int64_t> shape,
                                Type type) {
  Value buffer = sharedBuffer();
  auto viewType =
      MemRefType::get(shape, type, MemRefLayoutAttrInterface(),
                      cast<MemRefType>(buffer.getType()).getMemorySpace());
  Value view = memref::ViewOp::create(b, loc, viewType, buffer, idx(offset),
                                      ValueRange{});
  int64_t bytes = type.getIntOrFloatBitWidth() / 8;
  for (int64_t s : shape)
    bytes *= s;
  offset = llvm::alignTo(offset + bytes, 128);
  return view;
}

Value flash::sharedWindowAddress(OpBuilder &b, Location loc, Value memref,
                                 Value bytes) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                    arith::AddIOp::create(b, loc, base, bytes));
}
