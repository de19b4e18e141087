//===- Reference.h - float64 attention reference and errors -----*- C++ -*-===//
//
// The one reference every check compares with: the GPU runs (Runner.cpp)
// and the CPU interpreter of the tile level. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_RUNTIME_REFERENCE_H
#define FLASHC_RUNTIME_REFERENCE_H

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace flashc {

/// The score modifiers of an attention, as float64 functions of the
/// element's coordinates (the MLIR-based tools build them from the source's
/// regions; the runtime itself cannot).
struct ScoreModifiers {
  /// The score to use instead of `score` (the scaled one); null: unchanged.
  std::function<double(double score, int64_t b, int64_t h, int64_t q,
                       int64_t kv)>
      score;
  /// Whether query q sees key kv (with causal and the key length); null:
  /// every key.
  std::function<bool(int64_t b, int64_t h, int64_t q, int64_t kv)> mask;
};

/// A capture's host data: a memref's sizes and its elements in row-major
/// order, or a scalar (no sizes, one value).
struct HostCapture {
  std::vector<int64_t> sizes;
  std::vector<double> values;
};

struct AttentionProblem {
  int64_t batch = 1, heads = 1, seqQ = 1, seqK = 1, headDim = 64;
  /// K and V heads, a divisor of `heads` (grouped-query attention: query
  /// head h reads K/V head h / (heads / kvHeads)); 0: `heads`.
  int64_t kvHeads = 0;
  int64_t keyHeads() const { return kvHeads > 0 ? kvHeads : heads; }
  /// K/V's batch·head index for Q's `bh` = b·heads + h.
  int64_t keyBatchHead(int64_t bh) const {
    int64_t group = heads / keyHeads();
    return bh / heads * keyHeads() + bh % heads / group;
  }
  bool causal = false;
  /// Causal aligned bottom-right: key j is seen by query i if j <= i + seqK
  /// - seqQ (else top-left: j <= i).
  bool bottomRight = false;
  double scale = 0.125;
  bool bf16 = false;
  /// The batch index the modifiers see for batch 0 (a varlen sequence's
  /// index, when the problem is that sequence alone).
  int64_t firstBatch = 0;
  /// Optional; must outlive the comparison.
  const ScoreModifiers *modifiers = nullptr;
};

struct ErrorStats {
  double maxAbs = 0, relL2 = 0;
  /// A NaN or infinity anywhere in the output (every element is scanned,
  /// also when only some pairs are compared): the poison 0xFFFF left where
  /// a kernel wrote nothing is a NaN.
  bool nan = false;
  int64_t pairsChecked = 0, pairsTotal = 0;
  /// With an LSE compared: the largest |got - ref| / max(1, |ref|) over
  /// rows that see a key, and whether any row disagreed on seeing none
  /// (-inf) or is NaN.
  double lseMaxRel = 0;
  bool lseBad = false;
};

/// Seeded standard-normal values rounded to f16 or bf16 bits: drawn from
/// `rng` up to kSerialRandomInputs values; past that, in chunks drawn on
/// all cores from generators seeded by one draw of `rng` (the values do
/// not depend on the number of cores).
std::vector<uint16_t> randomInput(size_t count, std::mt19937_64 &rng,
                                  bool bf16);
constexpr size_t kSerialRandomInputs = size_t(1) << 22;

/// Compares `out` ([batch, heads, seqQ, headDim] bits; K and V [batch,
/// kvHeads, seqK, headDim]) with softmax(mod(scale · Q·Kᵀ) [masked]) · V in
/// float64 (rows that see no key: 0), and `lse` if
/// given ([batch, heads, seqQ]) with each row's log-sum-exp (-inf for rows
/// that see no key). Every (batch, head) pair when the reference costs at
/// most `maxWork` multiply-adds, else four of them (the first, the last and
/// two picked with `sampleSeed`), every row of each; the whole output is
/// scanned for NaN and infinity either way.
ErrorStats compareWithReference(const AttentionProblem &problem,
                                const std::vector<uint16_t> &q,
                                const std::vector<uint16_t> &k,
                                const std::vector<uint16_t> &v,
                                const std::vector<uint16_t> &out,
                                uint64_t sampleSeed, double maxWork = 4.0e9,
                                const std::vector<float> *lse = nullptr);

/// The relative L2 bound a result must meet: f16 2e-3, bf16 1e-2.
inline double errorBound(bool bf16) { return bf16 ? 1e-2 : 2e-3; }
/// The bound on an LSE's |error| / max(1, |value|).
constexpr double kLseBound = 1e-4;

} // namespace flashc

#endif // FLASHC_RUNTIME_REFERENCE_H
