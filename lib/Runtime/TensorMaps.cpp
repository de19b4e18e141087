//===- TensorMaps.cpp - tensor maps of K and V for TMA copies -------------===//
//
// A kernel compiled with policy prefetch = tma copies K and V with TMA
// loads, which read through tensor maps that only the driver can encode
// (their layout is opaque): the launch encodes one for each of K and V
// with cuTensorMapEncodeTiled and passes both by value. No MLIR.
//
//===----------------------------------------------------------------------===//

#include "LaunchChecks.h"
#include "RuntimeObjects.h"

#include <algorithm>

using namespace flashc;

namespace {
/// The box every map loads: 64 columns (128 bytes, what the 128-byte
/// swizzle allows in a box's row) by block_n rows of one (batch, head).
constexpr unsigned kBoxColumns = 64;
} // namespace

flashc_status flashc::encodeTensorMaps(flashc_kernel *kernel,
                                       const flashc_shape &shape,
                                       const flashc_strides *strides,
                                       const uint64_t (&pointers)[4],
                                       LaunchParams &params) {
  flashc_runtime *rt = kernel->runtime;
  const KernelBundle &b = kernel->bundle;
  if (!rt->driver->cuTensorMapEncodeTiled)
    return rt->fail(FLASHC_ERROR_CUDA,
                    "the CUDA driver lacks cuTensorMapEncodeTiled (CUDA "
                    "12.0+), which this kernel's TMA copies need");
  const uint64_t elementBytes = 2; // f16 or bf16 (bundle element)
  int dataType = b.elementType == "bf16" ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                         : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  // Sizes [batch, kv_heads, seq_k, head_dim], as prepareLaunch passes them.
  int64_t sizes[4] = {shape.batch, keyHeads(shape), shape.seq_k, b.headDim};
  for (int operand : {1, 2}) {
    const int64_t *given =
        strides ? (operand == 1 ? strides->k : strides->v) : nullptr;
    int64_t rowMajor[4];
    rowMajor[3] = 1;
    for (int d = 2; d >= 0; --d)
      rowMajor[d] = rowMajor[d + 1] * sizes[d + 1];
    // Innermost first: head_dim, seq, heads, batch. What TMA needs of the
    // address and strides (16-byte multiples) the launch's checks already
    // ensured (checkPointers, checkStrides). A dimension of size 1 is never
    // stepped along, so its stride (free in a view) is set to the
    // row-major one; an empty one (no keys) still needs a size of 1.
    uint64_t dims[4];
    uint64_t strideBytes[3];
    for (int i = 0; i < 4; ++i) {
      int d = 3 - i;
      dims[i] = static_cast<uint64_t>(std::max<int64_t>(sizes[d], 1));
      if (i == 0)
        continue;
      int64_t stride = given && sizes[d] > 1 ? given[d] : rowMajor[d];
      strideBytes[i - 1] = static_cast<uint64_t>(stride) * elementBytes;
    }
    unsigned box[4] = {kBoxColumns, static_cast<unsigned>(b.blockN), 1, 1};
    unsigned elementStrides[4] = {1, 1, 1, 1};
    TensorMap &map = params.tensorMaps.emplace_back();
    if (!rt->check(
            rt->driver->cuTensorMapEncodeTiled(
                &map, dataType, 4, reinterpret_cast<void *>(pointers[operand]),
                dims, strideBytes, box, elementStrides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
            operand == 1 ? "cuTensorMapEncodeTiled(k)"
                         : "cuTensorMapEncodeTiled(v)"))
      return FLASHC_ERROR_CUDA;
  }
  return FLASHC_OK;
}
