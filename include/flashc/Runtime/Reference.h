//===- Reference.h - float64 attention reference and errors -----*- C++ -*-===//
//
// The one reference every check compares with: the GPU runs (Runner.cpp)
// and the CPU interpreter of the tile level. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_RUNTIME_REFERENCE_H
#define FLASHC_RUNTIME_REFERENCE_H

#include <cstdint>
#include <random>
#include <vector>

namespace flashc {

struct AttentionProblem {
  int64_t batch = 1, heads = 1, seqQ = 1, seqK = 1, headDim = 64;
  bool causal = false;
  double scale = 0.125;
  bool bf16 = false;
};

struct ErrorStats {
  double maxAbs = 0, relL2 = 0;
  /// A NaN or infinity anywhere in the output (every element is scanned,
  /// also when only some pairs are compared): the poison 0xFFFF left where
  /// a kernel wrote nothing is a NaN.
  bool nan = false;
  int64_t pairsChecked = 0, pairsTotal = 0;
};

/// Seeded standard-normal values rounded to f16 or bf16 bits.
std::vector<uint16_t> randomInput(size_t count, std::mt19937_64 &rng,
                                  bool bf16);

/// Compares `out` ([batch, heads, seqQ, headDim] bits) with softmax(scale ·
/// Q·Kᵀ [causal: j <= i]) · V in float64. Every (batch, head) pair when the
/// reference costs at most `maxWork` multiply-adds, else four of them (the
/// first, the last and two picked with `sampleSeed`), every row of each;
/// the whole output is scanned for NaN and infinity either way.
ErrorStats compareWithReference(const AttentionProblem &problem,
                                const std::vector<uint16_t> &q,
                                const std::vector<uint16_t> &k,
                                const std::vector<uint16_t> &v,
                                const std::vector<uint16_t> &out,
                                uint64_t sampleSeed, double maxWork = 4.0e9);

/// The relative L2 bound a result must meet: f16 2e-3, bf16 1e-2.
inline double errorBound(bool bf16) { return bf16 ? 1e-2 : 2e-3; }

} // namespace flashc

#endif // FLASHC_RUNTIME_REFERENCE_H
