//===- Runner.cpp - run a bundle on random inputs and check it ------------===//

#include "flashc/Runtime/Runner.h"

#include "flashc-c/runtime.h"
#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/Captures.h"
#include "flashc/Runtime/CudaDriver.h"
#include "flashc/Runtime/Reference.h"

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
/// Device memory freed on scope exit.
struct DeviceBuffer {
  const CudaDriver *driver = nullptr;
  CUdeviceptr ptr = 0;
  ~DeviceBuffer() {
    if (ptr)
      driver->cuMemFree(ptr);
  }
};

/// One run of a bundle on the GPU: the runtime and kernel, seeded inputs on
/// both sides, and the checked launches and timings.
class BundleRun {
public:
  BundleRun(const KernelBundle &bundle, const flashc_shape &shape,
            std::ostream &err)
      : bundle(bundle), shape(shape), err(err),
        bf16(bundle.elementType == "bf16") {
    int64_t bh = shape.batch * shape.heads;
    qElems = static_cast<size_t>(bh * shape.seq_q * bundle.headDim);
    kElems = static_cast<size_t>(shape.batch * shape.kv_heads * shape.seq_k *
                                 bundle.headDim);
  }

  /// Loads the bundle and fixes its split count (`kvSplits`, 0: the
  /// runtime's choice).
  RunStatus open(const std::string &bundleText, int device, int64_t kvSplits);
  /// The split count the launches use.
  int64_t splits() {
    int64_t count = 1;
    flashc_kernel_kv_splits(kernel, &shape, &count);
    return count;
  }
  bool upload(uint64_t seed);
  /// The LSE output and the captures' data (`captures`, made by the
  /// caller), on the device.
  bool uploadExtras(const std::vector<HostCapture> &captures);
  /// Three launches on a poisoned output; `first` gets the first's output.
  bool launchThrice(std::vector<uint16_t> &first, bool &deterministic);
  /// The median of `iters` launches after `warmup`, in microseconds.
  bool time(int warmup, int iters, double &medianUs);
  const char *deviceName() const { return flashc_runtime_device_name(rt); }

  std::vector<uint16_t> hq, hk, hv;
  /// The first launch's LSE, if the kernel writes one.
  std::vector<float> hlse;

private:
  bool checkCuda(CUresult result, const char *what) {
    if (result == CUDA_SUCCESS)
      return true;
    err << "flashc: error: " << what << " failed: " << driver->describe(result)
        << "\n";
    return false;
  }
  bool launch() {
    // A strided kernel runs on [batch, seq, heads, head_dim] storage, read
    // through the strides of its [batch, heads, seq, head_dim] view.
    flashc_strides strides = {};
    if (bundle.strided) {
      int64_t d = bundle.headDim;
      auto bshd = [d](int64_t *out, int64_t heads, int64_t seq) {
        out[0] = seq * heads * d;
        out[1] = d;
        out[2] = heads * d;
        out[3] = 1;
      };
      bshd(strides.q, shape.heads, shape.seq_q);
      bshd(strides.k, shape.kv_heads, shape.seq_k);
      bshd(strides.v, shape.kv_heads, shape.seq_k);
      bshd(strides.o, shape.heads, shape.seq_q);
    }
    if (flashc_kernel_launch_strided(
            kernel, &shape, bundle.strided ? &strides : nullptr, dq.ptr, dk.ptr,
            dv.ptr, dout.ptr, dlse.ptr, captures.data(), captures.size(),
            nullptr, nullptr) == FLASHC_OK)
      return true;
    err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
    return false;
  }

  /// [batch, heads, seq, D] host data in the device's layout, and back:
  /// [batch, seq, heads, D] for a strided kernel, else unchanged.
  std::vector<uint16_t> permuted(const std::vector<uint16_t> &x, int64_t heads,
                                 int64_t seq, bool toSeqMajor) const {
    if (!bundle.strided)
      return x;
    int64_t d = bundle.headDim;
    std::vector<uint16_t> out(x.size());
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t s = 0; s < seq; ++s) {
          size_t headMajor = size_t(((b * heads + h) * seq + s) * d);
          size_t seqMajor = size_t(((b * seq + s) * heads + h) * d);
          std::copy_n(&x[toSeqMajor ? headMajor : seqMajor], d,
                      &out[toSeqMajor ? seqMajor : headMajor]);
        }
    return out;
  }
  std::vector<uint16_t> toDevice(const std::vector<uint16_t> &x, int64_t heads,
                                 int64_t seq) const {
    return permuted(x, heads, seq, true);
  }
  std::vector<uint16_t> fromDevice(const std::vector<uint16_t> &x,
                                   int64_t heads, int64_t seq) const {
    return permuted(x, heads, seq, false);
  }

  const KernelBundle &bundle;
  flashc_shape shape;
  std::ostream &err;
  bool bf16;
  size_t qElems = 0, kElems = 0;
  flashc_runtime *rt = nullptr;
  std::unique_ptr<flashc_runtime, void (*)(flashc_runtime *)> rtGuard{
      nullptr, flashc_runtime_destroy};
  flashc_kernel *kernel = nullptr;
  std::unique_ptr<flashc_kernel, void (*)(flashc_kernel *)> kernelGuard{
      nullptr, flashc_kernel_destroy};
  const CudaDriver *driver = nullptr;
  // Declared after the guards: freed before the kernel and the runtime.
  DeviceBuffer dq, dk, dv, dout, dlse;
  std::deque<DeviceBuffer> captureBuffers;
  std::vector<flashc_capture> captures;
};
} // namespace

RunStatus BundleRun::open(const std::string &bundleText, int device,
                          int64_t kvSplits) {
  flashc_status status = flashc_runtime_create(device, &rt);
  rtGuard.reset(rt);
  if (status != FLASHC_OK) {
    err << "flashc: cannot run: " << flashc_runtime_last_error(rt) << "\n";
    return status == FLASHC_ERROR_NO_DRIVER || status == FLASHC_ERROR_NO_DEVICE
               ? kRunNoDevice
               : kRunError;
  }
  if (flashc_kernel_load(rt, bundleText.data(), bundleText.size(), &kernel) !=
      FLASHC_OK) {
    err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
    return kRunError;
  }
  kernelGuard.reset(kernel);
  if (flashc_kernel_set_kv_splits(kernel, kvSplits) != FLASHC_OK) {
    err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
    return kRunError;
  }
  std::string error;
  driver = CudaDriver::open(error);
  for (DeviceBuffer *buffer : {&dq, &dk, &dv, &dout, &dlse})
    buffer->driver = driver;
  return kRunPassed;
}

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
  return checkCuda(driver->cuMemAlloc(&dq.ptr, qElems * 2), "cuMemAlloc") &&
         checkCuda(driver->cuMemAlloc(&dk.ptr, kElems * 2), "cuMemAlloc") &&
         checkCuda(driver->cuMemAlloc(&dv.ptr, kElems * 2), "cuMemAlloc") &&
         checkCuda(driver->cuMemAlloc(&dout.ptr, qElems * 2), "cuMemAlloc") &&
         checkCuda(driver->cuMemcpyHtoD(dq.ptr, q.data(), qElems * 2),
                   "cuMemcpyHtoD") &&
         checkCuda(driver->cuMemcpyHtoD(dk.ptr, k.data(), kElems * 2),
                   "cuMemcpyHtoD") &&
         checkCuda(driver->cuMemcpyHtoD(dv.ptr, v.data(), kElems * 2),
                   "cuMemcpyHtoD");
}

bool BundleRun::uploadExtras(const std::vector<HostCapture> &hostCaptures) {
  if (bundle.lse) {
    size_t rows = qElems / bundle.headDim;
    hlse.assign(rows, 0.0f);
    if (!checkCuda(driver->cuMemAlloc(&dlse.ptr, rows * 4), "cuMemAlloc"))
      return false;
  }
  for (size_t i = 0; i < hostCaptures.size(); ++i) {
    const CaptureInfo &info = bundle.captures[i];
    flashc_capture capture = {};
    if (info.memref) {
      std::vector<uint8_t> bytes = encodeCapture(info, hostCaptures[i]);
      DeviceBuffer &buffer = captureBuffers.emplace_back();
      buffer.driver = driver;
      if (!checkCuda(driver->cuMemAlloc(&buffer.ptr, bytes.size()),
                     "cuMemAlloc") ||
          !checkCuda(
              driver->cuMemcpyHtoD(buffer.ptr, bytes.data(), bytes.size()),
              "cuMemcpyHtoD"))
        return false;
      capture.data = buffer.ptr;
      for (size_t d = 0; d < info.sizes.size(); ++d)
        capture.sizes[d] = hostCaptures[i].sizes[d];
    } else {
      capture.int_value = static_cast<int64_t>(hostCaptures[i].values[0]);
      capture.float_value = hostCaptures[i].values[0];
    }
    captures.push_back(capture);
  }
  return true;
}

bool BundleRun::launchThrice(std::vector<uint16_t> &first,
                             bool &deterministic) {
  // A poisoned output (0xFFFF is a NaN in f16 and bf16): each run must
  // write every element, and all three must agree bit for bit.
  std::vector<uint16_t> ho(qElems);
  deterministic = true;
  for (int run = 0; run < 3; ++run) {
    if (!checkCuda(driver->cuMemsetD8(dout.ptr, 0xff, qElems * 2),
                   "cuMemsetD8") ||
        (dlse.ptr &&
         !checkCuda(driver->cuMemsetD8(dlse.ptr, 0xff, hlse.size() * 4),
                    "cuMemsetD8")) ||
        !launch() ||
        !checkCuda(driver->cuCtxSynchronize(), "kernel execution") ||
        !checkCuda(driver->cuMemcpyDtoH(ho.data(), dout.ptr, qElems * 2),
                   "cuMemcpyDtoH"))
      return false;
    if (run == 0 && dlse.ptr &&
        !checkCuda(driver->cuMemcpyDtoH(hlse.data(), dlse.ptr, hlse.size() * 4),
                   "cuMemcpyDtoH"))
      return false;
    if (run == 0)
      first = fromDevice(ho, shape.heads, shape.seq_q);
    else if (fromDevice(ho, shape.heads, shape.seq_q) != first)
      deterministic = false;
  }
  return true;
}

bool BundleRun::time(int warmup, int iters, double &medianUs) {
  // One event pair per launch, all queued before one synchronisation, so
  // that the host's per-launch work (argument checks) overlaps the GPU's
  // and only kernel time lands between the events.
  int total = warmup + iters;
  std::vector<CUevent> events(2 * total, nullptr);
  bool ok = true;
  for (CUevent &event : events)
    ok = ok && checkCuda(driver->cuEventCreate(&event, 0), "cuEventCreate");
  for (int it = 0; ok && it < total; ++it)
    ok = checkCuda(driver->cuEventRecord(events[2 * it], nullptr),
                   "cuEventRecord") &&
         launch() &&
         checkCuda(driver->cuEventRecord(events[2 * it + 1], nullptr),
                   "cuEventRecord");
  ok = ok && checkCuda(driver->cuCtxSynchronize(), "kernel execution");
  std::vector<float> times;
  for (int it = warmup; ok && it < total; ++it) {
    float ms = 0;
    ok = checkCuda(
        driver->cuEventElapsedTime(&ms, events[2 * it], events[2 * it + 1]),
        "cuEventElapsedTime");
    times.push_back(ms);
  }
  for (CUevent event : events)
    if (event)
      driver->cuEventDestroy(event);
  if (!ok)
    return false;
  std::sort(times.begin(), times.end());
  medianUs = 1000.0 * times[times.size() / 2];
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
  if (bundle.paged) {
    err << "flashc: error: the kernel reads a paged K/V cache: runs do not "
           "make caches yet; launch it with flashc_kernel_launch_paged "
           "(Python: flashc.paged_attention)\n";
    return kRunError;
  }
  if (bundle.varlen) {
    err << "flashc: error: the kernel is varlen (packed sequences bounded "
           "by cu_seqlens): runs do not make packed batches yet; launch it "
           "with flashc_kernel_launch_varlen (Python: "
           "flashc.varlen_attention)\n";
    return kRunError;
  }
  if (!chooseRunShape(options,
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
