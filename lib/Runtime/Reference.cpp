//===- Reference.cpp - float64 attention reference and errors -------------===//

#include "flashc/Runtime/Reference.h"

#include "flashc/Runtime/Runner.h"

#include <algorithm>
#include <cmath>
#include <thread>

using namespace flashc;

/// Fills `bits` with normal values from `rng`.
static void fillNormal(uint16_t *bits, size_t count, std::mt19937_64 &rng,
                       bool bf16) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t i = 0; i < count; ++i)
    bits[i] = bf16 ? floatToBFloat16(normal(rng)) : floatToHalf(normal(rng));
}

std::vector<uint16_t> flashc::randomInput(size_t count, std::mt19937_64 &rng,
                                          bool bf16) {
  std::vector<uint16_t> bits(count);
  if (count <= kSerialRandomInputs) {
    fillNormal(bits.data(), count, rng, bf16);
    return bits;
  }
  // Large inputs (a batch of thousands) took most of a run drawn one value
  // at a time: chunk c comes from its own generator, seeded from one draw
  // of `rng` and c, on whichever thread takes it.
  uint64_t base = rng();
  size_t chunks = (count + kSerialRandomInputs - 1) / kSerialRandomInputs;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t c = t; c < chunks; c += threads) {
        std::seed_seq seeds{uint32_t(base), uint32_t(base >> 32), uint32_t(c),
                            uint32_t(uint64_t(c) >> 32)};
        std::mt19937_64 chunkRng(seeds);
        size_t first = c * kSerialRandomInputs;
        fillNormal(bits.data() + first,
                   std::min(kSerialRandomInputs, count - first), chunkRng,
                   bf16);
      }
    });
  for (std::thread &thread : pool)
    thread.join();
  return bits;
}

namespace {
/// Error sums over some of the rows compared (one per worker thread).
struct PartialError {
  double maxAbs = 0, errSq = 0, refSq = 0, lseMaxRel = 0;
  bool nan = false, lseBad = false;
};
} // namespace

/// The (batch, head) pairs to compare: all of them up to `maxWork`
/// multiply-adds, else the first, the last and two drawn with `seed`.
static std::vector<int64_t> headsToCompare(int64_t bh, double work,
                                           double maxWork, uint64_t seed) {
  std::vector<int64_t> heads;
  if (work <= maxWork) {
    for (int64_t i = 0; i < bh; ++i)
      heads.push_back(i);
    return heads;
  }
  std::mt19937_64 rng(seed);
  heads = {0, bh - 1, int64_t(rng() % bh), int64_t(rng() % bh)};
  std::sort(heads.begin(), heads.end());
  heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
  return heads;
}

/// Whether query `i` sees key `j` of head `head` (b·heads + h).
static bool sees(const AttentionProblem &problem, int64_t head, int64_t i,
                 int64_t j) {
  if (problem.causal) {
    int64_t diagonal = problem.bottomRight ? problem.seqK - problem.seqQ : 0;
    if (j > i + diagonal)
      return false;
  }
  const ScoreModifiers *mods = problem.modifiers;
  if (mods && mods->mask)
    return mods->mask(problem.firstBatch + head / problem.heads,
                      head % problem.heads, i, j);
  return true;
}

/// Row `i` of head `head` in float64 against `out` (and `lse`), added to
/// `p`.
static void
compareRow(const AttentionProblem &problem, int64_t head, int64_t i,
           const std::vector<uint16_t> &hq, const std::vector<uint16_t> &hk,
           const std::vector<uint16_t> &hv, const std::vector<uint16_t> &out,
           const std::vector<float> *lse, std::vector<double> &scores,
           std::vector<double> &acc, PartialError &p) {
  auto fromBits = problem.bf16 ? bfloat16ToFloat : halfToFloat;
  int64_t d = problem.headDim, seqQ = problem.seqQ, seqK = problem.seqK;
  const ScoreModifiers *mods = problem.modifiers;
  const uint16_t *qRow = &hq[(head * seqQ + i) * d];
  int64_t keyHead = problem.keyBatchHead(head);
  double maxScore = -INFINITY;
  for (int64_t j = 0; j < seqK; ++j) {
    scores[j] = -INFINITY;
    if (!sees(problem, head, i, j))
      continue;
    const uint16_t *kRow = &hk[(keyHead * seqK + j) * d];
    double dot = 0;
    for (int64_t c = 0; c < d; ++c)
      dot += double(fromBits(qRow[c])) * double(fromBits(kRow[c]));
    scores[j] = dot * problem.scale;
    if (mods && mods->score)
      scores[j] =
          mods->score(scores[j], problem.firstBatch + head / problem.heads,
                      head % problem.heads, i, j);
    maxScore = std::max(maxScore, scores[j]);
  }
  double sum = 0;
  std::fill(acc.begin(), acc.end(), 0.0);
  for (int64_t j = 0; maxScore > -INFINITY && j < seqK; ++j) {
    if (scores[j] == -INFINITY)
      continue;
    double w = std::exp(scores[j] - maxScore);
    sum += w;
    const uint16_t *vRow = &hv[(keyHead * seqK + j) * d];
    for (int64_t c = 0; c < d; ++c)
      acc[c] += w * double(fromBits(vRow[c]));
  }
  const uint16_t *oRow = &out[(head * seqQ + i) * d];
  for (int64_t c = 0; c < d; ++c) {
    double ref = sum > 0 ? acc[c] / sum : 0.0;
    double got = fromBits(oRow[c]);
    if (std::isnan(got))
      p.nan = true;
    double diff = std::fabs(got - ref);
    p.maxAbs = std::max(p.maxAbs, diff);
    p.errSq += diff * diff;
    p.refSq += ref * ref;
  }
  if (!lse)
    return;
  double got = (*lse)[head * seqQ + i];
  double ref = sum > 0 ? maxScore + std::log(sum) : -INFINITY;
  if (std::isnan(got) || (ref == -INFINITY) != (got == -INFINITY))
    p.lseBad = true;
  else if (ref > -INFINITY)
    p.lseMaxRel = std::max(p.lseMaxRel, std::fabs(got - ref) /
                                            std::max(1.0, std::fabs(ref)));
}

/// Whether any element of `out` is NaN or infinite (exponent bits all
/// ones: 0x7C00 in f16, 0x7F80 in bf16).
static bool anyNotFinite(const std::vector<uint16_t> &out, bool bf16) {
  uint16_t exponent = bf16 ? 0x7F80 : 0x7C00;
  for (uint16_t bits : out)
    if ((bits & exponent) == exponent)
      return true;
  return false;
}

ErrorStats flashc::compareWithReference(const AttentionProblem &problem,
                                        const std::vector<uint16_t> &hq,
                                        const std::vector<uint16_t> &hk,
                                        const std::vector<uint16_t> &hv,
                                        const std::vector<uint16_t> &out,
                                        uint64_t sampleSeed, double maxWork,
                                        const std::vector<float> *lse) {
  int64_t seqQ = problem.seqQ;
  int64_t bh = problem.batch * problem.heads;
  double work = double(bh) * seqQ * problem.seqK * problem.headDim;
  std::vector<int64_t> heads = headsToCompare(bh, work, maxWork, sampleSeed);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<PartialError> partials(threads);
  int64_t rowsTotal = int64_t(heads.size()) * seqQ;
  auto worker = [&](unsigned t) {
    std::vector<double> scores(problem.seqK), acc(problem.headDim);
    for (int64_t index = t; index < rowsTotal; index += threads)
      compareRow(problem, heads[index / seqQ], index % seqQ, hq, hk, hv, out,
                 lse, scores, acc, partials[t]);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back(worker, t);
  for (std::thread &t : pool)
    t.join();
  ErrorStats stats;
  double errSq = 0, refSq = 0;
  for (const PartialError &p : partials) {
    stats.maxAbs = std::max(stats.maxAbs, p.maxAbs);
    errSq += p.errSq;
    refSq += p.refSq;
    stats.nan |= p.nan;
    stats.lseMaxRel = std::max(stats.lseMaxRel, p.lseMaxRel);
    stats.lseBad |= p.lseBad;
  }
  // Sampling compares some (batch, head) pairs only; a NaN (the poison of an
  // element no program wrote) or infinity anywhere else must fail as well.
  stats.nan |= anyNotFinite(out, problem.bf16);
  stats.relL2 = std::sqrt(errSq / std::max(refSq, 1e-300));
  if (stats.nan)
    stats.relL2 = NAN;
  stats.pairsChecked = static_cast<int64_t>(heads.size());
  stats.pairsTotal = bh;
  return stats;
}
