//===- SplitWorkspaces.h - a kernel's split K/V workspaces -------*- C++
//-*-===//
//
// Private to the runtime (Runtime.cpp). A kernel that splits its K/V loops
// needs f32 partials and i32 arrival counters in global memory; this keeps
// one such workspace per stream, so that split launches on different
// streams may overlap. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_RUNTIME_SPLITWORKSPACES_H
#define FLASHC_LIB_RUNTIME_SPLITWORKSPACES_H

#include "flashc/Runtime/CudaDriver.h"

#include <cstddef>
#include <map>
#include <mutex>

namespace flashc {

class SplitWorkspaces {
public:
  /// Where a launch's partials and counters start.
  struct Region {
    CUdeviceptr partials = 0, counters = 0;
  };

  SplitWorkspaces() = default;
  SplitWorkspaces(const SplitWorkspaces &) = delete;
  SplitWorkspaces &operator=(const SplitWorkspaces &) = delete;
  /// Frees every workspace (`driver` must be set if any was made).
  ~SplitWorkspaces();

  /// The workspace of `stream` with room for `partialBytes` of partials and
  /// `counterBytes` of counters. The stream's first call makes it and a
  /// larger request grows it, after synchronizing the stream (its earlier
  /// launches may still read the old one); either way it is zeroed on the
  /// stream (counters must start at zero; each launch leaves them so). On
  /// a driver failure returns it, with `failedCall` naming the call. The
  /// caller holds mutex() until its launch is queued, so that no other
  /// thread frees the workspace under it.
  CUresult ensure(void *stream, size_t partialBytes, size_t counterBytes,
                  Region &region, const char *&failedCall);
  std::mutex &mutex() { return guard; }

  const CudaDriver *driver = nullptr;

private:
  struct Workspace {
    CUdeviceptr data = 0;
    size_t bytes = 0, countersOffset = 0;
  };
  std::map<void *, Workspace> byStream;
  std::mutex guard;
};

} // namespace flashc

#endif // FLASHC_LIB_RUNTIME_SPLITWORKSPACES_H
