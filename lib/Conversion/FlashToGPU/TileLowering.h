//===- TileLowering.h - the walk over a flash.tiled program -----*- C++ -*-===//
//
// Lowers the body of one flash.tiled into the body of its gpu.func: the ops
// are walked in order and each tile value is given storage (TileStorage),
// through the tensor-core strategy and the copy pipeline; scalar ops are
// cloned. Anything the tile level allows but this mapping does not handle is
// reported with the op's location.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_TILELOWERING_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_TILELOWERING_H

#include "CopyPipeline.h"
#include "SplitKV.h"
#include "TensorCoreStrategy.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <unordered_map>

namespace mlir::flash {

class TileLowering {
public:
  TileLowering(TiledOp tiled, OpBuilder &b);

  /// Emits the kernel body at the builder's insertion point, inside the
  /// gpu.func whose arguments are q, k, v, o (and the split workspace).
  LogicalResult emit(ValueRange kernelArgs);

private:
  void emitPreamble(ValueRange kernelArgs);
  // Varlen and paged views (SequenceViews.cpp).
  /// Varlen: maps q, k, v, o and lse to views of sequence `batch`'s rows
  /// ([batches, heads, its length, head_dim], batch stride 0), bounded by
  /// the cu_seqlens operands.
  void emitSequenceViews(Value batch, Value batches, ValueRange kernelArgs);
  /// Paged K/V: what the copies read, views of the program's sequence's
  /// keys (seq its key length) and the caches' page geometry.
  struct PagedKeys {
    Value keys, values;
    Value pageSize, keyPageStride, valuePageStride;
  };
  PagedKeys emitPagedKeyViews(Value batch, Value batches,
                              ValueRange kernelArgs);
  void allocateSharedMemory(int64_t &offset);
  /// Lowers `block`'s ops in order; `afterFirstDot`, if given, is emitted
  /// after its first flash.dot (or at its end if it has none).
  LogicalResult lowerBlock(Block &block,
                           const std::function<void()> &afterFirstDot = {});
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerLoadTile(LoadTileOp op);
  // The K/V loop (KVLoop.cpp).
  /// What a flash.kv_loop carries through its scf.for: per carried tile,
  /// whether it is kept in the strategy's partial row form, and how many
  /// flat values it takes (known once the inits are flattened).
  struct CarriedSlots {
    SmallVector<bool> partial;
    SmallVector<unsigned> counts;
  };
  CarriedSlots carriedSlots(KVLoopOp op);
  /// The flat values of carried tiles (inits or yields), in their slots'
  /// forms; the first call records each slot's count.
  FailureOr<SmallVector<Value>>
  flattenCarried(ValueRange values, Operation *user, CarriedSlots &slots);
  /// Gives carried tiles (body arguments or loop results) their storage
  /// from the flat values of the scf.for.
  void bindCarried(ValueRange tileValues, ValueRange flat,
                   const CarriedSlots &slots);
  LogicalResult lowerKVLoop(KVLoopOp op);
  /// Narrows the loop's [lower, upper) (lower may be null) to the positions
  /// an affine flash.mask_mod of its body lets this program's rows see.
  void narrowToAffineMasks(KVLoopOp op, Value &lower, Value &upper);
  /// The body of the K/V loop: one step of the copy pipeline and the tile
  /// ops of `op`'s body.
  LogicalResult lowerKVStep(KVLoopOp op, scf::ForOp loop, Value first,
                            CarriedSlots &slots);
  LogicalResult lowerDot(DotOp op);
  LogicalResult lowerMask(MaskOp op);
  /// flash.score_mod, flash.mask_mod and elementwise arith/math ops on
  /// scores: recorded on the scores' storage, applied per element when the
  /// softmax step reads them (ScoreMods.cpp).
  LogicalResult lowerModifier(Operation *op, Value scores);
  /// The kernel values a flash.score_mod or flash.mask_mod gives its region.
  template <typename ModOp>
  void bindModCoordinates(ModOp op, ScoreModifier &mod);
  /// Whether `op` is an elementwise arith/math op on a score tile.
  bool isScoreElementwise(Operation *op);
  LogicalResult lowerSoftmax(SoftmaxStepOp op);
  // The backward's ops (BackwardOps.cpp).
  LogicalResult lowerLoadRows(LoadRowsOp op);
  LogicalResult lowerLoadCols(LoadColsOp op);
  LogicalResult lowerRowDot(RowDotOp op);
  LogicalResult lowerStoreRows(StoreRowsOp op);
  LogicalResult lowerGradScores(GradScoresOp op);
  LogicalResult lowerAtomicAddDot(AtomicAddDotOp op);
  LogicalResult lowerRescale(RescaleOp op);
  // The epilogue (Epilogue.cpp).
  LogicalResult lowerNormalize(NormalizeOp op);
  LogicalResult lowerStore(StoreTileOp op);
  LogicalResult lowerStoreLse(StoreLseOp op);
  /// Writes one value per row of the program (the strategy's row order,
  /// strips then slots) to dest[b, h, row0 + row], once each, for the rows
  /// before dest's seq.
  void storeRowValues(ArrayRef<Value> values, Value dest, Value bh, Value row0);

  /// The flat values of a loop-carried tile (inits and yields).
  FailureOr<SmallVector<Value>> flatten(Value tileValue, Operation *user);
  /// The kernel-side value of a scalar of the tile program; constants
  /// captured from outside flash.tiled are cloned in on first use.
  Value scalar(Value value);
  /// Where a tile value lives; splat constants captured from outside
  /// flash.tiled become Splat storage. Null if unknown.
  TileStorage *findTile(Value value);

  TiledOp tiled;
  KernelContext k;
  std::unique_ptr<TensorCoreStrategy> tc;
  std::unique_ptr<CopyPipeline> copies;
  IRMapping mapping;
  Block *entryBlock = nullptr;
  struct ValueHash {
    size_t operator()(Value v) const { return hash_value(v); }
  };
  // Node-based, so that references stay valid while entries are added.
  std::unordered_map<Value, TileStorage, ValueHash> tiles;
  QKVBuffers buffers;
  /// The shared buffers (2-D view, flat view) of the tiles besides Q kept
  /// for the whole program (TiledOp::getResidentCaptureTiles), by their load.
  llvm::DenseMap<Operation *, std::pair<Value, Value>> residentBuffers;
  /// flash.atomic_add_dot's lhs, staged (null without one).
  Value stagingBuffer;
  SplitWorkspace workspace;
  /// With kv_splits > 1, what flash.normalize's merge of the splits gave
  /// (Epilogue.cpp) for the loop's row sums `sum`: flash.store_lse writes
  /// the merged rows, under the same guard as O.
  struct MergedRows {
    Value sum;
    SmallVector<Value> maxRows, sums;
    Value storeGuard;
  };
  std::optional<MergedRows> mergedRows;
  Value o, heads;
  /// Varlen: the query length of the program's sequence (null otherwise).
  Value sequenceLengthQ;
  /// The block map (BlockMap.h), if the program has a data-dependent mask;
  /// the start of this program's row of it; the current K/V block's entry.
  Value blockMap, mapRowBase, currentMapBits;
  /// The masks the block map serves (dataDependentMasks), found once.
  SmallVector<MaskModOp> mappedMasks;
};

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_TILELOWERING_H
