//===- ExpandAttention.cpp - flash.attention to the tile level ------------===//

#include "flashc/Transforms/Passes.h"

#include "flashc/Analysis/AffineMask.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHEXPANDATTENTION
#include "flashc/Transforms/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

/// Size `dim` of `memref` as an index value (a constant when static).
static Value dimValue(OpBuilder &b, Location loc, Value memref, int64_t dim) {
  auto type = cast<MemRefType>(memref.getType());
  if (!type.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(b, loc, type.getDimSize(dim));
  return memref::DimOp::create(b, loc, memref, dim);
}

/// The batch·head index of K and V for the program of Q's batch·head `bh`:
/// `bh` itself when both have the same (static) heads, else, for
/// grouped-query attention, (b, h) -> b·kv_heads + h / (heads / kv_heads).
static Value kvBatchHead(OpBuilder &b, Location loc, AttentionOp op, Value bh) {
  int64_t heads = cast<MemRefType>(op.getQ().getType()).getDimSize(1);
  int64_t kvHeads = cast<MemRefType>(op.getK().getType()).getDimSize(1);
  if (!ShapedType::isDynamic(heads) && heads == kvHeads)
    return bh;
  Value qHeads = dimValue(b, loc, op.getQ(), 1);
  Value kHeads = dimValue(b, loc, op.getK(), 1);
  Value group = arith::DivUIOp::create(b, loc, qHeads, kHeads);
  Value batch = arith::DivUIOp::create(b, loc, bh, qHeads);
  Value head = arith::RemUIOp::create(b, loc, bh, qHeads);
  Value base = arith::MulIOp::create(b, loc, batch, kHeads);
  Value kvHead = arith::DivUIOp::create(b, loc, head, group);
  return arith::AddIOp::create(b, loc, base, kvHead);
}

static Value splat(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   float value) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(value)));
}

/// The upper bound of the K/V loop: the key length, or under a causal mask
/// the end of the diagonal of the query block [row0, row0 + bm) (key blocks
/// starting past it are wholly masked). `diagonal` shifts the diagonal
/// (bottom-right alignment); it may be negative, so that a query block may
/// see no key at all.
static Value loopUpper(OpBuilder &b, Location loc, AttentionOp op, Value row0,
                       int64_t bm, Value seqK, Value diagonal) {
  if (!op.getCausal())
    return seqK;
  Value rowEnd = arith::AddIOp::create(
      b, loc, row0, arith::ConstantIndexOp::create(b, loc, bm));
  if (!diagonal)
    return arith::MinUIOp::create(b, loc, seqK, rowEnd);
  Value shifted = arith::AddIOp::create(b, loc, rowEnd, diagonal);
  Value bounded = arith::MinSIOp::create(b, loc, seqK, shifted);
  return arith::MaxSIOp::create(b, loc, bounded,
                                arith::ConstantIndexOp::create(b, loc, 0));
}

/// The K/V loop's bounds under an affine mask_mod (AffineMask.h): the keys
/// that queries [row0, row0 + bm) may see, within [0, upper). (null,
/// upper) when the mask is not affine.
static std::pair<Value, Value> boundByMask(OpBuilder &b, Location loc,
                                           AttentionOp op, Value bh, Value row0,
                                           int64_t bm, Value seqQ, Value seqK,
                                           Value upper) {
  std::optional<AffineMask> mask = AffineMask::analyze(op.getMaskMod());
  if (!mask)
    return {Value(), upper};
  Value heads = dimValue(b, loc, op.getQ(), 1);
  Value args[] = {arith::DivUIOp::create(b, loc, bh, heads),
                  arith::RemUIOp::create(b, loc, bh, heads),
                  Value(),
                  Value(),
                  seqQ,
                  seqK};
  Value lastRow = arith::AddIOp::create(
      b, loc, row0, arith::ConstantIndexOp::create(b, loc, bm - 1));
  Value lower;
  mask->narrowLoop(b, loc, row0, lastRow, args, /*transposed=*/false, lower,
                   upper);
  return {lower, upper};
}

/// A flash.score_mod or flash.mask_mod on `scores`, carrying a copy of the
/// user's region.
template <typename ModOp>
static Value applyMod(OpBuilder &b, Location loc, Region &region, Value scores,
                      ValueRange coords, ValueRange seqs, ValueRange captures) {
  auto mod = ModOp::create(b, loc, scores.getType(), scores, coords[0],
                           coords[1], coords[2], seqs[0], seqs[1],
                           /*transposed=*/false, captures);
  IRMapping mapping;
  region.cloneInto(&mod.getBody(), mapping);
  return mod.getResult();
}

static void expand(AttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  TileConfigAttr config = op.getConfigAttr();
  auto qType = cast<MemRefType>(op.getQ().getType());
  Type element = qType.getElementType();
  int64_t bm = config.getBlockM(), bn = config.getBlockN();
  int64_t d = op.getHeadDim();
  // The running max is kept in scale·log2(e) units, so that each score costs
  // one multiply-add before exp2. A score_mod sees the scaled score, so
  // there the scale is applied first and the softmax only adds log2(e).
  float log2e = static_cast<float>(M_LOG2E);
  float scaleLog2e = op.hasScoreMod() ? log2e : op.getEffectiveScale() * log2e;

  auto tiled = TiledOp::create(
      b, loc, op.getQ(), op.getK(), op.getV(), op.getO(), op.getLse(),
      op.getCuSeqlensQ(), op.getCuSeqlensK(), op.getBlockTable(),
      op.getSeqlensK(), op.getCaptures(), config, op.getPolicyAttr());
  Block *body = new Block();
  tiled.getBody().push_back(body);
  Value qBlock = body->addArgument(b.getIndexType(), loc);
  Value bh = body->addArgument(b.getIndexType(), loc);
  b.setInsertionPointToStart(body);

  Value row0 = arith::MulIOp::create(
      b, loc, qBlock, arith::ConstantIndexOp::create(b, loc, bm));
  // A paged cache's seq is its page size; the sequence's key length is
  // its seqlens_k entry (pagedKeyLength).
  Value seqK =
      op.isPaged()
          ? pagedKeyLength(b, loc, op.getSeqlensK(), op.getBlockTable(),
                           op.getK(),
                           arith::DivUIOp::create(
                               b, loc, bh, dimValue(b, loc, op.getQ(), 1)))
          : dimValue(b, loc, op.getK(), 2);
  bool hasMods = op.hasScoreMod() || op.hasMaskMod();
  Value seqQ;
  if (hasMods || op.getBottomRight())
    seqQ = dimValue(b, loc, op.getQ(), 2);
  Value diagonal;
  if (op.getBottomRight())
    diagonal = arith::SubIOp::create(b, loc, seqK, seqQ);
  auto qTile = RankedTensorType::get({bm, d}, element);
  Value q = LoadTileOp::create(b, loc, qTile, op.getQ(), bh, row0);
  Value m0 = splat(b, loc, {bm}, -INFINITY);
  Value l0 = splat(b, loc, {bm}, 0.0f);
  Value acc0 = splat(b, loc, {bm, d}, 0.0f);
  Value upper = loopUpper(b, loc, op, row0, bm, seqK, diagonal);

  Value lower;
  if (op.hasMaskMod())
    std::tie(lower, upper) =
        boundByMask(b, loc, op, bh, row0, bm, seqQ, seqK, upper);
  auto loop = KVLoopOp::create(b, loc, op.getK(), op.getV(),
                               kvBatchHead(b, loc, op, bh), lower, upper,
                               ValueRange{m0, l0, acc0}, bn);
  {
    OpBuilder::InsertionGuard guard(b);
    Block &loopBody = loop.getBody().front();
    b.setInsertionPointToStart(&loopBody);
    Value start = loopBody.getArgument(0);
    Value kTile = loopBody.getArgument(1), vTile = loopBody.getArgument(2);
    Value m = loopBody.getArgument(3), l = loopBody.getArgument(4),
          acc = loopBody.getArgument(5);
    auto scoreType = RankedTensorType::get({bm, bn}, b.getF32Type());
    Value s = DotOp::create(b, loc, scoreType, q, kTile, Value(),
                            /*transpose_rhs=*/true);
    Value coords[] = {bh, row0, start};
    Value seqs[] = {seqQ, seqK};
    if (op.hasScoreMod()) {
      s = arith::MulFOp::create(
          b, loc, s, splat(b, loc, {bm, bn}, op.getEffectiveScale()));
      s = applyMod<ScoreModOp>(b, loc, op.getScoreMod(), s, coords, seqs,
                               op.getCaptures());
    }
    if (op.hasMaskMod())
      s = applyMod<MaskModOp>(b, loc, op.getMaskMod(), s, coords, seqs,
                              op.getCaptures());
    s = MaskOp::create(b, loc, scoreType, s, row0, start, seqK, op.getCausal(),
                       diagonal);
    auto step = SoftmaxStepOp::create(b, loc, s, m, l, scaleLog2e, element);
    Value scaled =
        RescaleOp::create(b, loc, acc.getType(), acc, step.getAlpha());
    Value acc1 = DotOp::create(b, loc, acc.getType(), step.getProbs(), vTile,
                               scaled, /*transpose_rhs=*/false);
    YieldOp::create(b, loc,
                    ValueRange{step.getMaxOut(), step.getSumOut(), acc1});
  }
  // Normalize first: with split K/V loops it merges the splits' rows, which
  // the log-sum-exp then writes.
  Value out =
      NormalizeOp::create(b, loc, qTile, loop.getResult(2), loop.getResult(1));
  if (Value lse = op.getLse())
    StoreLseOp::create(b, loc, loop.getResult(0), loop.getResult(1), lse, bh,
                       row0);
  StoreTileOp::create(b, loc, out, op.getO(), bh, row0);
  op.erase();
}

namespace {
struct ExpandAttentionPass
    : public mlir::flash::impl::FlashExpandAttentionBase<ExpandAttentionPass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops) {
      if (!op.getConfigAttr()) {
        op.emitOpError("has no tile config: run flash-select-config first");
        return signalPassFailure();
      }
      expand(op);
    }
  }
};
} // namespace
