//===- Runtime.cpp - the flashc runtime (C API) ---------------------------===//

#include "flashc-c/runtime.h"
#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/CudaDriver.h"

#include "LaunchChecks.h"
#include "RuntimeObjects.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

using namespace flashc;

/// Whether `pointer` is device memory of the runtime's context.
static bool isDevicePointer(flashc_runtime *rt, uint64_t pointer) {
  unsigned memoryType = 0;
  return rt->driver->cuPointerGetAttribute(&memoryType,
                                           CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                           pointer) == CUDA_SUCCESS &&
         memoryType == CU_MEMORYTYPE_DEVICE;
}

/// q, k, v, o: device pointers of this context, 16-byte aligned.
static flashc_status checkPointers(flashc_runtime *rt,
                                   const uint64_t (&pointers)[4]) {
  const char *names[] = {"q", "k", "v", "o"};
  for (int i = 0; i < 4; ++i) {
    if (!pointers[i])
      return rt->fail(FLASHC_ERROR_ARGUMENT,
                      std::string(names[i]) + ": null pointer");
    // cp.async moves 16-byte chunks.
    if (pointers[i] % 16)
      return rt->fail(FLASHC_ERROR_ARGUMENT,
                      std::string(names[i]) +
                          ": not 16-byte aligned (cp.async needs it)");
    if (!isDevicePointer(rt, pointers[i]))
      return rt->fail(FLASHC_ERROR_ARGUMENT,
                      std::string(names[i]) +
                          ": not a device pointer of this context");
  }
  return FLASHC_OK;
}

extern "C" {

flashc_status flashc_runtime_create(int device, flashc_runtime **out) {
  if (!out)
    return FLASHC_ERROR_ARGUMENT;
  auto *rt = new flashc_runtime();
  *out = rt;
  std::string error;
  rt->driver = CudaDriver::open(error);
  if (!rt->driver)
    return rt->fail(FLASHC_ERROR_NO_DRIVER, error);
  int count = 0;
  if (!rt->check(rt->driver->cuDeviceGetCount(&count), "cuDeviceGetCount"))
    return FLASHC_ERROR_CUDA;
  if (device < 0 || device >= count)
    return rt->fail(FLASHC_ERROR_NO_DEVICE,
                    "no CUDA device " + std::to_string(device) + " (" +
                        std::to_string(count) + " found)");
  if (!rt->check(rt->driver->cuDeviceGet(&rt->device, device), "cuDeviceGet"))
    return FLASHC_ERROR_CUDA;
  char name[256] = {0};
  rt->driver->cuDeviceGetName(name, sizeof(name) - 1, rt->device);
  rt->driver->cuDeviceGetAttribute(
      &rt->major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, rt->device);
  rt->driver->cuDeviceGetAttribute(
      &rt->minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, rt->device);
  rt->driver->cuDeviceGetAttribute(&rt->multiprocessors,
                                   CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                   rt->device);
  rt->driver->cuDeviceGetAttribute(
      &rt->sharedBytesPerSM,
      CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, rt->device);
  rt->deviceName = std::string(name) + " (sm_" + std::to_string(rt->major) +
                   std::to_string(rt->minor) + ")";
  if (!rt->check(rt->driver->cuDevicePrimaryCtxRetain(&rt->context, rt->device),
                 "cuDevicePrimaryCtxRetain"))
    return FLASHC_ERROR_CUDA;
  rt->retained = true;
  if (!rt->check(rt->driver->cuCtxSetCurrent(rt->context), "cuCtxSetCurrent"))
    return FLASHC_ERROR_CUDA;
  return FLASHC_OK;
}

void flashc_runtime_destroy(flashc_runtime *runtime) {
  if (!runtime)
    return;
  if (runtime->retained)
    runtime->driver->cuDevicePrimaryCtxRelease(runtime->device);
  delete runtime;
}

const char *flashc_runtime_last_error(const flashc_runtime *runtime) {
  return runtime ? runtime->error.c_str() : "no runtime";
}

const char *flashc_runtime_device_name(const flashc_runtime *runtime) {
  return runtime ? runtime->deviceName.c_str() : "";
}

flashc_status flashc_kernel_load(flashc_runtime *rt, const char *text,
                                 size_t size, flashc_kernel **out) {
  if (!rt || !out)
    return FLASHC_ERROR_ARGUMENT;
  *out = nullptr;
  rt->error.clear();
  if (!rt->driver || !rt->context)
    return rt->fail(FLASHC_ERROR_NO_DRIVER,
                    "the runtime has no usable driver: " + rt->error);
  if (!text)
    return rt->fail(FLASHC_ERROR_ARGUMENT, "bundle: null text");
  if (!rt->makeCurrent())
    return FLASHC_ERROR_CUDA;
  auto kernel = std::make_unique<flashc_kernel>();
  kernel->runtime = rt;
  kernel->workspaces.driver = rt->driver;
  std::string error;
  if (!parseBundle(std::string_view(text, size), kernel->bundle, error))
    return rt->fail(FLASHC_ERROR_BUNDLE, error);
  // A cubin for exactly this device's architecture skips the JIT; otherwise
  // the PTX, NUL-terminated as the driver wants (docs/Runtime.md).
  std::string deviceArch =
      "sm_" + std::to_string(rt->major) + std::to_string(rt->minor);
  bool useCubin = !kernel->bundle.cubin.empty() &&
                  cubinRunsOn(kernel->bundle.cubinArch, deviceArch);
  const std::string &image =
      useCubin ? kernel->bundle.cubin : kernel->bundle.ptx;
  std::string ptx = image;
  std::vector<char> errorLog(16384, 0), infoLog(16384, 0);
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {
      errorLog.data(), reinterpret_cast<void *>(errorLog.size() - 1),
      infoLog.data(), reinterpret_cast<void *>(infoLog.size() - 1)};
  CUresult result = rt->driver->cuModuleLoadDataEx(&kernel->module, ptx.c_str(),
                                                   4, options, values);
  if (result != CUDA_SUCCESS)
    return rt->fail(
        FLASHC_ERROR_JIT,
        "cuModuleLoadDataEx failed: " + rt->driver->describe(result) +
            "\nJIT log:\n" + std::string(errorLog.data()));
  if (!rt->check(
          rt->driver->cuModuleGetFunction(&kernel->function, kernel->module,
                                          kernel->bundle.kernelName.c_str()),
          "cuModuleGetFunction")) {
    rt->driver->cuModuleUnload(kernel->module);
    return FLASHC_ERROR_CUDA;
  }
  if (!kernel->bundle.blockMapKernel.empty() &&
      !rt->check(rt->driver->cuModuleGetFunction(
                     &kernel->blockMapFunction, kernel->module,
                     kernel->bundle.blockMapKernel.c_str()),
                 "cuModuleGetFunction(block map)")) {
    rt->driver->cuModuleUnload(kernel->module);
    return FLASHC_ERROR_CUDA;
  }
  // Set even below 48 KiB: the kernel's own static shared memory counts
  // against the default 48 KiB too, so exactly 48 KiB of dynamic shared
  // memory fails to launch without it.
  if (kernel->bundle.sharedBytes > 0 &&
      !rt->check(rt->driver->cuFuncSetAttribute(
                     kernel->function,
                     CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                     static_cast<int>(kernel->bundle.sharedBytes)),
                 "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)")) {
    rt->driver->cuModuleUnload(kernel->module);
    return FLASHC_ERROR_CUDA;
  }
  *out = kernel.release();
  return FLASHC_OK;
}

void flashc_kernel_destroy(flashc_kernel *kernel) {
  if (!kernel)
    return;
  kernel->runtime->makeCurrent(); // best effort: destroy reports nothing
  if (kernel->blockMap)
    kernel->runtime->driver->cuMemFree(kernel->blockMap);
  if (kernel->module)
    kernel->runtime->driver->cuModuleUnload(kernel->module);
  delete kernel;
}

/// The kernel's own block map, grown when smaller than `entries`.
static bool ensureBlockMap(flashc_kernel *kernel, int64_t entries) {
  flashc_runtime *rt = kernel->runtime;
  size_t bytes = size_t(entries) * 4;
  if (bytes <= kernel->blockMapBytes)
    return true;
  if (kernel->blockMap)
    rt->driver->cuMemFree(kernel->blockMap);
  kernel->blockMap = 0;
  kernel->blockMapBytes = 0;
  if (!rt->check(rt->driver->cuMemAlloc(&kernel->blockMap, bytes),
                 "cuMemAlloc(block map)"))
    return false;
  kernel->blockMapBytes = bytes;
  return true;
}

/// Builds the block map into `map` (`entries` i32) on `stream`, appending it
/// to `params`, which hold the parameters up to the captures.
static bool launchBlockMap(flashc_kernel *kernel, LaunchParams &params,
                           CUdeviceptr map, int64_t entries, int64_t gridX,
                           int64_t mapRows, CUstream stream) {
  flashc_runtime *rt = kernel->runtime;
  params.addMemref(map, {entries});
  int64_t keyBlocks = entries / (gridX * mapRows);
  return rt->check(
      rt->driver->cuLaunchKernel(
          kernel->blockMapFunction, static_cast<unsigned>(keyBlocks),
          static_cast<unsigned>(gridX), static_cast<unsigned>(mapRows),
          static_cast<unsigned>(KernelBundle::kBlockMapThreads), 1, 1, 0,
          stream, params.pointers.data(), nullptr),
      "cuLaunchKernel(block map)");
}

int flashc_kernel_num_captures(const flashc_kernel *kernel) {
  return kernel ? static_cast<int>(kernel->bundle.captures.size()) : 0;
}

int flashc_kernel_has_lse(const flashc_kernel *kernel) {
  return kernel && kernel->bundle.lse ? 1 : 0;
}

flashc_status flashc_kernel_launch(flashc_kernel *kernel,
                                   const flashc_shape *shape, uint64_t q,
                                   uint64_t k, uint64_t v, uint64_t o,
                                   void *stream) {
  if (kernel && (kernel->bundle.lse || !kernel->bundle.captures.empty()))
    return kernel->runtime->fail(
        FLASHC_ERROR_ARGUMENT,
        "the kernel takes an LSE output or captures: launch it with "
        "flashc_kernel_launch_with");
  return flashc_kernel_launch_with(kernel, shape, q, k, v, o, 0, nullptr, 0,
                                   stream);
}

} // extern "C"

flashc_status flashc::prepareLaunch(
    flashc_kernel *kernel, const flashc_shape *shape,
    const flashc_strides *strides, const uint64_t (&pointers)[4], uint64_t lse,
    const flashc_capture *captures, size_t numCaptures, LaunchParams &params,
    const flashc_varlen *varlen, const flashc_paged *paged) {
  flashc_runtime *rt = kernel->runtime;
  rt->error.clear();
  if (!rt->makeCurrent())
    return FLASHC_ERROR_CUDA;
  const KernelBundle &b = kernel->bundle;
  if (b.varlen && !varlen)
    return rt->fail(FLASHC_ERROR_ARGUMENT,
                    "varlen: the kernel was compiled with varlen: launch it "
                    "with flashc_kernel_launch_varlen");
  if (b.paged && !paged)
    return rt->fail(FLASHC_ERROR_ARGUMENT,
                    "paged: the kernel reads a paged K/V cache: launch it "
                    "with flashc_kernel_launch_paged");
  // In this order: the shape, the strides, the pointers, the extras.
  if (std::string message = checkShape(b, shape); !message.empty())
    return rt->fail(FLASHC_ERROR_ARGUMENT, message);
  if (std::string message = checkStrides(b, strides); !message.empty())
    return rt->fail(FLASHC_ERROR_ARGUMENT, message);
  if (flashc_status status = checkPointers(rt, pointers); status != FLASHC_OK)
    return status;
  if (std::string message = checkExtras(b, lse, captures, numCaptures);
      !message.empty())
    return rt->fail(FLASHC_ERROR_ARGUMENT, message);
  const int64_t *operandStrides[] = {
      strides ? strides->q : nullptr, strides ? strides->k : nullptr,
      strides ? strides->v : nullptr, strides ? strides->o : nullptr};
  for (int i = 0; i < 4; ++i) {
    bool keys = i == 1 || i == 2;
    // A paged cache's batch is its pages.
    int64_t batch = keys && paged ? paged->num_pages : shape->batch;
    params.addMemref(pointers[i],
                     {batch, keys ? keyHeads(*shape) : shape->heads,
                      keys ? shape->seq_k : shape->seq_q, b.headDim},
                     operandStrides[i]);
  }
  if (b.lse)
    params.addMemref(lse, {shape->batch, shape->heads, shape->seq_q});
  // The tables after the LSE: varlen's bounds or a paged cache's block
  // table and key lengths (their null and alignment checks came first).
  std::vector<std::tuple<const char *, uint64_t, std::vector<int64_t>>> tables;
  if (varlen)
    tables = {
        {"varlen: cu_seqlens_q", varlen->cu_seqlens_q, {varlen->sequences + 1}},
        {"varlen: cu_seqlens_k",
         varlen->cu_seqlens_k,
         {varlen->sequences + 1}}};
  if (paged)
    tables = {{"paged: block_table",
               paged->block_table,
               {paged->batch, paged->max_pages}},
              {"paged: seqlens_k", paged->seqlens_k, {paged->batch}}};
  for (const auto &[name, pointer, sizes] : tables) {
    if (!isDevicePointer(rt, pointer))
      return rt->fail(FLASHC_ERROR_ARGUMENT,
                      std::string(name) +
                          ": not a device pointer of this context");
    params.addMemref(pointer, sizes);
  }
  for (size_t i = 0; i < numCaptures; ++i) {
    const CaptureInfo &info = b.captures[i];
    if (info.memref)
      params.addMemref(
          captures[i].data,
          std::vector<int64_t>(captures[i].sizes,
                               captures[i].sizes + info.sizes.size()));
    else
      params.addScalar(info.type, captures[i]);
  }
  return FLASHC_OK;
}

extern "C" {

/// The block map's shape for a launch of `b` at `shape`: what a built map
/// must match to be used by it.
static std::vector<int64_t> mapKey(const KernelBundle &b,
                                   const flashc_shape &shape) {
  int64_t mapRows = b.blockMapRowCount(shape.batch, shape.heads);
  return {b.blockM, b.blockN,    b.blockMapRows,
          mapRows,  shape.seq_q, shape.seq_k};
}

flashc_status flashc_kernel_launch_with(flashc_kernel *kernel,
                                        const flashc_shape *shape, uint64_t q,
                                        uint64_t k, uint64_t v, uint64_t o,
                                        uint64_t lse,
                                        const flashc_capture *captures,
                                        size_t numCaptures, void *stream) {
  return flashc_kernel_launch_with_map(kernel, shape, q, k, v, o, lse, captures,
                                       numCaptures, nullptr, stream);
}

flashc_status flashc_kernel_launch_with_map(
    flashc_kernel *kernel, const flashc_shape *shape, uint64_t q, uint64_t k,
    uint64_t v, uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t numCaptures, const flashc_block_map *map, void *stream) {
  return flashc_kernel_launch_strided(kernel, shape, nullptr, q, k, v, o, lse,
                                      captures, numCaptures, map, stream);
}

flashc_status
flashc_kernel_launch_strided(flashc_kernel *kernel, const flashc_shape *shape,
                             const flashc_strides *strides, uint64_t q,
                             uint64_t k, uint64_t v, uint64_t o, uint64_t lse,
                             const flashc_capture *captures, size_t numCaptures,
                             const flashc_block_map *map, void *stream) {
  if (!kernel)
    return FLASHC_ERROR_ARGUMENT;
  flashc_runtime *rt = kernel->runtime;
  const KernelBundle &b = kernel->bundle;
  uint64_t pointers[] = {q, k, v, o};
  LaunchParams params;
  // Checked as given, launched as packed (grouped-query decoding).
  flashc_shape packed;
  if (shape && checkShape(b, shape).empty()) {
    packed = packedShape(b, *shape);
    shape = &packed;
  }
  if (flashc_status status = prepareLaunch(kernel, shape, strides, pointers,
                                           lse, captures, numCaptures, params);
      status != FLASHC_OK)
    return status;
  int64_t gridX = b.gridX(shape->seq_q);
  if (map && !kernel->blockMapFunction)
    return rt->fail(FLASHC_ERROR_ARGUMENT,
                    "block map: given, but the kernel has no data-dependent "
                    "mask");
  if (map && map->key != mapKey(b, *shape))
    return rt->fail(FLASHC_ERROR_ARGUMENT,
                    "block map: built for other tiles or another shape "
                    "(block_m, block_n, rows, seq_q, seq_k must match)");
  // Only this launch reaches TMA kernels: the bundle keeps tensor maps from
  // varlen and paged ones, and the block-map kernel takes none.
  if (b.tensorMaps)
    if (flashc_status status =
            encodeTensorMaps(kernel, *shape, strides, pointers, params);
        status != FLASHC_OK)
      return status;
  if (map) {
    params.addMemref(map->data, {map->entries});
  } else if (kernel->blockMapFunction) {
    int64_t mapRows = b.blockMapRowCount(shape->batch, shape->heads);
    int64_t entries = b.blockMapEntries(gridX, mapRows, shape->seq_k);
    if (!ensureBlockMap(kernel, entries) ||
        !launchBlockMap(kernel, params, kernel->blockMap, entries, gridX,
                        mapRows, static_cast<CUstream>(stream)))
      return FLASHC_ERROR_CUDA;
  }
  return launchSplit(kernel, *shape, *shape, params, stream);
}

} // extern "C"

flashc_status flashc::launchSplit(flashc_kernel *kernel,
                                  const flashc_shape &shape,
                                  const flashc_shape &keys,
                                  LaunchParams &params, void *stream) {
  flashc_runtime *rt = kernel->runtime;
  const KernelBundle &b = kernel->bundle;
  int64_t gridX = b.gridX(shape.seq_q);
  int64_t splits = launchSplits(b, keys, kernel->forcedSplits,
                                rt->multiprocessors, rt->sharedBytesPerSM);
  // Held through the launch: another thread's growth must not free the
  // workspace before this launch is queued.
  std::unique_lock<std::mutex> lock(kernel->workspaces.mutex(),
                                    std::defer_lock);
  if (b.kvSplits > 1 && splits == 1) {
    // One split never touches the workspace: none is made.
    params.addMemref(0, {0});
    params.addMemref(0, {0});
  } else if (b.kvSplits > 1) {
    int64_t tiles = gridX * shape.batch * shape.heads;
    lock.lock();
    SplitWorkspaces::Region region;
    const char *failedCall = nullptr;
    if (!rt->check(kernel->workspaces.ensure(
                       stream, size_t(b.partialFloats(tiles, splits)) * 4,
                       size_t(b.counterCount(tiles)) * 4, region, failedCall),
                   failedCall))
      return FLASHC_ERROR_CUDA;
    params.addMemref(region.partials, {b.partialFloats(tiles, splits)});
    params.addMemref(region.counters, {b.counterCount(tiles)});
  }
  // The tensor maps come last (by value: the driver copies the 128 bytes).
  for (TensorMap &map : params.tensorMaps)
    params.pointers.push_back(&map);
  if (!rt->check(rt->driver->cuLaunchKernel(
                     kernel->function, static_cast<unsigned>(gridX),
                     static_cast<unsigned>(shape.heads),
                     static_cast<unsigned>(shape.batch * splits),
                     static_cast<unsigned>(b.threads), 1, 1,
                     static_cast<unsigned>(b.sharedBytes),
                     static_cast<CUstream>(stream), params.pointers.data(),
                     nullptr),
                 "cuLaunchKernel"))
    return FLASHC_ERROR_CUDA;
  return FLASHC_OK;
}

extern "C" {

flashc_status flashc_kernel_set_kv_splits(flashc_kernel *kernel,
                                          int64_t splits) {
  if (!kernel)
    return FLASHC_ERROR_ARGUMENT;
  flashc_runtime *rt = kernel->runtime;
  rt->error.clear();
  int64_t most = kernel->bundle.kvSplits;
  if (splits < 0 || splits > most)
    return rt->fail(FLASHC_ERROR_ARGUMENT,
                    "kv_splits: " + std::to_string(splits) +
                        " must be 0 (chosen per launch) or between 1 and "
                        "the compiled kv_splits = " +
                        std::to_string(most));
  kernel->forcedSplits = splits;
  return FLASHC_OK;
}

flashc_status flashc_kernel_kv_splits(flashc_kernel *kernel,
                                      const flashc_shape *shape,
                                      int64_t *splits) {
  if (!kernel || !splits)
    return FLASHC_ERROR_ARGUMENT;
  flashc_runtime *rt = kernel->runtime;
  rt->error.clear();
  if (std::string message = checkShape(kernel->bundle, shape); !message.empty())
    return rt->fail(FLASHC_ERROR_ARGUMENT, message);
  *splits = launchSplits(kernel->bundle, packedShape(kernel->bundle, *shape),
                         kernel->forcedSplits, rt->multiprocessors,
                         rt->sharedBytesPerSM);
  return FLASHC_OK;
}

flashc_status flashc_block_map_build(
    flashc_kernel *kernel, const flashc_shape *shape, uint64_t q, uint64_t k,
    uint64_t v, uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t numCaptures, void *stream, flashc_block_map **out) {
  if (!kernel || !out)
    return FLASHC_ERROR_ARGUMENT;
  *out = nullptr;
  flashc_runtime *rt = kernel->runtime;
  const KernelBundle &b = kernel->bundle;
  uint64_t pointers[] = {q, k, v, o};
  LaunchParams params;
  // The map kernel reads only Q's and K's sizes, not their data: row-major
  // descriptors serve strided kernels too.
  if (flashc_status status = prepareLaunch(kernel, shape, nullptr, pointers,
                                           lse, captures, numCaptures, params);
      status != FLASHC_OK)
    return status;
  if (!kernel->blockMapFunction)
    return rt->fail(FLASHC_ERROR_ARGUMENT,
                    "block map: the kernel has no data-dependent mask");
  auto map = std::make_unique<flashc_block_map>();
  map->runtime = rt;
  map->key = mapKey(b, *shape);
  int64_t gridX = b.gridX(shape->seq_q);
  int64_t mapRows = b.blockMapRowCount(shape->batch, shape->heads);
  map->entries = b.blockMapEntries(gridX, mapRows, shape->seq_k);
  if (!rt->check(rt->driver->cuMemAlloc(&map->data, map->entries * 4),
                 "cuMemAlloc(block map)") ||
      !launchBlockMap(kernel, params, map->data, map->entries, gridX, mapRows,
                      static_cast<CUstream>(stream))) {
    flashc_block_map_destroy(map.release()); // frees the buffer, if any
    return FLASHC_ERROR_CUDA;
  }
  *out = map.release();
  return FLASHC_OK;
}

void flashc_block_map_destroy(flashc_block_map *map) {
  if (!map)
    return;
  map->runtime->makeCurrent(); // best effort, as flashc_kernel_destroy
  if (map->data)
    map->runtime->driver->cuMemFree(map->data);
  delete map;
}

} // extern "C"
