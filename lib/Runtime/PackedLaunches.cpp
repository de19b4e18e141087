//===- PackedLaunches.cpp - launches of varlen and paged kernels ----------===//
//
// flashc_kernel_launch_varlen and flashc_kernel_launch_paged: their own
// arguments checked (LaunchChecks.h), then the steps every launch takes
// (RuntimeObjects.h).
//
//===----------------------------------------------------------------------===//

#include "LaunchChecks.h"
#include "RuntimeObjects.h"

using namespace flashc;

extern "C" {

flashc_status flashc_kernel_launch_varlen(flashc_kernel *kernel,
                                          const flashc_varlen *varlen,
                                          const flashc_strides *strides,
                                          uint64_t q, uint64_t k, uint64_t v,
                                          uint64_t o, uint64_t lse,
                                          const flashc_capture *captures,
                                          size_t numCaptures, void *stream) {
  if (!kernel)
    return FLASHC_ERROR_ARGUMENT;
  flashc_runtime *rt = kernel->runtime;
  rt->error.clear();
  const KernelBundle &b = kernel->bundle;
  if (std::string message = checkVarlen(b, varlen); !message.empty())
    return rt->fail(FLASHC_ERROR_ARGUMENT, message);
  flashc_shape shape = varlenShape(*varlen);
  uint64_t pointers[] = {q, k, v, o};
  LaunchParams params;
  if (flashc_status status =
          prepareLaunch(kernel, &shape, strides, pointers, lse, captures,
                        numCaptures, params, varlen);
      status != FLASHC_OK)
    return status;
  // One program per (query block of the longest sequence, head, sequence);
  // those past their own sequence's end return at once. (Varlen kernels
  // have one split.)
  flashc_shape grid = {varlen->sequences, varlen->heads, varlen->max_seqlen_q,
                       varlen->max_seqlen_k, varlen->kv_heads};
  return launchSplit(kernel, grid, grid, params, stream);
}

flashc_status
flashc_kernel_launch_paged(flashc_kernel *kernel, const flashc_paged *paged,
                           const flashc_strides *strides, uint64_t q,
                           uint64_t kCache, uint64_t vCache, uint64_t o,
                           uint64_t lse, const flashc_capture *captures,
                           size_t numCaptures, void *stream) {
  if (!kernel)
    return FLASHC_ERROR_ARGUMENT;
  flashc_runtime *rt = kernel->runtime;
  rt->error.clear();
  if (std::string message = checkPaged(kernel->bundle, paged); !message.empty())
    return rt->fail(FLASHC_ERROR_ARGUMENT, message);
  flashc_shape shape = pagedShape(*paged);
  uint64_t pointers[] = {q, kCache, vCache, o};
  LaunchParams params;
  if (flashc_status status =
          prepareLaunch(kernel, &shape, strides, pointers, lse, captures,
                        numCaptures, params, nullptr, paged);
      status != FLASHC_OK)
    return status;
  // The split count for the longest key length the table allows.
  flashc_shape keys = shape;
  keys.seq_k = paged->max_pages * paged->page_size;
  return launchSplit(kernel, shape, keys, params, stream);
}

int flashc_kernel_is_paged(const flashc_kernel *kernel) {
  return kernel && kernel->bundle.paged ? 1 : 0;
}

int flashc_kernel_is_varlen(const flashc_kernel *kernel) {
  return kernel && kernel->bundle.varlen ? 1 : 0;
}

} // extern "C"
