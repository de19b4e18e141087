//===- ScoreTangents.cpp - derivatives of score modifiers -----------------===//

#include "ScoreTangents.h"

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

bool flash::isDifferentiable(Operation *op) {
  if (op->getNumResults() != 1 || !isa<FloatType>(op->getResult(0).getType()))
    return true;
  return isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
             arith::NegFOp, arith::SelectOp, arith::MaximumFOp,
             arith::MaxNumFOp, arith::MinimumFOp, arith::MinNumFOp,
             math::TanhOp, math::ExpOp, math::Exp2Op, math::LogOp, math::Log2Op,
             math::SqrtOp, math::AbsFOp>(op);
}

LogicalResult flash::checkDifferentiable(const TileStorage &scores,
                                         Operation *user) {
  auto refuse = [&](Operation *op) {
    return user->emitOpError()
           << "flash-to-gpu: cannot differentiate '" << op->getName()
           << "' in a score modifier (no derivative rule for it)";
  };
  for (const ScoreModifier &mod : scores.modifiers) {
    auto scoreMod = dyn_cast<ScoreModOp>(mod.op);
    if (!scoreMod) {
      // An elementwise op on the scores, or a mask_mod (no derivative).
      if (!isa<MaskModOp>(mod.op) && !isDifferentiable(mod.op))
        return refuse(mod.op);
      continue;
    }
    Block &body = scoreMod.getBody().front();
    llvm::DenseSet<Value> dependent{body.getArgument(0)};
    for (Operation &op : body.without_terminator()) {
      if (llvm::none_of(op.getOperands(),
                        [&](Value v) { return dependent.contains(v); }))
        continue;
      if (!isDifferentiable(&op))
        return refuse(&op);
      for (Value result : op.getResults())
        if (isa<FloatType>(result.getType()))
          dependent.insert(result);
    }
  }
  return success();
}

namespace {
/// Builds derivative arithmetic; a null Value stands for 0.
struct Tangents {
  OpBuilder &b;
  Location loc;

  Value f32(double value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  }
  Value orZero(Value t) { return t ? t : f32(0.0); }
  Value add(Value x, Value y) {
    if (!x || !y)
      return x ? x : y;
    return arith::AddFOp::create(b, loc, x, y);
  }
  Value mul(Value x, Value y) {
    if (!x || !y)
      return Value();
    return arith::MulFOp::create(b, loc, x, y);
  }
  Value neg(Value x) { return x ? arith::NegFOp::create(b, loc, x) : x; }
  Value div(Value x, Value y) {
    return x ? arith::DivFOp::create(b, loc, x, y).getResult() : x;
  }
  /// The tangent of the operand a comparison picks: tx where `pickX`.
  Value pick(Value pickX, Value tx, Value ty) {
    if (!tx && !ty)
      return Value();
    return arith::SelectOp::create(b, loc, pickX, orZero(tx), orZero(ty));
  }
  Value cmp(arith::CmpFPredicate predicate, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, predicate, x, y);
  }
};
} // namespace

Value flash::tangentOf(OpBuilder &b, Location loc, Operation *clone,
                       ArrayRef<Value> operandTangents) {
  if (llvm::all_of(operandTangents, [](Value t) { return !t; }) ||
      clone->getNumResults() != 1 ||
      !isa<FloatType>(clone->getResult(0).getType()))
    return Value();
  Tangents t{b, loc};
  Value y = clone->getResult(0);
  auto x = [&](unsigned i) { return clone->getOperand(i); };
  auto tx = [&](unsigned i) { return operandTangents[i]; };
  if (isa<arith::AddFOp>(clone))
    return t.add(tx(0), tx(1));
  if (isa<arith::SubFOp>(clone))
    return t.add(tx(0), t.neg(tx(1)));
  if (isa<arith::MulFOp>(clone))
    return t.add(t.mul(tx(0), x(1)), t.mul(x(0), tx(1)));
  if (isa<arith::DivFOp>(clone)) // (x0/x1)' = (t0 - y·t1) / x1
    return t.div(t.add(tx(0), t.neg(t.mul(y, tx(1)))), x(1));
  if (isa<arith::NegFOp>(clone))
    return t.neg(tx(0));
  if (isa<arith::SelectOp>(clone))
    return t.pick(x(0), tx(1), tx(2));
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(clone))
    return t.pick(t.cmp(arith::CmpFPredicate::OGE, x(0), x(1)), tx(0), tx(1));
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(clone))
    return t.pick(t.cmp(arith::CmpFPredicate::OLE, x(0), x(1)), tx(0), tx(1));
  if (isa<math::TanhOp>(clone)) // 1 - y²
    return t.mul(tx(0), arith::SubFOp::create(b, loc, t.f32(1.0), t.mul(y, y)));
  if (isa<math::ExpOp>(clone))
    return t.mul(tx(0), y);
  if (isa<math::Exp2Op>(clone))
    return t.mul(tx(0), t.mul(y, t.f32(M_LN2)));
  if (isa<math::LogOp>(clone))
    return t.div(tx(0), x(0));
  if (isa<math::Log2Op>(clone))
    return t.div(tx(0), t.mul(x(0), t.f32(M_LN2)));
  if (isa<math::SqrtOp>(clone))
    return t.div(tx(0), t.mul(y, t.f32(2.0)));
  if (isa<math::AbsFOp>(clone))
    return t.pick(t.cmp(arith::CmpFPredicate::OLT, x(0), t.f32(0.0)),
                  t.neg(tx(0)), tx(0));
  assert(false && "isDifferentiable is checked before");
  return Value();
}

std::pair<Value, Value> flash::inlineWithTangent(OpBuilder &b, Location loc,
                                                 Block &body, ValueRange args,
                                                 Value scoreTangent) {
  IRMapping mapping;
  mapping.map(body.getArguments(), args);
  llvm::DenseMap<Value, Value> tangents; // original value -> its tangent
  tangents[body.getArgument(0)] = scoreTangent;
  for (Operation &op : body.without_terminator()) {
    Operation *clone = b.clone(op, mapping);
    SmallVector<Value> operandTangents;
    for (Value operand : op.getOperands())
      operandTangents.push_back(tangents.lookup(operand));
    if (Value tangent = tangentOf(b, loc, clone, operandTangents))
      tangents[op.getResult(0)] = tangent;
  }
  Value yielded = cast<YieldOp>(body.getTerminator()).getValues()[0];
  return {mapping.lookup(yielded), tangents.lookup(yielded)};
}
