//===- kv_splits_test.cpp - the split rule, on the CPU --------------------===//
//
// chooseKVSplits (flashc/Runtime/KVSplits.h), which select-config applies
// at compile time and the runtime at every launch: a full grid never
// splits; a grid of single query blocks (a decode step) splits into at most
// two programs per SM; other small grids fill the SMs once; every choice
// keeps two K/V blocks per split and stays within the kernel's maximum.
// No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "flashc/Runtime/KVSplits.h"

#include <cstdio>
#include <string>

using namespace flashc;

static int failures = 0;

static void expect(int64_t got, int64_t want, const std::string &what) {
  bool ok = got == want;
  std::printf("%s %s: %lld (want %lld)\n", ok ? "ok  " : "FAIL", what.c_str(),
              static_cast<long long>(got), static_cast<long long>(want));
  if (!ok)
    ++failures;
}

int main() {
  const int64_t sms = 132; // an H100 or H200
  // Decode steps: one query block per (sequence, K/V head).
  expect(chooseKVSplits(sms, 8, 64, false, 16, true), 16,
         "8 single blocks: up to 2 a SM, capped at the maximum");
  expect(chooseKVSplits(sms, 64, 64, false, 16, true), 4,
         "64 single blocks: 4 splits (5 would start a second wave)");
  expect(chooseKVSplits(sms, 256, 1024, false, 16, true), 1,
         "256 single blocks already fill the SMs");
  expect(chooseKVSplits(sms, 8, 6, false, 16, true), 3,
         "6 key blocks: two per split at least");
  expect(chooseKVSplits(sms, 8, 1, false, 16, true), 1,
         "one key block: nothing to split");
  expect(chooseKVSplits(sms, 8, 64, false, 5, true), 5,
         "a kernel compiled for 5 splits at most");
  // Grids of several query blocks per head (compute-bound).
  expect(chooseKVSplits(sms, 64, 8, true, 16, false), 2,
         "64 causal programs: fill the SMs once");
  expect(chooseKVSplits(sms, 64, 8, false, 16, false), 1,
         "64 programs without a mask: over a quarter of the SMs");
  expect(chooseKVSplits(sms, 32, 64, false, 16, false), 4,
         "32 programs without a mask");
  expect(chooseKVSplits(sms, 4096, 64, false, 16, false), 1,
         "a full grid");
  // Unknown SM count (an architecture flashc has no table for).
  expect(chooseKVSplits(0, 8, 64, false, 16, true), 1, "no SM count");
  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
