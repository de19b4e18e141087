//===- TuneCache.cpp - tuned tile configurations on disk ------------------===//

#include "flashc/Transforms/TuneCache.h"

#include "flashc/Support/OutputFile.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir::flash;

int64_t mlir::flash::seqBucket(int64_t seq) {
  if (seq <= 0)
    return 0;
  int64_t bucket = 1;
  while (bucket < seq)
    bucket *= 2;
  return bucket;
}

std::string mlir::flash::defaultTuneCachePath() {
  if (const char *path = std::getenv("FLASHC_TUNE_CACHE"))
    return path;
  const char *home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/flashc/tune.txt";
}

std::vector<TuneEntry> mlir::flash::readTuneCache(const std::string &path) {
  std::vector<TuneEntry> entries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream is(line);
    TuneEntry e;
    int causal = 0;
    if (is >> e.key.arch >> e.key.dtype >> e.key.headDim >> causal >>
        e.key.seqBucket >> e.blockM >> e.blockN >> e.stages >> e.warps >>
        e.strategy >> e.microseconds) {
      e.key.causal = causal != 0;
      int64_t kvSplits = 1;
      if (is >> kvSplits)
        e.kvSplits = kvSplits;
      entries.push_back(e);
    }
  }
  return entries;
}

std::optional<TuneEntry> mlir::flash::lookupTuneCache(const std::string &path,
                                                      const TuneKey &key) {
  for (const TuneEntry &e : readTuneCache(path))
    if (e.key == key)
      return e;
  return std::nullopt;
}

bool mlir::flash::updateTuneCache(const std::string &path,
                                  const TuneEntry &entry, std::string &error) {
  std::vector<TuneEntry> entries = readTuneCache(path);
  bool replaced = false;
  for (TuneEntry &e : entries)
    if (e.key == entry.key) {
      e = entry;
      replaced = true;
    }
  if (!replaced)
    entries.push_back(entry);
  // Create the directory (one level is what the default path needs).
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    std::string dir = path.substr(0, slash);
    for (size_t i = 1; i <= dir.size(); ++i)
      if (i == dir.size() || dir[i] == '/')
        ::mkdir(dir.substr(0, i).c_str(), 0755);
  }
  std::ostringstream out;
  out << "# flashc tune cache: arch dtype head_dim causal seq_bucket "
         "block_m block_n stages warps strategy microseconds kv_splits\n";
  for (const TuneEntry &e : entries)
    out << e.key.arch << " " << e.key.dtype << " " << e.key.headDim << " "
        << (e.key.causal ? 1 : 0) << " " << e.key.seqBucket << " " << e.blockM
        << " " << e.blockN << " " << e.stages << " " << e.warps << " "
        << e.strategy << " " << e.microseconds << " " << e.kvSplits << "\n";
  error = flashc::writeOutputFile(path, out.str());
  if (!error.empty())
    return false;
  return true;
}
