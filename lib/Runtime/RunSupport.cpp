//===- RunSupport.cpp - what every checked run of a bundle needs ----------===//

#include "RunSupport.h"

#include "flashc/Runtime/Captures.h"

#include <algorithm>

using namespace flashc;

RunStatus LoadedKernel::open(const std::string &bundleText, int device,
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
  return kRunPassed;
}

bool LoadedKernel::check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return true;
  err << "flashc: error: " << what << " failed: " << driver->describe(result)
      << "\n";
  return false;
}

bool LoadedKernel::upload(DeviceBuffer &buffer, const void *data,
                          size_t bytes) {
  buffer.driver = driver;
  return check(driver->cuMemAlloc(&buffer.ptr, std::max<size_t>(bytes, 1)),
               "cuMemAlloc") &&
         (!data || bytes == 0 ||
          check(driver->cuMemcpyHtoD(buffer.ptr, data, bytes), "cuMemcpyHtoD"));
}

bool LoadedKernel::launchFailed() {
  err << "flashc: error: " << flashc_runtime_last_error(rt) << "\n";
  return false;
}

bool flashc::uploadCaptures(LoadedKernel &loaded, const KernelBundle &bundle,
                            const std::vector<HostCapture> &hostCaptures,
                            std::deque<DeviceBuffer> &buffers,
                            std::vector<flashc_capture> &captures) {
  for (size_t i = 0; i < hostCaptures.size(); ++i) {
    const CaptureInfo &info = bundle.captures[i];
    flashc_capture capture = {};
    if (info.memref) {
      std::vector<uint8_t> bytes = encodeCapture(info, hostCaptures[i]);
      DeviceBuffer &buffer = buffers.emplace_back();
      if (!loaded.upload(buffer, bytes.data(), bytes.size()))
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

bool flashc::launchThrice(LoadedKernel &loaded,
                          const std::function<bool()> &launch,
                          const DeviceBuffer &out, size_t elems,
                          const DeviceBuffer &lse,
                          std::vector<float> &lseValues,
                          std::vector<uint16_t> &first, bool &deterministic) {
  const CudaDriver *driver = loaded.driver;
  std::vector<uint16_t> got(elems);
  deterministic = true;
  for (int run = 0; run < 3; ++run) {
    if (!loaded.check(driver->cuMemsetD8(out.ptr, 0xff, elems * 2),
                      "cuMemsetD8") ||
        (lse.ptr &&
         !loaded.check(driver->cuMemsetD8(lse.ptr, 0xff, lseValues.size() * 4),
                       "cuMemsetD8")) ||
        !launch() ||
        !loaded.check(driver->cuCtxSynchronize(), "kernel execution") ||
        !loaded.check(driver->cuMemcpyDtoH(got.data(), out.ptr, elems * 2),
                      "cuMemcpyDtoH"))
      return false;
    if (run == 0 && lse.ptr &&
        !loaded.check(driver->cuMemcpyDtoH(lseValues.data(), lse.ptr,
                                           lseValues.size() * 4),
                      "cuMemcpyDtoH"))
      return false;
    if (run == 0)
      first = got;
    else if (got != first)
      deterministic = false;
  }
  return true;
}

bool flashc::timeLaunches(LoadedKernel &loaded,
                          const std::function<bool()> &launch, int warmup,
                          int iters, double &medianUs) {
  const CudaDriver *driver = loaded.driver;
  int total = warmup + iters;
  std::vector<CUevent> events(2 * total, nullptr);
  bool ok = true;
  for (CUevent &event : events)
    ok = ok && loaded.check(driver->cuEventCreate(&event, 0), "cuEventCreate");
  for (int it = 0; ok && it < total; ++it)
    ok = loaded.check(driver->cuEventRecord(events[2 * it], nullptr),
                      "cuEventRecord") &&
         launch() &&
         loaded.check(driver->cuEventRecord(events[2 * it + 1], nullptr),
                      "cuEventRecord");
  ok = ok && loaded.check(driver->cuCtxSynchronize(), "kernel execution");
  std::vector<float> times;
  for (int it = warmup; ok && it < total; ++it) {
    float ms = 0;
    ok = loaded.check(
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

std::vector<uint16_t> flashc::seqMajor(const std::vector<uint16_t> &x,
                                       int64_t batch, int64_t heads,
                                       int64_t seq, int64_t d, bool back) {
  std::vector<uint16_t> out(x.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t s = 0; s < seq; ++s) {
        size_t headMajor = size_t(((b * heads + h) * seq + s) * d);
        size_t seqMajorAt = size_t(((b * seq + s) * heads + h) * d);
        std::copy_n(&x[back ? seqMajorAt : headMajor], d,
                    &out[back ? headMajor : seqMajorAt]);
      }
  return out;
}

void flashc::seqMajorStrides(int64_t *out, int64_t heads, int64_t seq,
                             int64_t d) {
  out[0] = seq * heads * d;
  out[1] = d;
  out[2] = heads * d;
  out[3] = 1;
}
