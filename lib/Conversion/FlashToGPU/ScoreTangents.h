//===- ScoreTangents.h - derivatives of score modifiers ---------*- C++ -*-===//
//
// The backward needs d mod(s) / d s for each score element, where mod is
// the chain of a program's score modifiers (elementwise ops on the scores
// and flash.score_mod regions). It is generated as IR by forward-mode
// differentiation: each op that depends on the score is cloned with its
// derivative beside it, by the rules of arith and math. MLIR has no
// automatic differentiation of arith/math, hence this file.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_SCORETANGENTS_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_SCORETANGENTS_H

#include "TileStorage.h"

#include "mlir/IR/Builders.h"

namespace mlir::flash {

/// Whether every op of `scores`' modifiers that depends on the score has a
/// derivative rule (isDifferentiable); else an error at `user` naming the
/// first that has none.
LogicalResult checkDifferentiable(const TileStorage &scores, Operation *user);

/// Whether `op`, given operands that depend on the score, has a derivative
/// rule here. Ops without a float result (comparisons, casts to integers)
/// need none: their results are piecewise constant in the score.
bool isDifferentiable(Operation *op);

/// The derivative of `clone`'s result (a clone of a differentiable op,
/// already built) from its operands' derivatives (null: 0), built at `b`;
/// null if all are null or the result is not a float.
Value tangentOf(OpBuilder &b, Location loc, Operation *clone,
                ArrayRef<Value> operandTangents);

/// Clones `body`'s ops (a flash.score_mod region) with `args`, its first
/// argument the score with derivative `scoreTangent`; returns the yielded
/// value and its derivative.
std::pair<Value, Value> inlineWithTangent(OpBuilder &b, Location loc,
                                          Block &body, ValueRange args,
                                          Value scoreTangent);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_SCORETANGENTS_H
