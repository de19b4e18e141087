//===- LoweringPolicy.h - choices made for speed, in one place --*- C++ -*-===//
//
// What the GPU lowering does for speed rather than for correctness, decided
// once from the tile configuration, so that no piece of the lowering makes
// such a choice on its own.
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
  /// A row's softmax max is kept until the scores exceed it by more than
  /// 2^staleMaxLog2, and the O rescale is skipped when no row of the warp
  /// moved its max. 0: off.
  float staleMaxLog2 = 0.0f;
  /// With 3+ stages the prefetch of a step waits for its first product.
  bool prefetchAfterFirstDot = false;

  static LoweringPolicy choose(TileConfigAttr config, int64_t headDim) {
    LoweringPolicy policy;
    bool mmaSync = config.getStrategy() == Strategy::mma_sync;
    int64_t strips = config.getBlockM() / config.getWarps() / 16;
    // Q's A fragments take 4 registers per 16x16 piece: 32 per lane with one
    // strip at head_dim 128 or two strips at 64. Two strips at head_dim 128
    // would take 64 beside O's 128 and S's 64 and spill, so there Q is read
    // from shared memory.
    policy.qInRegisters = !mmaSync || strips * headDim <= 128;
    // With 32 keys a step the rescale costs as much as a quarter of the
    // step's products, and skipping it pays for the vote; at block_n 64 it
    // does not (bench/RESULTS.md, session 8, change 5).
    if (mmaSync && config.getBlockN() <= 32)
      policy.staleMaxLog2 = 8.0f;
    // Issued right after the barrier, all warps' copies queue at once and
    // stall the ldmatrix reads of the first product; with 2 stages the copy
    // needs all the lead it can get.
    policy.prefetchAfterFirstDot = config.getStages() >= 3;
    return policy;
  }
};

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_LOWERINGPOLICY_H
