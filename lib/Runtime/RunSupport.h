//===- RunSupport.h - what every checked run of a bundle needs --*- C++ -*-===//
//
// Private to the runtime's runner (Runner.cpp, PackedRuns.cpp): the loaded
// kernel and its device memory, CUDA-event timing, and the host layouts of
// strided runs. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_RUNTIME_RUNSUPPORT_H
#define FLASHC_LIB_RUNTIME_RUNSUPPORT_H

#include "flashc-c/runtime.h"
#include "flashc/Runtime/CudaDriver.h"
#include "flashc/Runtime/Runner.h"

#include <deque>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace flashc {

/// Device memory freed on scope exit.
struct DeviceBuffer {
  const CudaDriver *driver = nullptr;
  CUdeviceptr ptr = 0;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer() {
    if (ptr)
      driver->cuMemFree(ptr);
  }
};

/// A runtime on one device and one kernel loaded into it, destroyed in
/// that order's reverse; CUDA failures are reported to `err`.
class LoadedKernel {
public:
  explicit LoadedKernel(std::ostream &err) : err(err) {}
  /// Creates the runtime, loads `bundleText` and fixes its split count
  /// (`kvSplits`, 0: the runtime's choice).
  RunStatus open(const std::string &bundleText, int device, int64_t kvSplits);
  /// Whether `result` succeeded; else reports `what`.
  bool check(CUresult result, const char *what);
  /// Allocates `bytes` into `buffer` and copies `data` there (if given).
  bool upload(DeviceBuffer &buffer, const void *data, size_t bytes);
  /// The runtime's last error, reported.
  bool launchFailed();

  flashc_runtime *rt = nullptr;
  flashc_kernel *kernel = nullptr;
  const CudaDriver *driver = nullptr;
  std::ostream &err;

private:
  std::unique_ptr<flashc_runtime, void (*)(flashc_runtime *)> rtGuard{
      nullptr, flashc_runtime_destroy};
  std::unique_ptr<flashc_kernel, void (*)(flashc_kernel *)> kernelGuard{
      nullptr, flashc_kernel_destroy};
};

/// The captures' data (`hostCaptures`, one per capture of `bundle`) on the
/// device: each memref in a buffer of `buffers`, each scalar by value;
/// `captures` receives the launch's arguments.
bool uploadCaptures(LoadedKernel &loaded, const KernelBundle &bundle,
                    const std::vector<HostCapture> &hostCaptures,
                    std::deque<DeviceBuffer> &buffers,
                    std::vector<flashc_capture> &captures);

/// Three calls of `launch`, each on an output `out` of `elems` halves (and
/// an LSE `lse` of `lseValues.size()` floats, if allocated) poisoned with
/// 0xFF bytes (0xFFFF is a NaN in f16 and bf16), so that an element a
/// kernel does not write stays NaN. `first` and `lseValues` receive the
/// first run's results in the device's layout; `deterministic` says
/// whether all three outputs agree bit for bit.
bool launchThrice(LoadedKernel &loaded, const std::function<bool()> &launch,
                  const DeviceBuffer &out, size_t elems,
                  const DeviceBuffer &lse, std::vector<float> &lseValues,
                  std::vector<uint16_t> &first, bool &deterministic);

/// The median time in microseconds of `iters` calls of `launch` after
/// `warmup` more: one event pair a launch, all queued before one
/// synchronisation, so that the host's per-launch work overlaps the GPU's.
bool timeLaunches(LoadedKernel &loaded, const std::function<bool()> &launch,
                  int warmup, int iters, double &medianUs);

/// `x` ([batch, heads, seq, d] rows, the reference's order) in [batch, seq,
/// heads, d] order, the storage strided runs use; `back` undoes it.
std::vector<uint16_t> seqMajor(const std::vector<uint16_t> &x, int64_t batch,
                               int64_t heads, int64_t seq, int64_t d,
                               bool back = false);
/// The strides of a [batch, heads, seq, d] view of such storage.
void seqMajorStrides(int64_t *out, int64_t heads, int64_t seq, int64_t d);

/// Runs a varlen or paged bundle (RunOptions' seqLensQ, seqLensK and
/// pageSize), sequence by sequence against the float64 reference.
RunStatus runPackedBundle(const KernelBundle &bundle,
                          const std::string &bundleText,
                          const RunOptions &options, std::ostream &out,
                          std::ostream &err);

} // namespace flashc

#endif // FLASHC_LIB_RUNTIME_RUNSUPPORT_H
