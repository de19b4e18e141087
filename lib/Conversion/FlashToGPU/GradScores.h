//===- GradScores.h - the backward's element-wise step ----------*- C++ -*-===//
//
// flash.grad_scores, written once against the strategy interface (as the
// online softmax is): each element's probability recomputed from the
// forward's log-sum-exp, times dP minus the row term, times the scale.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_GRADSCORES_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_GRADSCORES_H

#include "TensorCoreStrategy.h"

namespace mlir::flash {

/// What flash.grad_scores reads besides the two score tiles: the lse and
/// delta of this lane's queries, either per row (rowsPerLane per 16-row
/// strip, flash.load_rows) or, for transposed scores, per element column
/// (flash.load_cols).
struct GradScoreTerms {
  ArrayRef<Value> lse, delta;
  bool perColumn = false;
  float scaleLog2e = 0.0f, scale = 0.0f;
  /// Also give the probabilities themselves (a second tile).
  bool withProbs = false;
};

/// dS = scale · 2^(s·scaleLog2e − lse·log2 e) · (dp − delta) for each
/// element of `scores` (masked elements and queries whose lse is −inf give
/// 0), as probabilities the next product reads; with `withProbs` also the
/// probabilities (second).
std::pair<TileStorage, std::optional<TileStorage>>
emitGradScores(KernelContext &k, TensorCoreStrategy &tc,
               const TileStorage &scores, const TileStorage &dp,
               const GradScoreTerms &terms);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_GRADSCORES_H
