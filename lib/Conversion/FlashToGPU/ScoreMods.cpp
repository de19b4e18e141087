//===- ScoreMods.cpp - what is applied to each score element --------------===//

#include "ScoreMods.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

Value flash::applyMask(KernelContext &k, const TileStorage &scores, Value value,
                       Value row, Value col) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value keyCol = k.add(scores.maskCol, col);
  Value bad = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, keyCol,
                                    scores.maskLimit);
  if (scores.causal) {
    Value queryRow = k.add(scores.maskRow, row);
    Value above = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                        keyCol, queryRow);
    bad = arith::OrIOp::create(b, loc, bad, above);
  }
  return arith::SelectOp::create(b, loc, bad, k.f32(-INFINITY), value);
}

SmallVector<Value>
flash::emitMaskedOrNot(KernelContext &k, const TileStorage &scores,
                       int64_t cols, TypeRange resultTypes,
                       function_ref<SmallVector<Value>(bool masked)> emitStep) {
  if (scores.kind == TileStorage::Kind::Scores)
    return emitStep(false);
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // Only blocks that cross the key length or the diagonal pay for masking.
  Value blockEnd = k.add(scores.maskCol, k.idx(cols));
  Value needed = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                       blockEnd, scores.maskLimit);
  if (scores.causal) {
    Value lastCol = arith::SubIOp::create(b, loc, blockEnd, k.idx(1));
    Value crosses =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, lastCol,
                              k.add(scores.maskRow, k.warpRow));
    needed = arith::OrIOp::create(b, loc, needed, crosses);
  }
  auto ifOp = scf::IfOp::create(b, loc, resultTypes, needed,
                                /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, loc, emitStep(true));
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, loc, emitStep(false));
  }
  return SmallVector<Value>(ifOp.getResults());
}
