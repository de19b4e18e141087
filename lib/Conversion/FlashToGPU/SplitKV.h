//===- SplitKV.h - merging the partial results of a split K/V loop -*- C++
//-*-===//
//
// With kv_splits > 1 the K/V loop of one query block may be shared by up to
// kv_splits programs (grid z = batch · splits, the split count chosen at
// launch). Each warp publishes its partial result to a global workspace; the
// warp that arrives last for its rows merges every split's partial with the
// online softmax's rescale, and alone stores O and the log-sum-exp. A launch
// with one split skips all of it.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_SPLITKV_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_SPLITKV_H

#include "TensorCoreStrategy.h"

namespace mlir::flash {

/// The kernel's view of the split workspace (LaunchPlan.h has its size).
struct SplitWorkspace {
  Value partials;   // memref<?xf32>: one slot per (split, batch·head, block)
  Value counters;   // memref<?xi32>: arrivals per (batch·head, block, warp)
  Value splits;     // the launch's split count: grid z / batch
  Value split;      // this program's split (grid z mod splits)
  Value queryBlock; // this program's query block and batch·head
  Value batchHead;
  Value batchHeads; // the launch's batch · heads
};

struct MergedSplits {
  SmallVector<Value> acc, maxRows, sums;
  /// True in the warp that merged (the last to arrive), or with one split:
  /// only it stores.
  Value storeGuard;
};

/// With more than one split, publishes this warp's partial (`acc`, the
/// rows' `maxRows` and `sums`) and merges every split's partial in the warp
/// that arrives last; with one, returns them as they are.
MergedSplits emitSplitMerge(KernelContext &k, TensorCoreStrategy &tc,
                            const SplitWorkspace &workspace,
                            ArrayRef<Value> acc, ArrayRef<Value> maxRows,
                            ArrayRef<Value> sums);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_SPLITKV_H
