//===- Runner.h - run a bundle on random inputs and check it ----*- C++ -*-===//
//
// What `flashc FILE --run` and `flashc-run BUNDLE` do: seeded random normal
// inputs, a poisoned output, a launch, a float64 CPU reference, errors and
// pass/fail, three runs compared bitwise, and CUDA-event timings. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_RUNTIME_RUNNER_H
#define FLASHC_RUNTIME_RUNNER_H

#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/Reference.h"

#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace flashc {

struct RunOptions {
  /// Shape; -1 takes the bundle's static size (an error if it is dynamic).
  int64_t batch = -1, heads = -1, seqQ = -1, seqK = -1;
  /// K/V heads; -1 takes the static size, else Q's heads.
  int64_t kvHeads = -1;
  /// K/V splits of a kernel compiled with kv_splits > 1: 0 lets the runtime
  /// choose per launch, else 1..kv_splits (flashc_kernel_set_kv_splits).
  int64_t kvSplits = 0;
  /// Varlen: each sequence's query and key lengths (empty: defaults;
  /// docs/Runtime.md). Paged: the key lengths, one per batch entry.
  std::vector<int64_t> seqLensQ, seqLensK;
  /// Paged: rows a page (-1 takes the static size).
  int64_t pageSize = -1;
  uint64_t seed = 1;
  int warmup = 20;
  int iters = 100; ///< timed launches; 0 skips timing
  int device = 0;
  /// The float64 modifiers of a kernel that modifies its scores, given the
  /// captures' data the run made and the run's seq_q and seq_k (the MLIR
  /// tools evaluate the source's regions); without it such a kernel cannot
  /// be checked.
  std::function<ScoreModifiers(const std::vector<HostCapture> &, int64_t,
                               int64_t)>
      modifiers;
};

/// Exit codes of runBundle.
enum RunStatus : int {
  kRunPassed = 0,
  kRunFailed = 1,   ///< ran, but wrong, non-deterministic or NaN
  kRunNoDevice = 2, ///< could not run: no driver or no device
  kRunError = 3,    ///< bad bundle, bad shape, or a CUDA error
};

/// What a run measured, for callers that compare runs (flashc tune).
struct RunReport {
  double relL2 = 0, maxAbs = 0, medianUs = 0, tflops = 0;
  bool accurate = false, deterministic = false;
};

/// The shape of a run.
struct RunShape {
  int64_t batch = 0, heads = 0, seqQ = 0, seqK = 0, kvHeads = 0;
};

/// The shape to run `compiled` (static sizes, -1 where dynamic; kvHeads of
/// K and V) at: each requested size (-1: none), else the static one; seq_k
/// defaults to seq_q and kv_heads to heads. A size below 1, a dynamic size
/// not given, a given size that contradicts a static one, or kv_heads that
/// does not divide heads is an error that names the flag.
bool chooseRunShape(const RunOptions &requested, const RunShape &compiled,
                    RunShape &shape, std::string &error);

/// The sizes of a varlen run: Q's and K/V's heads (`heads`, of batch and
/// seq 1) and each sequence's query and key lengths.
struct VarlenSizes {
  RunShape heads;
  std::vector<int64_t> lensQ, lensK;
};
/// The varlen run of `bundle` that `requested` asks for: --seq-lens and
/// --seq-lens-k (by default 1, 17, 130, 64, the keys as the queries),
/// --heads and --kv-heads. --batch, --seq, --seq-k and --page-size are
/// refused (the sequences are the batch), as are counts that differ or miss
/// the kernel's static one and negative lengths; the error names the flag.
bool chooseVarlenSizes(const KernelBundle &bundle, const RunOptions &requested,
                       VarlenSizes &sizes, std::string &error);

/// The sizes of a paged run: Q's shape (its seq_k the page size), each
/// sequence's key length, the block table's width and the cache's pages.
struct PagedSizes {
  RunShape shape;
  std::vector<int64_t> lens;
  int64_t maxPages = 0, pages = 0;
};
/// The paged run of `bundle` that `requested` asks for: Q's sizes as for
/// any run, --page-size where the kernel's is dynamic (a multiple of 16),
/// --seq-lens-k (by default 1, 65, 300, 17, ... within a static table);
/// --seq-k and --seq-lens are refused. The error names the flag.
bool choosePagedSizes(const KernelBundle &bundle, const RunOptions &requested,
                      PagedSizes &sizes, std::string &error);
/// A block table [batch, maxPages] for `sizes`: every slot a page of its
/// own where the cache has enough, in an order shuffled by `rng`, so that
/// neighbouring keys come from scattered pages.
std::vector<int32_t> shuffledBlockTable(const PagedSizes &sizes,
                                        std::mt19937_64 &rng);
/// For a kernel neither varlen nor paged: --seq-lens, --seq-lens-k and
/// --page-size are refused.
bool checkPlainSizes(const RunOptions &requested, std::string &error);

/// The attention `bundle` computes at `shape`, for the float64 reference.
AttentionProblem attentionProblem(const KernelBundle &bundle,
                                  const RunShape &shape);

/// Runs `bundleText` and prints one report to `out` (errors to `err`);
/// `report`, if given, receives the numbers.
RunStatus runBundle(const std::string &bundleText, const RunOptions &options,
                    std::ostream &out, std::ostream &err,
                    RunReport *report = nullptr);

/// Host conversions, round to nearest even.
uint16_t floatToHalf(float value);
float halfToFloat(uint16_t bits);
uint16_t floatToBFloat16(float value);
float bfloat16ToFloat(uint16_t bits);

} // namespace flashc

#endif // FLASHC_RUNTIME_RUNNER_H
