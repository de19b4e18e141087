//===- ExpandAttention.cpp - flash.attention to the tile level ------------===//

#include "flashc/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

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

static Value splat(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   float value) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(value)));
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
  // one multiply-add before exp2.
  float scaleLog2e = op.getEffectiveScale() * static_cast<float>(M_LOG2E);

  auto tiled = TiledOp::create(b, loc, op.getQ(), op.getK(), op.getV(),
                               op.getO(), config, op.getPolicyAttr());
  Block *body = new Block();
  tiled.getBody().push_back(body);
  Value qBlock = body->addArgument(b.getIndexType(), loc);
  Value bh = body->addArgument(b.getIndexType(), loc);
  b.setInsertionPointToStart(body);

  Value row0 = arith::MulIOp::create(
      b, loc, qBlock, arith::ConstantIndexOp::create(b, loc, bm));
  Value seqK = dimValue(b, loc, op.getK(), 2);
  auto qTile = RankedTensorType::get({bm, d}, element);
  Value q = LoadTileOp::create(b, loc, qTile, op.getQ(), bh, row0);
  Value m0 = splat(b, loc, {bm}, -INFINITY);
  Value l0 = splat(b, loc, {bm}, 0.0f);
  Value acc0 = splat(b, loc, {bm, d}, 0.0f);
  Value upper = seqK;
  if (op.getCausal()) {
    // Key blocks starting at or past the last row of this query block are
    // wholly above the diagonal: stop before them.
    Value rowEnd = arith::AddIOp::create(
        b, loc, row0, arith::ConstantIndexOp::create(b, loc, bm));
    upper = arith::MinUIOp::create(b, loc, seqK, rowEnd);
  }

  auto loop = KVLoopOp::create(b, loc, op.getK(), op.getV(), bh, upper,
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
    s = MaskOp::create(b, loc, scoreType, s, row0, start, seqK, op.getCausal());
    auto step = SoftmaxStepOp::create(b, loc, s, m, l, scaleLog2e, element);
    Value scaled =
        RescaleOp::create(b, loc, acc.getType(), acc, step.getAlpha());
    Value acc1 = DotOp::create(b, loc, acc.getType(), step.getProbs(), vTile,
                               scaled, /*transpose_rhs=*/false);
    YieldOp::create(b, loc,
                    ValueRange{step.getMaxOut(), step.getSumOut(), acc1});
  }
  Value out =
      NormalizeOp::create(b, loc, qTile, loop.getResult(2), loop.getResult(1));
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
