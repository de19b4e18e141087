//===- Runner.cpp - run a bundle on random inputs and check it ------------===//

#include "flashc/Runtime/Runner.h"

#include "flashc-c/runtime.h"
#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/CudaDriver.h"
#include "flashc/Runtime/Reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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
} // namespace

RunStatus flashc::runBundle(const std::string &bundleText,
                            const RunOptions &options, std::ostream &out,
                            std::ostream &err, RunReport *report) {
  KernelBundle bundle;
  std::string error;
  if (!parseBundle(bundleText, bundle, error)) {
    err << "flashc: error: " << error << "\n";
    return kRunError;
  }
  auto pick = [&](int64_t requested, int64_t compiled, const char *name,
                  int64_t &value) {
    value = requested >= 0 ? requested : compiled;
    if (value < 1) {
      err << "flashc: error: " << name
          << " is dynamic in the kernel: give it with --" << name << "\n";
      return false;
    }
    return true;
  };
  flashc_shape shape;
  if (!pick(options.batch, bundle.batch, "batch", shape.batch) ||
      !pick(options.heads, bundle.heads, "heads", shape.heads) ||
      !pick(options.seqQ, bundle.seqQ, "seq", shape.seq_q))
    return kRunError;
  shape.seq_k = options.seqK >= 0  ? options.seqK
                : bundle.seqK >= 0 ? bundle.seqK
                                   : shape.seq_q;

  flashc_runtime *rt = nullptr;
  flashc_status status = flashc_runtime_create(options.device, &rt);
  std::unique_ptr<flashc_runtime, void (*)(flashc_runtime *)> rtGuard(
      rt, flashc_runtime_destroy);
  if (status != FLASHC_OK) {
    err << "flashc: cannot run: " << flashc_runtime_last_error(rt) << "\n";
    return status == FLASHC_ERROR_NO_DRIVER || status == FLASHC_ERROR_NO_DEVICE
               ? kRunNoDevice
               : kRunError;
  }
  flashc_kernel *kernel = nullptr;
  if (flashc_kernel_load(rt, bundleText.data(), bundleText.size(), &kernel) !=
      FLASHC_OK) {
    err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
    return kRunError;
  }
  std::unique_ptr<flashc_kernel, void (*)(flashc_kernel *)> kernelGuard(
      kernel, flashc_kernel_destroy);
  const CudaDriver *driver = CudaDriver::open(error);

  bool bf16 = bundle.elementType == "bf16";
  int64_t d = bundle.headDim;
  int64_t bh = shape.batch * shape.heads;
  size_t qElems = static_cast<size_t>(bh * shape.seq_q * d);
  size_t kElems = static_cast<size_t>(bh * shape.seq_k * d);

  // Seeded standard-normal inputs, rounded to the element type; the
  // reference sees exactly the rounded values.
  std::mt19937_64 rng(options.seed);
  std::vector<uint16_t> hq = randomInput(qElems, rng, bf16);
  std::vector<uint16_t> hk = randomInput(kElems, rng, bf16);
  std::vector<uint16_t> hv = randomInput(kElems, rng, bf16);
  std::vector<uint16_t> ho(qElems);

  DeviceBuffer dq{driver}, dk{driver}, dv{driver}, dout{driver};
  auto checkCuda = [&](CUresult result, const char *what) {
    if (result == CUDA_SUCCESS)
      return true;
    err << "flashc: error: " << what << " failed: " << driver->describe(result)
        << "\n";
    return false;
  };
  if (!checkCuda(driver->cuMemAlloc(&dq.ptr, qElems * 2), "cuMemAlloc") ||
      !checkCuda(driver->cuMemAlloc(&dk.ptr, kElems * 2), "cuMemAlloc") ||
      !checkCuda(driver->cuMemAlloc(&dv.ptr, kElems * 2), "cuMemAlloc") ||
      !checkCuda(driver->cuMemAlloc(&dout.ptr, qElems * 2), "cuMemAlloc") ||
      !checkCuda(driver->cuMemcpyHtoD(dq.ptr, hq.data(), qElems * 2),
                 "cuMemcpyHtoD") ||
      !checkCuda(driver->cuMemcpyHtoD(dk.ptr, hk.data(), kElems * 2),
                 "cuMemcpyHtoD") ||
      !checkCuda(driver->cuMemcpyHtoD(dv.ptr, hv.data(), kElems * 2),
                 "cuMemcpyHtoD"))
    return kRunError;

  // Three runs on a poisoned output (0xFFFF is a NaN in f16 and bf16): each
  // must write every element, and all three must agree bit for bit.
  std::vector<uint16_t> first;
  bool deterministic = true;
  for (int run = 0; run < 3; ++run) {
    if (!checkCuda(driver->cuMemsetD8(dout.ptr, 0xff, qElems * 2),
                   "cuMemsetD8"))
      return kRunError;
    if (flashc_kernel_launch(kernel, &shape, dq.ptr, dk.ptr, dv.ptr, dout.ptr,
                             nullptr) != FLASHC_OK) {
      err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
      return kRunError;
    }
    if (!checkCuda(driver->cuCtxSynchronize(), "kernel execution") ||
        !checkCuda(driver->cuMemcpyDtoH(ho.data(), dout.ptr, qElems * 2),
                   "cuMemcpyDtoH"))
      return kRunError;
    if (run == 0)
      first = ho;
    else if (ho != first)
      deterministic = false;
  }

  AttentionProblem problem;
  problem.batch = shape.batch;
  problem.heads = shape.heads;
  problem.seqQ = shape.seq_q;
  problem.seqK = shape.seq_k;
  problem.headDim = d;
  problem.causal = bundle.causal;
  problem.scale = bundle.scale;
  problem.bf16 = bf16;
  ErrorStats total =
      compareWithReference(problem, hq, hk, hv, first, options.seed + 1);
  double relL2 = total.relL2;
  double bound = errorBound(bf16);
  bool accurate = !total.nan && relL2 < bound;

  // Timing: CUDA events around each launch, median of `iters`.
  double medianUs = 0;
  if (options.iters > 0) {
    // One event pair per launch, all queued before one synchronisation, so
    // that the host's per-launch work (argument checks) overlaps the GPU's
    // and only kernel time lands between the events.
    int total = options.warmup + options.iters;
    std::vector<CUevent> events(2 * total, nullptr);
    bool ok = true;
    for (CUevent &event : events)
      ok = ok && checkCuda(driver->cuEventCreate(&event, 0), "cuEventCreate");
    for (int it = 0; ok && it < total; ++it) {
      ok = checkCuda(driver->cuEventRecord(events[2 * it], nullptr),
                     "cuEventRecord");
      if (ok && flashc_kernel_launch(kernel, &shape, dq.ptr, dk.ptr, dv.ptr,
                                     dout.ptr, nullptr) != FLASHC_OK) {
        err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
        ok = false;
      }
      ok = ok && checkCuda(driver->cuEventRecord(events[2 * it + 1], nullptr),
                           "cuEventRecord");
    }
    ok = ok && checkCuda(driver->cuCtxSynchronize(), "kernel execution");
    std::vector<float> times;
    for (int it = options.warmup; ok && it < total; ++it) {
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
      return kRunError;
    std::sort(times.begin(), times.end());
    medianUs = 1000.0 * times[times.size() / 2];
  }
  double flops = 4.0 * bh * shape.seq_q * shape.seq_k * d;
  if (bundle.causal && shape.seq_q == shape.seq_k)
    flops /= 2;

  bool passed = accurate && deterministic;
  out << std::setprecision(3);
  out << "device " << flashc_runtime_device_name(rt) << "\n";
  out << "kernel " << bundle.kernelName << " (" << bundle.arch << " PTX, "
      << bundle.elementType << ", head_dim " << d
      << (bundle.causal ? ", causal" : "") << ")\n";
  out << "shape batch=" << shape.batch << " heads=" << shape.heads
      << " seq_q=" << shape.seq_q << " seq_k=" << shape.seq_k << "\n";
  out << "checked " << total.pairsChecked << " of " << bh
      << " (batch, head) pairs against a float64 reference\n";
  out << "max_abs_error " << std::scientific << total.maxAbs << " rel_l2_error "
      << relL2 << " (bound " << bound << ")"
      << (total.nan ? " NaN in output" : "") << std::defaultfloat << "\n";
  out << "deterministic " << (deterministic ? "yes" : "NO")
      << " (3 runs, bitwise)\n";
  if (options.iters > 0)
    out << "time_us " << std::fixed << std::setprecision(2) << medianUs
        << " (median of " << options.iters << ") tflops "
        << flops / (medianUs * 1e-6) / 1e12 << std::defaultfloat << "\n";
  out << (passed ? "PASS" : "FAIL") << "\n";
  if (report) {
    report->relL2 = relL2;
    report->maxAbs = total.maxAbs;
    report->medianUs = medianUs;
    report->tflops = medianUs > 0 ? flops / (medianUs * 1e-6) / 1e12 : 0;
    report->accurate = accurate;
    report->deterministic = deterministic;
  }
  return passed ? kRunPassed : kRunFailed;
}
