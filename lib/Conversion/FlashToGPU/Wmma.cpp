//===- Wmma.cpp - the WMMA m16n16k16 strategy -----------------------------===//
//
// wmma.m16n16k16 through WmmaEmitter. WMMA fragments have no documented
// element-to-lane map, so scores go through the warp's strip of a shared
// buffer S (two lanes per row), probabilities come back from a buffer P as A
// fragments, and per-row factors reach the accumulators as a 16x16 tile R
// broadcasting each row's value. Q/K/V rows are padded by 8 elements against
// bank conflicts (WMMA loads take a leading dimension, not an address per
// row). Shared memory after Q, K and V:
//   S  [block_m x (max(block_n, d) + 4)] f32  scores; O staging at the end
//   P  [block_m x (block_n + 8)]         T
//   R  [block_m x 16]                    f32
//
//===----------------------------------------------------------------------===//

#include "TensorCoreStrategy.h"

#include "ScoreMods.h"
#include "WmmaEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Rows and columns of a WMMA tile.
constexpr int64_t kTile = 16;

class Wmma : public TensorCoreStrategy {
public:
  using TensorCoreStrategy::TensorCoreStrategy;

  int64_t qkvRowStride() const override { return k.headDim + kChunkElements; }
  Value qkvColumn(Value row, Value laneCol, int64_t constCol,
                  int64_t) override {
    return k.add(laneCol, k.idx(constCol));
  }
  void allocateScratch(int64_t &offset) override;
  int64_t rowsPerLane() const override { return 1; }
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
  SmallVector<Type> probabilityTypes(int64_t cols) override { return {}; }
  TileStorage finishScores(int64_t cols, ArrayRef<Value> probs) override;
  Value reduceRowMax(Value laneMax) override;
  Value reduceRowSum(Value laneSum) override;
  SmallVector<Value> scaleRows(ArrayRef<Value> acc,
                               ArrayRef<Value> rows) override;
  Value rowOfSlot(int64_t strip, int64_t) override {
    // Lanes 2r and 2r + 1 hold row r of the strip.
    Value pairRow = arith::DivUIOp::create(k.b, k.loc, k.lane, k.idx(2));
    return k.add(k.add(k.warpRow, k.idx(kTile * strip)), pairRow);
  }
  Value writesRow() override {
    return arith::CmpIOp::create(
        k.b, k.loc, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(k.b, k.loc, k.lane, k.idx(2)), k.idx(0));
  }
  Value zeroFragment() override { return emitter().splatC(0.0f); }
  void stageOutput(ArrayRef<Value> acc) override;
  void storeOutput(ArrayRef<Value> acc, Value o, Value batch, Value head,
                   Value row0, Value seq) override;

private:
  friend class WmmaScoreStrip;
  WmmaEmitter emitter() { return WmmaEmitter(k.b, k.loc, k.element); }
  /// `rowValues` (one per strip) written to the broadcast tiles and read
  /// back as accumulator fragments, one per strip.
  SmallVector<Value> broadcastRows(ArrayRef<Value> rowValues);

  Value sBuf, pBuf, rBuf;
  int64_t ldS = 0, ldP = 0;
  // Lane coordinates of the scores (beginScores): lane = 2·r + h reads
  // columns h, h+2, h+4, ... of row r of its strip.
  Value r, h;
};

/// A strip's scores read from S on every use (shared loads are cheaper than
/// holding 2·n/2 values in registers), probabilities written to P.
class WmmaScoreStrip : public ScoreStrip {
public:
  WmmaScoreStrip(Wmma &tc, KernelContext &k, const TileStorage &scores,
                 int64_t strip, bool masked)
      : tc(tc), k(k), scores(scores), masked(masked), lastCol(scores.cols / 2) {
    row = k.add(k.add(k.warpRow, k.idx(kTile * strip)), tc.r);
  }
  int64_t rowSlots() const override { return 1; }
  int64_t elementsPerRow() const override { return scores.cols / 2; }
  Value element(int64_t, int64_t j) override {
    Value col = k.add(tc.h, k.idx(2 * j));
    lastCol[j] = col;
    Value value =
        memref::LoadOp::create(k.b, k.loc, tc.sBuf, ValueRange{row, col});
    if (!needsCoordinates(scores, masked))
      return value;
    return applyScoreMods(k, scores, value, row, col, masked);
  }
  void setProbability(int64_t, int64_t j, Value p) override {
    Value rounded = arith::TruncFOp::create(k.b, k.loc, k.element, p);
    memref::StoreOp::create(k.b, k.loc, rounded, tc.pBuf,
                            ValueRange{row, lastCol[j]});
  }
  void finish(SmallVectorImpl<Value> &) override {}

private:
  Wmma &tc;
  KernelContext &k;
  const TileStorage &scores;
  bool masked;
  Value row;
  SmallVector<Value> lastCol; // the column of each element's latest read
};

} // namespace

void Wmma::allocateScratch(int64_t &offset) {
  ldS = std::max(k.blockN, k.headDim) + 4;
  ldP = k.blockN + kChunkElements;
  sBuf = k.sharedView(offset, {k.blockM, ldS}, k.b.getF32Type());
  pBuf = k.sharedView(offset, {k.blockM, ldP}, k.element);
  rBuf = k.sharedView(offset, {k.blockM, kTile}, k.b.getF32Type());
}

SmallVector<Value> Wmma::loadQ(Value qBuffer) {
  WmmaEmitter wmma = emitter();
  SmallVector<Value> fragments;
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t kk = 0; kk < k.headDim / kTile; ++kk)
      fragments.push_back(wmma.loadA(qBuffer,
                                     k.add(k.warpRow, k.idx(kTile * s)),
                                     k.idx(kTile * kk), qkvRowStride()));
  return fragments;
}

FailureOr<SmallVector<Value>>
Wmma::splatAccumulator(float value, RankedTensorType type, Operation *user) {
  if (type.getDimSize(1) % kTile != 0 || type.getDimSize(0) != k.blockM) {
    user->emitOpError("flash-to-gpu: accumulator must be block_m x 16·n");
    return failure();
  }
  WmmaEmitter wmma = emitter();
  SmallVector<Value> frags;
  for (int64_t i = 0; i < k.strips * (type.getDimSize(1) / kTile); ++i)
    frags.push_back(wmma.splatC(value));
  return frags;
}

FailureOr<TileStorage> Wmma::dot(DotOp op, const TileStorage &lhs,
                                 const TileStorage &rhs,
                                 const TileStorage *accIn) {
  int64_t n = op.getType().getDimSize(1);
  int64_t kDim = op.getLhs().getType().getDimSize(1);
  int64_t ldQKV = qkvRowStride();
  bool transposed = op.getTransposeRhs();
  WmmaEmitter wmma = emitter();
  auto lhsFragment = [&](int64_t s, int64_t kk) -> Value {
    if (lhs.isQ)
      return lhs.values[s * (kDim / kTile) + kk];
    return wmma.loadA(pBuf, k.add(k.warpRow, k.idx(kTile * s)),
                      k.idx(kTile * kk), ldP);
  };
  auto rhsFragment = [&](int64_t kk, int64_t j) -> Value {
    // rhs rows are K's (or V's) rows: transposed, B(k, n) = rhs[n][k].
    if (transposed)
      return wmma.loadB(rhs.memref, k.add(rhs.rowBase, k.idx(kTile * j)),
                        k.idx(kTile * kk), ldQKV, /*transposed=*/true);
    return wmma.loadB(rhs.memref, k.add(rhs.rowBase, k.idx(kTile * kk)),
                      k.idx(kTile * j), ldQKV, /*transposed=*/false);
  };

  if (!accIn) {
    // Scores: into this warp's strip of the S buffer for the softmax.
    for (int64_t s = 0; s < k.strips; ++s)
      for (int64_t j = 0; j < n / kTile; ++j) {
        Value acc = wmma.splatC(0.0f);
        for (int64_t kk = 0; kk < kDim / kTile; ++kk)
          acc =
              wmma.mma(lhsFragment(s, kk), rhsFragment(kk, j), acc, transposed);
        wmma.storeC(acc, sBuf, k.add(k.warpRow, k.idx(kTile * s)),
                    k.idx(kTile * j), ldS);
      }
    TileStorage storage{TileStorage::Kind::Scores};
    storage.memref = sBuf;
    storage.cols = n;
    return storage;
  }
  SmallVector<Value> frags = accIn->values;
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t j = 0; j < n / kTile; ++j) {
      Value &acc = frags[s * (n / kTile) + j];
      for (int64_t kk = 0; kk < kDim / kTile; ++kk)
        acc = wmma.mma(lhsFragment(s, kk), rhsFragment(kk, j), acc, transposed);
    }
  TileStorage storage{TileStorage::Kind::Acc};
  storage.values = frags;
  storage.cols = n;
  return storage;
}

void Wmma::beginScores() {
  r = arith::DivUIOp::create(k.b, k.loc, k.lane, k.idx(2));
  h = arith::RemUIOp::create(k.b, k.loc, k.lane, k.idx(2));
  k.warpSync(); // the strip was written by this warp's WMMA stores
}

std::unique_ptr<ScoreStrip> Wmma::scoreStrip(const TileStorage &scores,
                                             int64_t strip, bool masked) {
  assert(r && h && "beginScores comes first");
  return std::make_unique<WmmaScoreStrip>(*this, k, scores, strip, masked);
}

TileStorage Wmma::finishScores(int64_t cols, ArrayRef<Value>) {
  k.warpSync(); // P is read as WMMA fragments by the whole warp
  TileStorage probs{TileStorage::Kind::Probs};
  probs.memref = pBuf;
  probs.cols = cols;
  return probs;
}

Value Wmma::reduceRowMax(Value laneMax) {
  return arith::MaximumFOp::create(k.b, k.loc, laneMax,
                                   k.shuffleXor(laneMax, 1));
}

Value Wmma::reduceRowSum(Value laneSum) {
  return arith::AddFOp::create(k.b, k.loc, laneSum, k.shuffleXor(laneSum, 1));
}

SmallVector<Value> Wmma::broadcastRows(ArrayRef<Value> rowValues) {
  // Lane 2·r + h writes row r, columns 8h .. 8h+7 of the strip's 16x16
  // tile; read back as an accumulator fragment, element (i, j) = value[i]
  // in whatever lane owns it, so that an element-wise multiply scales rows.
  OpBuilder &b = k.b;
  Value row2 = arith::DivUIOp::create(b, k.loc, k.lane, k.idx(2));
  Value half = arith::RemUIOp::create(b, k.loc, k.lane, k.idx(2));
  auto vecType = VectorType::get({4}, b.getF32Type());
  WmmaEmitter wmma = emitter();
  k.warpSync(); // the previous fragment loads of these tiles are done
  for (int64_t s = 0; s < k.strips; ++s) {
    Value row = k.add(k.add(k.warpRow, k.idx(kTile * s)), row2);
    Value vec = vector::BroadcastOp::create(b, k.loc, vecType, rowValues[s]);
    Value col = k.mul(half, k.idx(8));
    vector::StoreOp::create(b, k.loc, vec, rBuf, ValueRange{row, col});
    vector::StoreOp::create(b, k.loc, vec, rBuf,
                            ValueRange{row, k.add(col, k.idx(4))});
  }
  k.warpSync();
  SmallVector<Value> frags;
  for (int64_t s = 0; s < k.strips; ++s)
    frags.push_back(
        wmma.loadC(rBuf, k.add(k.warpRow, k.idx(kTile * s)), k.idx(0), kTile));
  return frags;
}

SmallVector<Value> Wmma::scaleRows(ArrayRef<Value> acc, ArrayRef<Value> rows) {
  SmallVector<Value> factors = broadcastRows(rows);
  WmmaEmitter wmma = emitter();
  int64_t tilesPerStrip = acc.size() / k.strips;
  SmallVector<Value> out;
  for (auto [i, frag] : llvm::enumerate(acc))
    out.push_back(wmma.mulC(frag, factors[i / tilesPerStrip]));
  return out;
}

void Wmma::stageOutput(ArrayRef<Value> acc) {
  // The warp's f32 strip goes to the S buffer (free after the loop), to be
  // written in 16-byte chunks.
  WmmaEmitter wmma = emitter();
  int64_t tilesPerStrip = k.headDim / kTile;
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t j = 0; j < tilesPerStrip; ++j)
      wmma.storeC(acc[s * tilesPerStrip + j], sBuf,
                  k.add(k.warpRow, k.idx(kTile * s)), k.idx(kTile * j), ldS);
  k.warpSync();
}

void Wmma::storeOutput(ArrayRef<Value>, Value o, Value batch, Value head,
                       Value row0, Value seq) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t chunksPerRow = k.headDim / kChunkElements;
  int64_t chunks = k.rowsPerWarp * chunksPerRow;
  auto f32x4 = VectorType::get({4}, b.getF32Type());
  auto outType = VectorType::get({kChunkElements}, k.element);
  for (int64_t first = 0; first < chunks; first += kWarpThreads) {
    Value chunk = k.add(k.lane, k.idx(first));
    Value localRow = k.add(
        k.warpRow, arith::DivUIOp::create(b, loc, chunk, k.idx(chunksPerRow)));
    Value col =
        k.mul(arith::RemUIOp::create(b, loc, chunk, k.idx(chunksPerRow)),
              k.idx(kChunkElements));
    Value globalRow = k.add(row0, localRow);
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         globalRow, seq);
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value lo =
        vector::LoadOp::create(b, loc, f32x4, sBuf, ValueRange{localRow, col});
    Value hi = vector::LoadOp::create(
        b, loc, f32x4, sBuf, ValueRange{localRow, k.add(col, k.idx(4))});
    Value both = vector::ShuffleOp::create(
        b, loc, lo, hi, ArrayRef<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
    Value rounded = arith::TruncFOp::create(b, loc, outType, both);
    vector::StoreOp::create(b, loc, rounded, o,
                            ValueRange{batch, head, globalRow, col},
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
}

std::unique_ptr<TensorCoreStrategy>
flash::createWmmaStrategy(KernelContext &k) {
  return std::make_unique<Wmma>(k);
}
