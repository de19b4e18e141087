//===- BackwardOps.cpp - the walk's backward tile ops ---------------------===//
//
// flash.load_rows (one value per row of a capture: the forward's
// log-sum-exp, the row term D) and flash.grad_scores (GradScores.h), as the
// walk over a tile program lowers them.
//
//===----------------------------------------------------------------------===//

#include "GradScores.h"
#include "TileLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

LogicalResult TileLowering::lowerLoadRows(LoadRowsOp op) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  if (op.getType().getDimSize(0) != k.blockM)
    return op.emitOpError()
           << "flash-to-gpu: the rows must be block_m = " << k.blockM;
  Value source = scalar(op.getSource());
  Value bh = scalar(op.getBatchHead());
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value row0 = scalar(op.getRow());
  Value seq = memref::DimOp::create(b, loc, source, 2);
  TileStorage storage{TileStorage::Kind::Rows};
  int64_t slots = tc->rowsPerLane();
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t slot = 0; slot < slots; ++slot) {
      Value row = k.add(row0, tc->rowOfSlot(s, slot));
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, seq);
      auto ifOp =
          scf::IfOp::create(b, loc, b.getF32Type(), inside, /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      scf::YieldOp::create(
          b, loc,
          memref::LoadOp::create(b, loc, source, ValueRange{batch, head, row})
              .getResult());
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      scf::YieldOp::create(b, loc, k.f32(0.0f));
      storage.values.push_back(ifOp.getResult(0));
    }
  tiles[op.getResult()] = storage;
  return success();
}

LogicalResult TileLowering::lowerGradScores(GradScoresOp op) {
  TileStorage *scores = findTile(op.getScores());
  TileStorage *dp = findTile(op.getDp());
  TileStorage *lse = findTile(op.getLse());
  TileStorage *delta = findTile(op.getDelta());
  if (!scores || (scores->kind != TileStorage::Kind::Scores &&
                  scores->kind != TileStorage::Kind::MaskedScores))
    return op.emitOpError("flash-to-gpu: scores must come from flash.dot "
                          "(optionally through flash.mask)");
  if (!dp || dp->kind != TileStorage::Kind::Scores || !dp->modifiers.empty())
    return op.emitOpError("flash-to-gpu: dp must come from a flash.dot "
                          "without acc");
  if (!lse || lse->kind != TileStorage::Kind::Rows || lse->partial || !delta ||
      delta->kind != TileStorage::Kind::Rows || delta->partial)
    return op.emitOpError("flash-to-gpu: lse and delta must be rows of "
                          "flash.load_rows");
  tiles[op.getResult()] = emitGradScores(
      k, *tc, *scores, *dp, lse->values, delta->values,
      op.getScaleLog2e().convertToFloat(), op.getScale().convertToFloat());
  return success();
}
