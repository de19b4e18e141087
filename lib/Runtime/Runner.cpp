//===- Runner.cpp - run a bundle on random inputs and check it ------------===//

#include "flashc/Runtime/Runner.h"

#include "flashc-c/runtime.h"
#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/Captures.h"
#include "flashc/Runtime/CudaDriver.h"
#include "flashc/Runtime/Reference.h"

#include "RunSupport.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <iomanip>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using namespace flashc;

uint16_t flashc::floatToHalf(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exponent = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) // inf or NaN
    return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31)
    return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10)
      return sign;
    mantissa |= 0x800000;
    uint32_t shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = sign | (exponent << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half;
  return static_cast<uint16_t>(half);
}

float flashc::halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t x;
  if (exponent == 0) {
    if (mantissa == 0) {
      x = sign;
    } else {
      exponent = 127 - 15 + 1;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        --exponent;
      }
      x = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
  } else if (exponent == 31) {
    x = sign | 0x7f800000 | (mantissa << 13);
  } else {
    x = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t flashc::floatToBFloat16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

float flashc::bfloat16ToFloat(uint16_t bits) {
  uint32_t x = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

bool flashc::chooseRunShape(const RunOptions &requested,
                            const RunShape &compiled, RunShape &shape,
                            std::string &error) {
  auto pick = [&](int64_t given, int64_t compiled, const char *flag,
                  int64_t &value) {
    if (given == 0 || given < -1) {
      error = std::string("--") + flag + " " + std::to_string(given) +
              ": must be at least 1";
      return false;
    }
    if (given > 0 && compiled > 0 && given != compiled) {
      error = std::string("--") + flag + " " + std::to_string(given) +
              " contradicts the kernel's static size " +
              std::to_string(compiled) +
              " (compile it with a dynamic size to choose it at run time)";
      return false;
    }
    value = given > 0 ? given : compiled;
    if (value < 1) {
      error = std::string("the kernel's ") + flag +
              " size is dynamic: give it with --" + flag;
      return false;
    }
    return true;
  };
  if (!pick(requested.batch, compiled.batch, "batch", shape.batch) ||
      !pick(requested.heads, compiled.heads, "heads", shape.heads) ||
      !pick(requested.seqQ, compiled.seqQ, "seq", shape.seqQ))
    return false;
  // The key length defaults to the query's, and K/V's heads to Q's, where
  // the kernel leaves them open.
  if (compiled.seqK < 1 && requested.seqK == -1)
    shape.seqK = shape.seqQ;
  else if (!pick(requested.seqK, compiled.seqK, "seq-k", shape.seqK))
    return false;
  if (compiled.kvHeads < 1 && requested.kvHeads == -1)
    shape.kvHeads = shape.heads;
  else if (!pick(requested.kvHeads, compiled.kvHeads, "kv-heads",
                 shape.kvHeads))
    return false;
  if (shape.heads % shape.kvHeads != 0) {
    error = "kv_heads " + std::to_string(shape.kvHeads) +
            " must divide heads " + std::to_string(shape.heads) +
            " (grouped-query attention; --kv-heads, --heads)";
    return false;
  }
  return true;
}

AttentionProblem flashc::attentionProblem(const KernelBundle &bundle,
                                          const RunShape &shape) {
  AttentionProblem problem;
  problem.batch = shape.batch;
  problem.heads = shape.heads;
  problem.kvHeads = shape.kvHeads;
  problem.seqQ = shape.seqQ;
  problem.seqK = shape.seqK;
  problem.headDim = bundle.headDim;
  problem.causal = bundle.causal;
  problem.bottomRight = bundle.bottomRight;
  problem.scale = bundle.scale;
  problem.bf16 = bundle.elementType == "bf16";
  return problem;
}

namespace {
/// One run of a bundle on the GPU: the runtime and kernel, seeded inputs on
/// both sides, and the checked launches and timings.
class BundleRun {
public:
  BundleRun(const KernelBundle &bundle, const flashc_shape &shape,
            std::ostream &err)
      : bundle(bundle), shape(shape), loaded(err),
        bf16(bundle.elementType == "bf16") {
    int64_t bh = shape.batch * shape.heads;
    qElems = static_cast<size_t>(bh * shape.seq_q * bundle.headDim);
    kElems = static_cast<size_t>(shape.batch * shape.kv_heads * shape.seq_k *
                                 bundle.headDim);
  }

  /// Loads the bundle and fixes its split count (`kvSplits`, 0: the
  /// runtime's choice).
  RunStatus open(const std::string &bundleText, int device, int64_t kvSplits) {
    return loaded.open(bundleText, device, kvSplits);
  }
  /// The split count the launches use.
  int64_t splits() {
    int64_t count = 1;
    flashc_kernel_kv_splits(loaded.kernel, &shape, &count);
    return count;
  }
  bool upload(uint64_t seed);
  /// The LSE output and the captures' data (`captures`, made by the
  /// caller), on the device.
  bool uploadExtras(const std::vector<HostCapture> &captures);
  /// Three launches on a poisoned output; `first` gets the first's output.
  bool launchThrice(std::vector<uint16_t> &first, bool &deterministic);
  /// The median of `iters` launches after `warmup`, in microseconds.
  bool time(int warmup, int iters, double &medianUs) {
    return timeLaunches(
        loaded, [this] { return launch(); }, warmup, iters, medianUs);
  }
  const char *deviceName() const {
    return flashc_runtime_device_name(loaded.rt);
  }

  std::vector<uint16_t> hq, hk, hv;
  /// The first launch's LSE, if the kernel writes one.
  std::vector<float> hlse;

private:
  bool launch() {
    // A strided kernel runs on [batch, seq, heads, head_dim] storage, read
    // through the strides of its [batch, heads, seq, head_dim] view.
    flashc_strides strides = {};
    if (bundle.strided) {
      int64_t d = bundle.headDim;
      seqMajorStrides(strides.q, shape.heads, shape.seq_q, d);
      seqMajorStrides(strides.k, shape.kv_heads, shape.seq_k, d);
      seqMajorStrides(strides.v, shape.kv_heads, shape.seq_k, d);
      seqMajorStrides(strides.o, shape.heads, shape.seq_q, d);
    }
    return flashc_kernel_launch_strided(
               loaded.kernel, &shape, bundle.strided ? &strides : nullptr,
               dq.ptr, dk.ptr, dv.ptr, dout.ptr, dlse.ptr, captures.data(),
               captures.size(), nullptr, nullptr) == FLASHC_OK ||
           loaded.launchFailed();
  }

  /// [batch, heads, seq, D] host data in the device's layout, and back:
  /// [batch, seq, heads, D] for a strided kernel, else unchanged.
  std::vector<uint16_t> toDevice(const std::vector<uint16_t> &x, int64_t heads,
                                 int64_t seq) const {
    return bundle.strided ? seqMajor(x, shape.batch, heads, seq, bundle.headDim)
                          : x;
  }
  std::vector<uint16_t> fromDevice(const std::vector<uint16_t> &x,
                                   int64_t heads, int64_t seq) const {
    return bundle.strided ? seqMajor(x, shape.batch, heads, seq, bundle.headDim,
                                     /*back=*/true)
                          : x;
  }

  const KernelBundle &bundle;
  flashc_shape shape;
  LoadedKernel loaded;
  bool bf16;
  size_t qElems = 0, kElems = 0;
  // Declared after the kernel: freed before it and the runtime.
  DeviceBuffer dq, dk, dv, dout, dlse;
  std::deque<DeviceBuffer> captureBuffers;
  std::vector<flashc_capture> captures;
};
} // namespace

bool BundleRun::upload(uint64_t seed) {
  // Seeded standard-normal inputs, rounded to the element type; the
  // reference sees exactly the rounded values.
  std::mt19937_64 rng(seed);
  hq = randomInput(qElems, rng, bf16);
  hk = randomInput(kElems, rng, bf16);
  hv = randomInput(kElems, rng, bf16);
  // The device holds a strided kernel's operands as [batch, seq, heads,
  // head_dim]; the reference reads [batch, heads, seq, head_dim].
  std::vector<uint16_t> q = toDevice(hq, shape.heads, shape.seq_q);
  std::vector<uint16_t> k = toDevice(hk, shape.kv_heads, shape.seq_k);
  std::vector<uint16_t> v = toDevice(hv, shape.kv_heads, shape.seq_k);
  return loaded.upload(dq, q.data(), qElems * 2) &&
         loaded.upload(dk, k.data(), kElems * 2) &&
         loaded.upload(dv, v.data(), kElems * 2) &&
         loaded.upload(dout, nullptr, qElems * 2);
}

bool BundleRun::uploadExtras(const std::vector<HostCapture> &hostCaptures) {
  if (bundle.lse) {
    size_t rows = qElems / bundle.headDim;
    hlse.assign(rows, 0.0f);
    if (!loaded.upload(dlse, nullptr, rows * 4))
      return false;
  }
  return uploadCaptures(loaded, bundle, hostCaptures, captureBuffers, captures);
}

bool BundleRun::launchThrice(std::vector<uint16_t> &first,
                             bool &deterministic) {
  if (!flashc::launchThrice(
          loaded, [this] { return launch(); }, dout, qElems, dlse, hlse, first,
          deterministic))
    return false;
  first = fromDevice(first, shape.heads, shape.seq_q);
  return true;
}

/// The report of a run, as `flashc --run` and flashc-run print it.
static void printReport(std::ostream &out, const char *device,
                        const KernelBundle &bundle, const flashc_shape &shape,
                        int64_t splits, bool forcedSplits,
                        const ErrorStats &stats, bool deterministic, int iters,
                        double medianUs, double tflops, bool passed) {
  double bound = errorBound(bundle.elementType == "bf16");
  out << std::setprecision(3);
  out << "device " << device << "\n";
  out << "kernel " << bundle.kernelName << " (" << bundle.arch << " PTX, "
      << bundle.elementType << ", head_dim " << bundle.headDim
      << (bundle.causal ? ", causal" : "")
      << (bundle.bottomRight ? " bottom-right" : "")
      << (bundle.modified ? ", modified scores" : "")
      << (bundle.lse ? ", LSE" : "")
      << (bundle.strided ? ", strided: run on [batch, seq, heads, head_dim]"
                           " storage"
                         : "")
      << ")\n";
  out << "shape batch=" << shape.batch << " heads=" << shape.heads;
  if (shape.kv_heads != shape.heads)
    out << " kv_heads=" << shape.kv_heads;
  out << " seq_q=" << shape.seq_q << " seq_k=" << shape.seq_k << "\n";
  if (bundle.kvSplits > 1)
    out << "kv_splits " << splits << " (of at most " << bundle.kvSplits
        << (forcedSplits ? ", fixed by --kv-splits" : ", chosen at launch")
        << ")\n";
  out << "checked " << stats.pairsChecked << " of " << stats.pairsTotal
      << " (batch, head) pairs against a float64 reference\n";
  out << "max_abs_error " << std::scientific << stats.maxAbs << " rel_l2_error "
      << stats.relL2 << " (bound " << bound << ")"
      << (stats.nan ? " NaN in output" : "") << std::defaultfloat << "\n";
  if (bundle.lse)
    out << "lse_max_rel_error " << std::scientific << stats.lseMaxRel
        << " (bound " << kLseBound << ")"
        << (stats.lseBad ? " WRONG -inf or NaN rows" : "") << std::defaultfloat
        << "\n";
  out << "deterministic " << (deterministic ? "yes" : "NO")
      << " (3 runs, bitwise)\n";
  if (iters > 0)
    out << "time_us " << std::fixed << std::setprecision(2) << medianUs
        << " (median of " << iters << ") tflops " << tflops << std::defaultfloat
        << "\n";
  out << (passed ? "PASS" : "FAIL") << "\n";
}

RunStatus flashc::runBundle(const std::string &bundleText,
                            const RunOptions &options, std::ostream &out,
                            std::ostream &err, RunReport *report) {
  KernelBundle bundle;
  std::string error;
  RunShape chosen;
  if (!parseBundle(bundleText, bundle, error)) {
    err << "flashc: error: " << error << "\n";
    return kRunError;
  }
  if (bundle.paged || bundle.varlen)
    return runPackedBundle(bundle, bundleText, options, out, err);
  if (!checkPlainSizes(options, error) ||
      !chooseRunShape(options,
                      {bundle.batch, bundle.heads, bundle.seqQ, bundle.seqK,
                       bundle.kvHeads},
                      chosen, error)) {
    err << "flashc: error: " << error << "\n";
    return kRunError;
  }
  flashc_shape shape;
  shape.batch = chosen.batch;
  shape.heads = chosen.heads;
  shape.seq_q = chosen.seqQ;
  shape.seq_k = chosen.seqK;
  shape.kv_heads = chosen.kvHeads;

  if (bundle.modified && !options.modifiers) {
    err << "flashc: error: the kernel modifies its scores (score_mod, "
           "mask_mod): its float64 reference needs the source's regions; "
           "run the source with `flashc FILE --run`\n";
    return kRunError;
  }
  std::vector<HostCapture> hostCaptures;
  if (!makeHostCaptures(bundle, options.seed + 2, hostCaptures, error)) {
    err << "flashc: error: " << error << "\n";
    return kRunError;
  }

  BundleRun run(bundle, shape, err);
  if (RunStatus status = run.open(bundleText, options.device, options.kvSplits);
      status != kRunPassed)
    return status;
  std::vector<uint16_t> first;
  bool deterministic = true;
  if (!run.upload(options.seed) || !run.uploadExtras(hostCaptures) ||
      !run.launchThrice(first, deterministic))
    return kRunError;

  AttentionProblem problem = attentionProblem(bundle, chosen);
  ScoreModifiers modifiers;
  if (options.modifiers) {
    modifiers = options.modifiers(hostCaptures, shape.seq_q, shape.seq_k);
    problem.modifiers = &modifiers;
  }
  ErrorStats stats = compareWithReference(problem, run.hq, run.hk, run.hv,
                                          first, options.seed + 1, 4.0e9,
                                          bundle.lse ? &run.hlse : nullptr);
  bool accurate = !stats.nan && stats.relL2 < errorBound(problem.bf16) &&
                  !stats.lseBad && stats.lseMaxRel <= kLseBound;

  double medianUs = 0;
  if (options.iters > 0 && !run.time(options.warmup, options.iters, medianUs))
    return kRunError;
  double flops = 4.0 * shape.batch * shape.heads * shape.seq_q * shape.seq_k *
                 bundle.headDim;
  if (bundle.causal && shape.seq_q == shape.seq_k)
    flops /= 2;
  double tflops = medianUs > 0 ? flops / (medianUs * 1e-6) / 1e12 : 0;
  bool passed = accurate && deterministic;
  printReport(out, run.deviceName(), bundle, shape, run.splits(),
              options.kvSplits > 0, stats, deterministic, options.iters,
              medianUs, tflops, passed);
  if (report) {
    report->relL2 = stats.relL2;
    report->maxAbs = stats.maxAbs;
    report->medianUs = medianUs;
    report->tflops = tflops;
    report->accurate = accurate;
    report->deterministic = deterministic;
  }
  return passed ? kRunPassed : kRunFailed;
}
