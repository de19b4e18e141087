//===- TuneCache.h - tuned tile configurations on disk ----------*- C++ -*-===//
//
// `flashc tune` writes the fastest configuration per (arch, dtype, head_dim,
// causal, seq bucket); flash-select-config reads it before its heuristic.
// One entry per line:
//   arch dtype head_dim causal seq_bucket block_m block_n stages warps
//   strategy microseconds
// seq_bucket is the next power of two >= seq_q, or 0 for a dynamic seq.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_TRANSFORMS_TUNECACHE_H
#define FLASHC_TRANSFORMS_TUNECACHE_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::flash {

struct TuneKey {
  std::string arch, dtype;
  int64_t headDim = 0;
  bool causal = false;
  int64_t seqBucket = 0;
  bool operator==(const TuneKey &o) const {
    return arch == o.arch && dtype == o.dtype && headDim == o.headDim &&
           causal == o.causal && seqBucket == o.seqBucket;
  }
};

struct TuneEntry {
  TuneKey key;
  int64_t blockM = 0, blockN = 0, stages = 0, warps = 0;
  std::string strategy;
  double microseconds = 0;
  int64_t kvSplits = 1; // optional last field; older lines mean 1
};

/// The bucket of a query length: the next power of two, 0 if dynamic.
int64_t seqBucket(int64_t seq);
/// The default cache path: $FLASHC_TUNE_CACHE, else
/// $HOME/.cache/flashc/tune.txt.
std::string defaultTuneCachePath();
/// Entries of the file at `path` (none if it does not exist; malformed
/// lines are skipped).
std::vector<TuneEntry> readTuneCache(const std::string &path);
std::optional<TuneEntry> lookupTuneCache(const std::string &path,
                                         const TuneKey &key);
/// Adds or replaces the entry for `entry.key`, writing a temporary file
/// renamed into place. False with `error` set on failure.
bool updateTuneCache(const std::string &path, const TuneEntry &entry,
                     std::string &error);

} // namespace mlir::flash

#endif // FLASHC_TRANSFORMS_TUNECACHE_H
