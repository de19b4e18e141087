//===- RuntimeObjects.h - the runtime's handles and launch steps -*- C++
//-*-===//
//
// Private to the runtime: what the C API's opaque handles hold, the kernel
// parameters a launch builds, and the launch steps that Runtime.cpp and
// PackedLaunches.cpp share. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_RUNTIME_RUNTIMEOBJECTS_H
#define FLASHC_LIB_RUNTIME_RUNTIMEOBJECTS_H

#include "flashc-c/runtime.h"
#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/CudaDriver.h"

#include "SplitWorkspaces.h"

#include <cstring>
#include <deque>
#include <string>
#include <vector>

struct flashc_runtime {
  const flashc::CudaDriver *driver = nullptr;
  flashc::CUdevice device = 0;
  flashc::CUcontext context = nullptr;
  bool retained = false;
  int major = 0, minor = 0;
  int multiprocessors = 0, sharedBytesPerSM = 0;
  std::string deviceName;
  std::string error;

  flashc_status fail(flashc_status status, std::string message) {
    error = std::move(message);
    return status;
  }
  /// Checks a driver call; on failure records `what` and the flashc::CUresult.
  bool check(flashc::CUresult result, const char *what) {
    if (result == flashc::CUDA_SUCCESS)
      return true;
    error = std::string(what) + " failed: " + driver->describe(result);
    return false;
  }
  /// Makes the runtime's context the calling thread's: the driver's current
  /// context is per thread, and a caller may load or launch from a thread
  /// that has made no CUDA call yet (PyTorch's autograd runs a backward on
  /// a thread of its own).
  bool makeCurrent() {
    return check(driver->cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }
};

struct flashc_block_map {
  flashc_runtime *runtime = nullptr;
  flashc::CUdeviceptr data = 0;
  int64_t entries = 0;
  /// What a launch must match to use it (mapKey).
  std::vector<int64_t> key;
};

struct flashc_kernel {
  flashc_runtime *runtime = nullptr;
  flashc::KernelBundle bundle;
  flashc::CUmodule module = nullptr;
  flashc::CUfunction function = nullptr;
  /// The block-map kernel, if any, and its map (grown on demand).
  flashc::CUfunction blockMapFunction = nullptr;
  flashc::CUdeviceptr blockMap = 0;
  size_t blockMapBytes = 0;
  /// kv_splits > 1: the split count flashc_kernel_set_kv_splits fixed (0:
  /// chosen per launch), and the split workspaces, one per stream.
  int64_t forcedSplits = 0;
  flashc::SplitWorkspaces workspaces;
};

namespace flashc {

/// A CUDA tensor map (cuda.h's CUtensorMap): 128 opaque bytes, aligned as
/// cuda.h aligns it.
struct alignas(128) TensorMap {
  uint64_t words[16];
};

/// The kernel's parameters (docs/Bundle.md): memref descriptors expanded
/// to allocated, aligned, offset, sizes[rank], strides[rank], and scalars.
/// Every value gets an 8-byte slot (a 4-byte scalar in its first bytes:
/// the driver reads as many bytes as the parameter has); the slots live
/// here, in a deque, so that the pointers stay valid.
struct LaunchParams {
  std::deque<int64_t> slots;
  std::vector<void *> pointers;
  /// Tensor maps (bundle tensor_maps): the kernel's last parameters, which
  /// launchSplit appends after every other.
  std::deque<TensorMap> tensorMaps;

  void push(int64_t value) {
    slots.push_back(value);
    pointers.push_back(&slots.back());
  }
  /// A memref descriptor at `data` of `sizes` and `strides` (none:
  /// row-major, contiguous).
  void addMemref(uint64_t data, const std::vector<int64_t> &sizes,
                 const int64_t *strides = nullptr) {
    push(static_cast<int64_t>(data));
    push(static_cast<int64_t>(data));
    push(0);
    for (int64_t size : sizes)
      push(size);
    std::vector<int64_t> values(sizes.size());
    int64_t stride = 1;
    for (size_t i = sizes.size(); i-- > 0;) {
      values[i] = strides ? strides[i] : stride;
      stride *= sizes[i];
    }
    for (int64_t value : values)
      push(value);
  }
  /// A scalar of `type` (bundle's names: i32, i64, index, f32, f64).
  void addScalar(const std::string &type, const flashc_capture &capture) {
    int64_t slot = 0;
    if (type == "f32") {
      float value = static_cast<float>(capture.float_value);
      std::memcpy(&slot, &value, sizeof(value));
    } else if (type == "f64") {
      std::memcpy(&slot, &capture.float_value, sizeof(double));
    } else if (type == "i32") {
      int32_t value = static_cast<int32_t>(capture.int_value);
      std::memcpy(&slot, &value, sizeof(value));
    } else {
      slot = capture.int_value;
    }
    push(slot);
  }
};

/// The checks of a launch and its parameters up to the captures: the
/// shape, strides, pointers and extras, then varlen's bounds or a paged
/// cache's tables (after the LSE) where given.
flashc_status prepareLaunch(flashc_kernel *kernel, const flashc_shape *shape,
                            const flashc_strides *strides,
                            const uint64_t (&pointers)[4], uint64_t lse,
                            const flashc_capture *captures, size_t numCaptures,
                            LaunchParams &params,
                            const flashc_varlen *varlen = nullptr,
                            const flashc_paged *paged = nullptr);

/// Bundle tensor_maps: encodes the tensor maps of K and V (`pointers[1]`,
/// `pointers[2]`, of `shape`'s K/V sizes and `strides` or row-major) into
/// `params.tensorMaps`, for a launch whose pointers and strides are
/// checked. Fails on a driver without cuTensorMapEncodeTiled, or where the
/// driver refuses a map (saying which).
flashc_status encodeTensorMaps(flashc_kernel *kernel, const flashc_shape &shape,
                               const flashc_strides *strides,
                               const uint64_t (&pointers)[4],
                               LaunchParams &params);

/// The launch of a prepared kernel on grid (query blocks, heads, batch ·
/// splits) of `shape`, the split count chosen for `keys` (the shape with
/// the longest key length), with the split workspace when split.
flashc_status launchSplit(flashc_kernel *kernel, const flashc_shape &shape,
                          const flashc_shape &keys, LaunchParams &params,
                          void *stream);

} // namespace flashc

#endif // FLASHC_LIB_RUNTIME_RUNTIMEOBJECTS_H
