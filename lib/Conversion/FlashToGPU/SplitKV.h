//===- SplitKV.h - merging the partial results of a split K/V loop -*- C++
//-*-===//
//
// With kv_splits > 1 the K/V loop of one query block is shared by several
// programs (grid z). Each warp publishes its partial result to a global
// workspace; the warp that arrives last for its rows merges every split's
// partial with the online softmax's rescale, and alone stores O.
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
  Value split;      // this program's split (grid z)
  Value queryBlock; // this program's query block and batch·head
  Value batchHead;
};

struct MergedSplits {
  SmallVector<Value> acc, sums;
  /// True in the warp that merged (the last to arrive): only it stores.
  Value storeGuard;
};

/// Publishes this warp's partial (`acc`, the rows' `maxRows` and `sums`)
/// and merges every split's partial in the warp that arrives last.
MergedSplits emitSplitMerge(KernelContext &k, TensorCoreStrategy &tc,
                            const SplitWorkspace &workspace,
                            ArrayRef<Value> acc, ArrayRef<Value> maxRows,
                            ArrayRef<Value> sums);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_SPLITKV_H
