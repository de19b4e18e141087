//===- MmaSync.h - the mma.sync m16n8k16 strategy --------------*- C++ -*-===//
//
// Declared here so that the wgmma strategy (Wgmma.cpp), whose accumulators
// and probabilities have the same per-lane layout, can share everything but
// the products and the shared-memory layout.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_MMASYNC_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_MMASYNC_H

#include "TensorCoreStrategy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mlir::flash {

class MmaScoreStrip;

/// Columns of one mma.sync accumulator tile, and of one k slice.
constexpr int64_t kTileCols = 8;
constexpr int64_t kSliceK = 16;

class MmaSync : public TensorCoreStrategy {
public:
  using TensorCoreStrategy::TensorCoreStrategy;

  int64_t qkvRowStride() const override {
    return mmaSyncSwizzlesRows(k.headDim) ? k.headDim
                                          : k.headDim + kChunkElements;
  }
  Value qkvColumn(Value row, Value laneCol, int64_t constCol,
                  int64_t bufferRows) override;
  int64_t rowsPerLane() const override { return 2; }
  SmallVector<Value> loadQ(Value qBuffer) override;
  FailureOr<SmallVector<Value>> splatAccumulator(float value,
                                                 RankedTensorType type,
                                                 Operation *user) override;
  FailureOr<TileStorage> dot(DotOp op, const TileStorage &lhs,
                             const TileStorage &rhs,
                             const TileStorage *acc) override;
  void beginScores() override;
  std::unique_ptr<ScoreStrip> scoreStrip(const TileStorage &scores,
                                         int64_t strip, bool masked) override;
  SmallVector<Type> probabilityTypes(int64_t cols) override;
  TileStorage finishScores(int64_t cols, ArrayRef<Value> probs) override;
  Value reduceRowMax(Value laneMax) override;
  Value reduceRowSum(Value laneSum) override { return laneSum; }
  bool rowSumsArePartial() const override { return true; }
  SmallVector<Value> convertRows(ArrayRef<Value> rows, bool fromPartial,
                                 bool toPartial) override;
  SmallVector<Value> scaleRows(ArrayRef<Value> acc,
                               ArrayRef<Value> rows) override;
  Value rowOfSlot(int64_t strip, int64_t slot) override {
    // Lanes 4r..4r+3 (a quad) hold rows r and r + 8 of the strip.
    Value quadRow = arith::DivUIOp::create(k.b, k.loc, k.lane, k.idx(4));
    return k.add(k.add(k.warpRow, k.idx(16 * strip + 8 * slot)), quadRow);
  }
  FailureOr<SmallVector<Value>> laneColumns(int64_t cols) override;
  Value writesRow() override {
    return arith::CmpIOp::create(
        k.b, k.loc, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(k.b, k.loc, k.lane, k.idx(4)), k.idx(0));
  }
  LogicalResult atomicAddTransposedDot(Operation *op, const TileStorage &lhs,
                                       const TileStorage &rhs, Value staging,
                                       Value dest, Value batch, Value head,
                                       Value row0, Value seq,
                                       bool stepBarrier) override;
  bool canMergeSplits() const override { return true; }
  Value zeroFragment() override;
  void storeOutput(ArrayRef<Value> acc, Value o, Value batch, Value head,
                   Value row0, Value seq) override;

protected:
  friend class MmaScoreStrip;
  Value ldmatrix(Value memref, Value row, Value laneCol, int64_t constCol,
                 bool transpose);
  /// The A fragment (ldmatrix.x4) of rows 16·strip.. of this warp and
  /// columns 16·kk.. of the Q buffer.
  Value loadQFragment(Value qBuffer, int64_t strip, int64_t kk);
  Value mma(Value a, Value bFrag, Value acc);
  /// B fragment `which` (0 or 1) of an ldmatrix.x4 result.
  Value sliceB(Value x4, int64_t which);
  /// The 32-bit registers of an operand fragment, one per row of two
  /// 16-bit elements (vector<rows x 2 x T>), as the PTX instructions take
  /// A and B.
  SmallVector<Value> packedRegisters(Value fragment, int64_t rows);
  /// An accumulator fragment's four f32 registers (row r: two, row r+8:
  /// two), and the fragment of four registers.
  SmallVector<Value> accumulatorRegisters(Value fragment);
  Value accumulatorFragment(ArrayRef<Value> registers);

  // Lane coordinates of the score fragments (beginScores).
  Value quad, pairCol;
};

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_MMASYNC_H
