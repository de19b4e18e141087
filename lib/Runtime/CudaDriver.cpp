//===- CudaDriver.cpp - the CUDA driver API, opened with dlopen -----------===//

#include "flashc/Runtime/CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

using namespace flashc;

const CudaDriver *CudaDriver::open(std::string &error) {
  static CudaDriver driver;
  static std::string openError;
  static std::once_flag once;
  std::call_once(once, [] {
    void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      openError = std::string("cannot open the CUDA driver libcuda.so.1 (") +
                  (why ? why : "unknown reason") +
                  "): no NVIDIA driver on this machine";
      return;
    }
    bool ok = true;
    auto bind = [&](auto &fn, const char *name) {
      void *symbol = dlsym(handle, name);
      if (!symbol && ok) {
        openError = std::string("the CUDA driver lacks ") + name;
        ok = false;
      }
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
    };
    bind(driver.cuInit, "cuInit");
    bind(driver.cuDeviceGetCount, "cuDeviceGetCount");
    bind(driver.cuDeviceGet, "cuDeviceGet");
    bind(driver.cuDeviceGetName, "cuDeviceGetName");
    bind(driver.cuDeviceGetAttribute, "cuDeviceGetAttribute");
    bind(driver.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(driver.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    bind(driver.cuCtxSetCurrent, "cuCtxSetCurrent");
    bind(driver.cuCtxSynchronize, "cuCtxSynchronize");
    bind(driver.cuModuleLoadDataEx, "cuModuleLoadDataEx");
    bind(driver.cuModuleUnload, "cuModuleUnload");
    bind(driver.cuModuleGetFunction, "cuModuleGetFunction");
    bind(driver.cuFuncSetAttribute, "cuFuncSetAttribute");
    bind(driver.cuLaunchKernel, "cuLaunchKernel");
    bind(driver.cuMemAlloc, "cuMemAlloc_v2");
    bind(driver.cuMemFree, "cuMemFree_v2");
    bind(driver.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    bind(driver.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    bind(driver.cuMemsetD8, "cuMemsetD8_v2");
    bind(driver.cuMemsetD8Async, "cuMemsetD8Async");
    bind(driver.cuStreamSynchronize, "cuStreamSynchronize");
    bind(driver.cuPointerGetAttribute, "cuPointerGetAttribute");
    bind(driver.cuEventCreate, "cuEventCreate");
    bind(driver.cuEventRecord, "cuEventRecord");
    bind(driver.cuEventSynchronize, "cuEventSynchronize");
    // CUDA 12.8 versioned it; older drivers have only the plain name.
    if (void *v2 = dlsym(handle, "cuEventElapsedTime_v2"))
      driver.cuEventElapsedTime =
          reinterpret_cast<decltype(driver.cuEventElapsedTime)>(v2);
    else
      bind(driver.cuEventElapsedTime, "cuEventElapsedTime");
    bind(driver.cuEventDestroy, "cuEventDestroy_v2");
    bind(driver.cuGetErrorName, "cuGetErrorName");
    bind(driver.cuGetErrorString, "cuGetErrorString");
    driver.cuTensorMapEncodeTiled =
        reinterpret_cast<decltype(driver.cuTensorMapEncodeTiled)>(
            dlsym(handle, "cuTensorMapEncodeTiled"));
    if (!ok)
      return;
    CUresult init = driver.cuInit(0);
    if (init != CUDA_SUCCESS)
      openError = "cuInit failed: " + driver.describe(init) +
                  " (is a GPU present and the driver loaded?)";
  });
  error = openError;
  return openError.empty() ? &driver : nullptr;
}

std::string CudaDriver::describe(CUresult result) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName)
    cuGetErrorName(result, &name);
  if (cuGetErrorString)
    cuGetErrorString(result, &text);
  std::string out = name ? name : ("CUresult " + std::to_string(result));
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}
