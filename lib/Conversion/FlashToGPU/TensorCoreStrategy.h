//===- TensorCoreStrategy.h - how a warp computes on tensor cores -*- C++
//-*-===//
//
// The interface between the walk over tile ops (TileLowering) and a way of
// using the tensor cores: where a tile's elements live (which row and column
// each lane holds), how operands are loaded and multiplied, how rows are
// reduced and scaled, and how O is written. The walk, the online softmax,
// the masks and the split-K/V merge are written once against it; mma.sync
// (MmaSync.cpp), WMMA (Wmma.cpp) and wgmma (Wgmma.cpp) implement it. A new
// tensor-core path is a new implementation and one case in
// createTensorCoreStrategy().
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_TENSORCORESTRATEGY_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_TENSORCORESTRATEGY_H

#include "KernelContext.h"
#include "TileStorage.h"

#include <memory>

namespace mlir::flash {

/// The scores of one 16-row strip of this warp as this lane sees them:
/// `rowSlots()` rows, each with `elementsPerRow()` elements held by this
/// lane. The online softmax reads them through element() (which may emit a
/// load on every call) and hands back each probability with
/// setProbability(), right after reading the same element. The strategy
/// finds each element's tile row and column and applies the score
/// modifiers (ScoreMods.h) there, so that they are written once for every
/// strategy.
class ScoreStrip {
public:
  virtual ~ScoreStrip() = default;
  virtual int64_t rowSlots() const = 0;
  virtual int64_t elementsPerRow() const = 0;
  /// Element `j` of row `slot`, masked if the strip was made masked.
  virtual Value element(int64_t slot, int64_t j) = 0;
  /// With TileStorage::withTangents, the derivative of element(slot, j)
  /// with respect to the unmodified score; null otherwise.
  virtual Value tangent(int64_t slot, int64_t j) { return Value(); }
  virtual void setProbability(int64_t slot, int64_t j, Value p) = 0;
  /// Appends the strip's probabilities in the form the P·V product reads.
  virtual void finish(SmallVectorImpl<Value> &probs) = 0;
};

class TensorCoreStrategy {
public:
  explicit TensorCoreStrategy(KernelContext &k) : k(k) {}
  virtual ~TensorCoreStrategy() = default;

  //===--- Shared memory ---------------------------------------------===//
  /// Elements from one Q/K/V row to the next in shared memory.
  virtual int64_t qkvRowStride() const = 0;
  /// Where element (`row`, `laneCol` + `constCol`) of a Q/K/V buffer of
  /// `bufferRows` rows lies, in elements past `row · qkvRowStride()`
  /// (`constCol` in whole 16-byte chunks); a layout in column blocks
  /// (wgmma) puts later blocks past the row.
  virtual Value qkvColumn(Value row, Value laneCol, int64_t constCol,
                          int64_t bufferRows) = 0;
  /// Elements of a Q/K/V buffer of `rows` rows.
  virtual int64_t qkvBufferElements(int64_t rows) const {
    return rows * qkvRowStride();
  }
  /// Emitted by every thread once its copies into shared memory have
  /// landed, before the barrier that publishes them.
  virtual void afterCopiesLanded() {}
  /// Carves the strategy's own buffers from the shared memory at `offset`.
  virtual void allocateScratch(int64_t &offset) {}

  //===--- Fragments and products ------------------------------------===//
  /// Row values (max, sum, factors) a lane holds per 16-row strip.
  virtual int64_t rowsPerLane() const = 0;
  /// Q's A fragments for the whole K/V loop, [strip][k16 slice].
  virtual SmallVector<Value> loadQ(Value qBuffer) = 0;
  /// An accumulator of `type` filled with `value` (a loop init); an error
  /// at `user` if the strategy cannot make it.
  virtual FailureOr<SmallVector<Value>>
  splatAccumulator(float value, RankedTensorType type, Operation *user) = 0;
  /// lhs · rhs (+ `acc`, else into new scores); lhs is Q or
  /// probabilities, rhs a K or V tile of the loop.
  virtual FailureOr<TileStorage> dot(DotOp op, const TileStorage &lhs,
                                     const TileStorage &rhs,
                                     const TileStorage *acc) = 0;

  /// dest[batch, head, row0 + i, :] += sum_j lhs[j, i] · rhs[j, :] for the
  /// rows i before `seq`, by f32 atomics (flash.atomic_add_dot): lhs is a
  /// tile of this strategy's probabilities form with the program's rows
  /// (the dK/dV program's dSᵀ), rhs a tile kept in shared memory for the
  /// program, `staging` a [block_m, block_n + 8] shared buffer of the
  /// element type; with `stepBarrier`, a barrier starts every K/V step
  /// (the staging buffer's reuse needs no other). An error at `op` where
  /// the strategy cannot.
  virtual LogicalResult
  atomicAddTransposedDot(Operation *op, const TileStorage &lhs,
                         const TileStorage &rhs, Value staging, Value dest,
                         Value batch, Value head, Value row0, Value seq,
                         bool stepBarrier) {
    return op->emitOpError("flash-to-gpu: needs the mma_sync strategy");
  }

  //===--- The per-element visit of scores ---------------------------===//
  /// Emitted once per softmax step, before its first scoreStrip() (the lane
  /// coordinates the strips share, outside the masked/unmasked branch).
  virtual void beginScores() = 0;
  virtual std::unique_ptr<ScoreStrip>
  scoreStrip(const TileStorage &scores, int64_t strip, bool masked) = 0;
  /// The types of one strip's probabilities (ScoreStrip::finish).
  virtual SmallVector<Type> probabilityTypes(int64_t cols) = 0;
  /// The probabilities of a softmax step as a tile.
  virtual TileStorage finishScores(int64_t cols, ArrayRef<Value> probs) = 0;

  //===--- Rows ------------------------------------------------------===//
  /// The max or sum over the lanes that hold parts of one row. A strategy
  /// may leave sums partial (rowSumsArePartial): each lane then holds the
  /// sum of its own columns, completed by convertRows.
  virtual Value reduceRowMax(Value laneMax) = 0;
  virtual Value reduceRowSum(Value laneSum) = 0;
  virtual bool rowSumsArePartial() const { return false; }
  /// Row values converted between partial and whole form.
  virtual SmallVector<Value> convertRows(ArrayRef<Value> rows, bool fromPartial,
                                         bool toPartial);
  /// The tile row of this lane's row value `slot` of 16-row strip `strip`.
  virtual Value rowOfSlot(int64_t strip, int64_t slot) = 0;
  /// The tile column of each element of a row of `cols` columns this lane
  /// holds (ScoreStrip's element order; the same for every row), or
  /// failure where the strategy does not say (column values are then
  /// unsupported).
  virtual FailureOr<SmallVector<Value>> laneColumns(int64_t cols) {
    return failure();
  }
  /// Whether this lane is the one of those holding a row that writes its
  /// row values (an i1).
  virtual Value writesRow() = 0;
  /// acc[i, j] · rows[i].
  virtual SmallVector<Value> scaleRows(ArrayRef<Value> acc,
                                       ArrayRef<Value> rows) = 0;

  //===--- The split-K/V merge ---------------------------------------===//
  /// Whether accumulators are register fragments that SplitKV.cpp can
  /// publish and merge (vector<2x2xf32>: [row half][column pair]).
  virtual bool canMergeSplits() const { return false; }
  virtual Value zeroFragment() = 0;

  //===--- Output ----------------------------------------------------===//
  /// Before the output's coordinates are formed (WMMA stages O in shared
  /// memory here).
  virtual void stageOutput(ArrayRef<Value> acc) {}
  /// Writes this warp's rows of O (rows from `row0`, rounded to the element
  /// type), skipping rows at or past `seq`.
  virtual void storeOutput(ArrayRef<Value> acc, Value o, Value batch,
                           Value head, Value row0, Value seq) = 0;

protected:
  KernelContext &k;
};

std::unique_ptr<TensorCoreStrategy> createMmaSyncStrategy(KernelContext &k);
std::unique_ptr<TensorCoreStrategy> createWmmaStrategy(KernelContext &k);
std::unique_ptr<TensorCoreStrategy> createWgmmaStrategy(KernelContext &k);
/// The strategy of `k`'s tile configuration.
std::unique_ptr<TensorCoreStrategy> createTensorCoreStrategy(KernelContext &k);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_TENSORCORESTRATEGY_H
