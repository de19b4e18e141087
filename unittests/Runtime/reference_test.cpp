//===- reference_test.cpp - the float64 reference's checks, on the CPU ----===//
//
// compareWithReference samples four (batch, head) pairs of a large problem;
// a NaN (the poison of an element no kernel wrote) or an infinity anywhere
// in the output must still fail the check. No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "flashc/Runtime/Reference.h"
#include "flashc/Runtime/Runner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace flashc;

static int failures = 0;

static void expect(bool ok, const char *what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    ++failures;
}

int main() {
  for (bool bf16 : {false, true}) {
    AttentionProblem problem;
    problem.batch = 4;
    problem.heads = 16;
    problem.seqQ = problem.seqK = 8;
    problem.headDim = 64;
    problem.bf16 = bf16;
    size_t rowElems = problem.headDim;
    size_t elems =
        size_t(problem.batch * problem.heads * problem.seqQ) * rowElems;
    std::mt19937_64 rng(7);
    std::vector<uint16_t> q = randomInput(elems, rng, bf16);
    std::vector<uint16_t> k = randomInput(elems, rng, bf16);
    // Every V row the same: the exact output is that row, for any scores.
    std::vector<uint16_t> row = randomInput(rowElems, rng, bf16);
    std::vector<uint16_t> v(elems);
    for (size_t i = 0; i < elems; ++i)
      v[i] = row[i % rowElems];
    std::vector<uint16_t> out = v;
    // maxWork 1: sample 4 of the 64 pairs, as for a large problem.
    ErrorStats exact = compareWithReference(problem, q, k, v, out, 1, 1.0);
    expect(!exact.nan && exact.relL2 < 1e-6 && exact.pairsChecked <= 4 &&
               exact.pairsTotal == 64,
           bf16 ? "bf16: exact output passes, 4 of 64 pairs compared"
                : "f16: exact output passes, 4 of 64 pairs compared");
    int caught = 0, infCaught = 0;
    size_t pairElems = size_t(problem.seqQ) * rowElems;
    for (int pair = 0; pair < 64; ++pair) {
      std::vector<uint16_t> poisoned = out;
      poisoned[pair * pairElems + 5] = 0xFFFF; // the runner's poison
      caught += compareWithReference(problem, q, k, v, poisoned, 1, 1.0).nan;
      poisoned[pair * pairElems + 5] = bf16 ? 0x7F80 : 0x7C00; // +infinity
      infCaught += compareWithReference(problem, q, k, v, poisoned, 1, 1.0).nan;
    }
    expect(caught == 64,
           "a poisoned element in any pair fails, sampled or not");
    expect(infCaught == 64, "an infinity in any pair fails");
  }
  // Large inputs are drawn in chunks on all cores: the same seed gives the
  // same values, each chunk its own, all standard normal; small ones come
  // from the generator itself, as they always did.
  {
    size_t count = 3 * kSerialRandomInputs + 12345;
    std::mt19937_64 a(11), b(11);
    std::vector<uint16_t> x = randomInput(count, a, false);
    std::vector<uint16_t> y = randomInput(count, b, false);
    expect(x == y && a() == b(), "large random input: the same seed, the "
                                 "same values, the generator moved alike");
    expect(!std::equal(x.begin(), x.begin() + 1000,
                       x.begin() + kSerialRandomInputs),
           "large random input: chunks differ");
    double sum = 0, squares = 0;
    for (uint16_t bits : x) {
      double value = halfToFloat(bits);
      sum += value;
      squares += value * value;
    }
    double mean = sum / double(count), variance = squares / double(count);
    expect(std::abs(mean) < 1e-3 && std::abs(variance - 1) < 1e-2,
           "large random input: mean 0, variance 1");
    std::mt19937_64 serial(11), direct(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<uint16_t> small = randomInput(100, serial, true);
    bool same = true;
    for (uint16_t bits : small)
      same &= bits == floatToBFloat16(normal(direct));
    expect(same, "small random input: drawn from the generator itself");
  }
  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
