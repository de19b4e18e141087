//===- KernelContext.h - what every piece of one kernel shares --*- C++ -*-===//
//
// The builder, the tile configuration's sizes, the thread's coordinates and
// the small op helpers used by the tile walk, the tensor-core strategies, the
// copy pipeline and the online softmax of one kernel. Nothing here depends on
// the order in which those pieces run: the thread coordinates are created
// once, at the top of the kernel, by emitPreamble().
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_KERNELCONTEXT_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_KERNELCONTEXT_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/IR/Builders.h"

namespace mlir::flash {

/// Threads of a warp.
constexpr int64_t kWarpThreads = 32;
/// Bytes of an f16 or bf16 element, the only operand types.
constexpr int64_t kElementBytes = 2;
/// Elements of one 16-byte chunk: a cp.async copy, an ldmatrix row, the
/// unit of the shared-memory swizzle.
constexpr int64_t kChunkElements = 16 / kElementBytes;
/// Rows of one tensor-core strip: each warp owns whole 16-row strips.
constexpr int64_t kStripRows = 16;

class KernelContext {
public:
  KernelContext(OpBuilder &builder, Location loc, TiledOp tiled);

  /// The thread's coordinates; called once, at the top of the kernel.
  void emitPreamble();

  Value idx(int64_t v);
  Value f32(float v);
  Value i32(int64_t v);
  Value add(Value x, Value y);
  Value mul(Value x, Value y);
  /// exp2 as PTX ex2.approx.ftz.f32 through its NVVM intrinsic: math.exp2
  /// becomes a libdevice call (__nv_exp2f; docs/Pipeline.md, "Upstream
  /// traps"),
  /// convert-gpu-to-nvvm rejects llvm.intr.exp2, and the NVVM dialect has no
  /// ex2 op.
  Value exp2(Value x);
  /// log2 as PTX lg2.approx.f32, for the same reason as exp2.
  Value log2(Value x);
  Value shuffleXor(Value x, int32_t offset);
  void warpSync();
  /// A 2-d vector from its elements in row-major order, as a chain of
  /// vector.insert (what convert-gpu-to-nvvm lowers for n-d vectors; it has
  /// no pattern for n-d extract_strided_slice).
  Value buildVector(VectorType type, ArrayRef<Value> elements);
  /// A view of `shape` x `type` at byte `offset` of the kernel's one dynamic
  /// shared-memory buffer; advances `offset` past it, 128-byte aligned.
  Value sharedView(int64_t &offset, ArrayRef<int64_t> shape, Type type);
  /// The kernel's one dynamic shared-memory buffer (memref<?xi8>).
  Value sharedBuffer();

  OpBuilder &b;
  Location loc;
  TileConfigAttr config;
  /// What to do for speed (flash-select-config chose it).
  PolicyAttr policy;
  Type element;
  int64_t headDim, blockM, blockN, stages, warps, rowsPerWarp, strips;
  int64_t kvSplits;
  /// Whether a producer warpgroup, after the `warps` that compute, issues
  /// the K/V copies (policy prefetch = producer or tma), and whether by TMA.
  bool producer, tma;
  /// Thread, lane and the first tile row of this thread's warp.
  Value tid, lane, warpRow;

private:
  Value sharedBytes; // the dynamic shared-memory buffer, made on first use
};

/// The byte address (i64) in the shared window of `memref`, a view of the
/// dynamic shared buffer, plus `bytes` (index): what PTX instructions that
/// take a shared address (wgmma descriptors, wmma loads, mbarriers) read.
Value sharedWindowAddress(OpBuilder &b, Location loc, Value memref,
                          Value bytes);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_KERNELCONTEXT_H
