//===- KVSplits.h - how many programs share a K/V loop ------*- C++ -*-===//
//
// The one rule for splitting a query block's K/V loop across programs.
// flash-select-config applies it to static shapes at compile time, and the
// runtime at every launch of a kernel compiled with kv_splits > 1 (the
// kernel's maximum), with the device's SM count. Header-only and free of
// MLIR: the runtime uses it on machines without MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_RUNTIME_KVSPLITS_H
#define FLASHC_RUNTIME_KVSPLITS_H

#include <algorithm>
#include <cstdint>

namespace flashc {

/// Programs of `programBytes` of shared memory that an SM of
/// `sharedBytesPerSM` holds at once (each also takes 1 KiB for the
/// system); 1 when the SM's size is unknown (0).
inline int64_t residentPrograms(int64_t sharedBytesPerSM,
                                int64_t programBytes) {
  return std::max<int64_t>(sharedBytesPerSM / (programBytes + 1024), 1);
}

/// Splits (1..maxSplits) for a grid of `programs` thread blocks with
/// `keyBlocks` K/V blocks each, on `sms` SMs that hold `perSM` of them at
/// once; `oneQueryBlock`: each (sequence, head) has a single query block (a
/// decode step).
inline int64_t chooseKVSplits(int64_t sms, int64_t perSM, int64_t programs,
                              int64_t keyBlocks, bool causal, int64_t maxSplits,
                              bool oneQueryBlock) {
  if (sms <= 0 || programs <= 0)
    return 1;
  int64_t perSplit = std::max<int64_t>(keyBlocks / 2, 1);
  // One query block against its keys does little arithmetic per byte of
  // K/V: it waits on memory, which wants about two programs per SM in
  // flight. So a grid below one per SM splits into at most two per SM, or
  // one where only one fits: more would start a second, mostly idle wave
  // (bench/RESULTS.md, decode).
  if (oneQueryBlock) {
    if (programs >= sms)
      return 1;
    int64_t splits = std::min<int64_t>(perSM, 2) * sms / programs;
    return std::max<int64_t>(std::min({splits, perSplit, maxSplits}), 1);
  }
  // A grid smaller than the SM count leaves SMs idle (1x8 heads x 512
  // tokens is 64 programs on 132 SMs): split each query block's K/V loop so
  // that the grid fills the SMs once, keeping at least two K/V blocks per
  // split so that the pipeline still overlaps. The merge costs about what a
  // half-full grid gains when every query block does the same work, while
  // causal grids (unequal blocks: splitting shortens the longest) gain
  // (bench/RESULTS.md). So a full grid splits from a quarter of the SMs
  // down, a causal one from half.
  if (programs * (causal ? 2 : 4) > sms)
    return 1;
  int64_t splits = std::min({sms / programs, perSplit, maxSplits});
  return std::max<int64_t>(splits, 1);
}

} // namespace flashc

#endif // FLASHC_RUNTIME_KVSPLITS_H
