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

/// dS = scale · 2^(s·scaleLog2e − lse·log2 e) · (dp − delta) for each
/// element of `scores` (masked elements and rows whose lse is −inf give 0),
/// as probabilities the next product reads. `lseRows` and `deltaRows` hold
/// this lane's rows (rowsPerLane per 16-row strip).
TileStorage emitGradScores(KernelContext &k, TensorCoreStrategy &tc,
                           const TileStorage &scores, const TileStorage &dp,
                           ArrayRef<Value> lseRows, ArrayRef<Value> deltaRows,
                           float scaleLog2e, float scale);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_GRADSCORES_H
