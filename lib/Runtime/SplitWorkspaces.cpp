//===- SplitWorkspaces.cpp - a kernel's split K/V workspaces --------------===//

#include "SplitWorkspaces.h"

#include <algorithm>

using namespace flashc;

SplitWorkspaces::~SplitWorkspaces() {
  for (auto &[stream, ws] : byStream)
    if (ws.data)
      driver->cuMemFree(ws.data);
}

CUresult SplitWorkspaces::ensure(void *stream, size_t partialBytes,
                                 size_t counterBytes, Region &region,
                                 const char *&failedCall) {
  Workspace &ws = byStream[stream];
  if (partialBytes > ws.countersOffset ||
      ws.countersOffset + counterBytes > ws.bytes) {
    // Partials first, counters 256-byte aligned after them; neither part
    // shrinks.
    size_t countersOffset =
        std::max(ws.countersOffset, (partialBytes + 255) / 256 * 256);
    size_t bytes =
        countersOffset + std::max(counterBytes, ws.bytes - ws.countersOffset);
    CUstream cuStream = static_cast<CUstream>(stream);
    if (ws.data) {
      if (CUresult result = driver->cuStreamSynchronize(cuStream);
          result != CUDA_SUCCESS) {
        failedCall = "cuStreamSynchronize(split workspace)";
        return result;
      }
      driver->cuMemFree(ws.data);
    }
    ws = {};
    if (CUresult result = driver->cuMemAlloc(&ws.data, bytes);
        result != CUDA_SUCCESS) {
      failedCall = "cuMemAlloc(split workspace)";
      return result;
    }
    if (CUresult result = driver->cuMemsetD8Async(ws.data, 0, bytes, cuStream);
        result != CUDA_SUCCESS) {
      failedCall = "cuMemsetD8Async(split workspace)";
      return result;
    }
    ws.bytes = bytes;
    ws.countersOffset = countersOffset;
  }
  region.partials = ws.data;
  region.counters = ws.data + ws.countersOffset;
  return CUDA_SUCCESS;
}
