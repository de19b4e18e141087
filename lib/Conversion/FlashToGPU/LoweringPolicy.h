//===- LoweringPolicy.h - the policy as the lowering reads it ---*- C++ -*-===//
//
// The choices made for speed are not made here: flash-select-config writes
// them to the tile program as a #flash.policy (getDefaultPolicy when a
// program has none). This is that attribute in the form the lowering's
// pieces read.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_LOWERINGPOLICY_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_LOWERINGPOLICY_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

namespace mlir::flash {

struct LoweringPolicy {
  /// Q's A fragments stay in registers through the K/V loop; otherwise they
  /// are read from shared memory once per K/V step.
  bool qInRegisters = true;
  /// The stale-max threshold in log2 units; 0: off.
  float staleMaxLog2 = 0.0f;
  /// The prefetch of a step waits for its first product.
  bool prefetchAfterFirstDot = false;

  explicit LoweringPolicy(PolicyAttr policy)
      : qInRegisters(policy.getQ() == QPlacement::registers),
        staleMaxLog2(static_cast<float>(policy.getStaleMaxLog2())),
        prefetchAfterFirstDot(policy.getPrefetch() ==
                              Prefetch::after_first_dot) {}
};

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_LOWERINGPOLICY_H
