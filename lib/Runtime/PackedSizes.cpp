//===- PackedSizes.cpp - the sizes of varlen and paged runs ---------------===//
//
// What a run of a varlen or paged attention is asked for, checked once for
// the GPU runner (PackedRuns.cpp) and the CPU checker (flashc-check-cpu):
// the flags, their defaults and the block table's layout. No MLIR.
//
//===----------------------------------------------------------------------===//

#include "flashc/Runtime/Runner.h"

#include <algorithm>
#include <climits>
#include <numeric>

using namespace flashc;

/// `given`, or `defaults` where empty; each at least 0 (`flag` names it).
static bool lengthsOf(const std::vector<int64_t> &given,
                      const std::vector<int64_t> &defaults, const char *flag,
                      std::vector<int64_t> &lengths, std::string &error) {
  lengths = given.empty() ? defaults : given;
  for (int64_t length : lengths)
    if (length < 0) {
      error = std::string(flag) + " " + std::to_string(length) +
              ": a length is at least 0 (0: an empty sequence)";
      return false;
    }
  return true;
}

bool flashc::chooseVarlenSizes(const KernelBundle &bundle,
                               const RunOptions &requested, VarlenSizes &sizes,
                               std::string &error) {
  if (requested.batch != -1 || requested.seqQ != -1 || requested.seqK != -1 ||
      requested.pageSize != -1) {
    error = "varlen: the sequences are given with --seq-lens (and "
            "--seq-lens-k), not --batch, --seq, --seq-k or --page-size";
    return false;
  }
  if (!lengthsOf(requested.seqLensQ, {1, 17, 130, 64}, "--seq-lens",
                 sizes.lensQ, error) ||
      !lengthsOf(requested.seqLensK, sizes.lensQ, "--seq-lens-k", sizes.lensK,
                 error))
    return false;
  if (sizes.lensK.size() != sizes.lensQ.size()) {
    error = "--seq-lens-k gives " + std::to_string(sizes.lensK.size()) +
            " lengths and --seq-lens " + std::to_string(sizes.lensQ.size()) +
            ": one of each per sequence";
    return false;
  }
  int64_t sequences = static_cast<int64_t>(sizes.lensQ.size());
  if (bundle.sequences >= 0 && bundle.sequences != sequences) {
    error = "--seq-lens gives " + std::to_string(sequences) +
            " sequences; the kernel was compiled for " +
            std::to_string(bundle.sequences);
    return false;
  }
  // Heads and K/V heads as for any run, of one row.
  RunOptions heads = requested;
  heads.batch = 1;
  heads.seqQ = 1;
  return chooseRunShape(heads,
                        {bundle.batch, bundle.heads, -1, -1, bundle.kvHeads},
                        sizes.heads, error);
}

bool flashc::choosePagedSizes(const KernelBundle &bundle,
                              const RunOptions &requested, PagedSizes &sizes,
                              std::string &error) {
  if (requested.seqK != -1 || !requested.seqLensQ.empty()) {
    error = "paged: the key lengths are given with --seq-lens-k (one per "
            "sequence), not --seq-k or --seq-lens";
    return false;
  }
  int64_t pageSize = requested.pageSize;
  if (bundle.seqK < 0 && pageSize == -1) {
    error = "the kernel's page size is dynamic: give it with --page-size";
    return false;
  }
  if (pageSize != -1 && (pageSize < 16 || pageSize % 16 != 0)) {
    error = "--page-size " + std::to_string(pageSize) +
            ": must be a positive multiple of 16 (as the GPU kernel's launch "
            "requires)";
    return false;
  }
  // Q's sizes as for any run; the page size travels as the key length.
  RunOptions shape = requested;
  shape.seqK = pageSize;
  if (!chooseRunShape(shape,
                      {bundle.batch, bundle.heads, bundle.seqQ, bundle.seqK,
                       bundle.kvHeads},
                      sizes.shape, error)) {
    size_t at = error.find("--seq-k");
    if (at != std::string::npos)
      error.replace(at, 7, "--page-size");
    return false;
  }
  int64_t page = sizes.shape.seqK, batch = sizes.shape.batch;
  // The default lengths fit a static block table.
  int64_t capacity = bundle.maxPages > 0 ? bundle.maxPages * page : INT64_MAX;
  std::vector<int64_t> defaults;
  for (int64_t b = 0; b < batch; ++b)
    defaults.push_back(std::min<int64_t>(
        std::vector<int64_t>{1, 65, 300, 17}[b % 4], capacity));
  if (!lengthsOf(requested.seqLensK, defaults, "--seq-lens-k", sizes.lens,
                 error))
    return false;
  if (int64_t(sizes.lens.size()) != batch) {
    error = "--seq-lens-k gives " + std::to_string(sizes.lens.size()) +
            " lengths for a batch of " + std::to_string(batch) +
            ": one per sequence";
    return false;
  }
  int64_t longest = *std::max_element(sizes.lens.begin(), sizes.lens.end());
  sizes.maxPages = bundle.maxPages > 0
                       ? bundle.maxPages
                       : std::max<int64_t>(1, (longest + page - 1) / page);
  if (longest > sizes.maxPages * page) {
    error = "--seq-lens-k " + std::to_string(longest) +
            " is more than the block table's " +
            std::to_string(sizes.maxPages) + " pages of " +
            std::to_string(page) + " rows hold";
    return false;
  }
  sizes.pages = bundle.pages > 0 ? bundle.pages : batch * sizes.maxPages;
  return true;
}

std::vector<int32_t> flashc::shuffledBlockTable(const PagedSizes &sizes,
                                                std::mt19937_64 &rng) {
  std::vector<int32_t> order(sizes.pages), table;
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (int64_t slot = 0; slot < sizes.shape.batch * sizes.maxPages; ++slot)
    table.push_back(order[slot % sizes.pages]);
  return table;
}

bool flashc::checkPlainSizes(const RunOptions &requested, std::string &error) {
  if (requested.seqLensQ.empty() && requested.seqLensK.empty() &&
      requested.pageSize == -1)
    return true;
  error = "--seq-lens, --seq-lens-k and --page-size are for varlen and paged "
          "attention; give --seq and --seq-k";
  return false;
}
