//===- OnlineSoftmax.h - the running max, sum and rescale -------*- C++ -*-===//
//
// The online softmax, written once against the strategy interface: a
// softmax step over a block of scores, the rescale of the accumulator, and
// the pieces the split-K/V merge shares with them (a row's usable max and a
// rescale factor).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_ONLINESOFTMAX_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_ONLINESOFTMAX_H

#include "TensorCoreStrategy.h"

namespace mlir::flash {

struct SoftmaxStepResults {
  /// Per (strip, row slot): new max, new sum, alpha.
  SmallVector<Value> rows;
  TileStorage probs;
};

/// One step of the online softmax over `scores` (log2 units: `scaleLog2e`
/// scales a score into them), from the running `maxIn` and `sumIn` (sums
/// in the strategy's partial form if it keeps them so).
SoftmaxStepResults emitSoftmaxStep(KernelContext &k, TensorCoreStrategy &tc,
                                   const TileStorage &scores, float scaleLog2e,
                                   ArrayRef<Value> maxIn,
                                   ArrayRef<Value> sumIn);

/// `acc` with row i scaled by `factors[i]`. Under the stale-max policy
/// (#flash.policy's stale_max_log2) the multiplies are skipped when every
/// factor of the warp is exactly 1.
SmallVector<Value> emitRescale(KernelContext &k, TensorCoreStrategy &tc,
                               ArrayRef<Value> acc, ArrayRef<Value> factors);

/// The max to subtract from a row's scores: `max`, or 0 for a row that has
/// seen no key yet (max -inf), so that its exp2 gives 0 instead of NaN.
Value usableMax(KernelContext &k, Value max, Value negInf);
/// exp2(oldMax - usedMax): what rescales values kept relative to `oldMax`.
Value rescaleFactor(KernelContext &k, Value oldMax, Value usedMax);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_ONLINESOFTMAX_H
