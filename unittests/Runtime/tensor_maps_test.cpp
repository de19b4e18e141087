//===- tensor_maps_test.cpp - the tensor maps a TMA launch encodes --------===//
//
// encodeTensorMaps (lib/Runtime/TensorMaps.cpp) through a stand-in for the
// driver's cuTensorMapEncodeTiled that records its arguments: the data
// type, the 4-D dimensions (head_dim, seq_k, kv_heads, batch) and byte
// strides of K and V, row-major and strided (with a size-1 dimension whose
// stride a view leaves free), grouped-query heads, the box, the swizzle,
// the fill; and the errors of a driver without the call or one that
// refuses a map. No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "RuntimeObjects.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace flashc;

static int failures = 0;

static void expect(bool ok, const std::string &what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok)
    ++failures;
}

namespace {
/// One call of the stand-in.
struct Call {
  int dataType = -1;
  unsigned rank = 0;
  uint64_t address = 0;
  std::vector<uint64_t> dims, strides;
  std::vector<unsigned> box, elementStrides;
  int interleave = -1, swizzle = -1, l2 = -1, fill = -1;
};
std::vector<Call> calls;
CUresult result = CUDA_SUCCESS;

CUresult recordEncode(void *map, int dataType, unsigned rank, void *address,
                      const uint64_t *dims, const uint64_t *strides,
                      const unsigned *box, const unsigned *elementStrides,
                      int interleave, int swizzle, int l2, int fill) {
  Call call;
  call.dataType = dataType;
  call.rank = rank;
  call.address = reinterpret_cast<uint64_t>(address);
  call.dims.assign(dims, dims + rank);
  call.strides.assign(strides, strides + rank - 1);
  call.box.assign(box, box + rank);
  call.elementStrides.assign(elementStrides, elementStrides + rank);
  call.interleave = interleave;
  call.swizzle = swizzle;
  call.l2 = l2;
  call.fill = fill;
  calls.push_back(call);
  std::memset(map, 0xab, 128);
  return result;
}
} // namespace

int main() {
  CudaDriver driver = {};
  driver.cuTensorMapEncodeTiled = recordEncode;
  flashc_runtime rt;
  rt.driver = &driver;
  flashc_kernel kernel;
  kernel.runtime = &rt;
  kernel.bundle.elementType = "bf16";
  kernel.bundle.headDim = 128;
  kernel.bundle.blockN = 64;
  kernel.bundle.tensorMaps = true;
  const uint64_t pointers[4] = {0x1000, 0x20000, 0x40000, 0x60000};

  // Row-major K and V, 8 query heads over 2 K/V heads.
  flashc_shape shape = {3, 8, 100, 300, 2};
  LaunchParams params;
  expect(encodeTensorMaps(&kernel, shape, nullptr, pointers, params) ==
                 FLASHC_OK &&
             calls.size() == 2 && params.tensorMaps.size() == 2,
         "row-major: two maps, K's then V's");
  if (calls.size() == 2) {
    const Call &k = calls[0];
    expect(k.dataType == CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 && k.rank == 4 &&
               k.address == 0x20000 && calls[1].address == 0x40000,
           "row-major: bf16, rank 4, K's and V's addresses");
    expect(k.dims == std::vector<uint64_t>{128, 300, 2, 3},
           "row-major: dims (head_dim, seq_k, kv_heads, batch)");
    expect(k.strides == std::vector<uint64_t>{256, 300 * 256, 2 * 300 * 256},
           "row-major: byte strides of seq, heads, batch");
    expect(k.box == std::vector<unsigned>{64, 64, 1, 1} &&
               k.elementStrides == std::vector<unsigned>{1, 1, 1, 1},
           "box 64 columns by block_n rows, element strides 1");
    expect(k.interleave == CU_TENSOR_MAP_INTERLEAVE_NONE &&
               k.swizzle == CU_TENSOR_MAP_SWIZZLE_128B &&
               k.l2 == CU_TENSOR_MAP_L2_PROMOTION_L2_128B &&
               k.fill == CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
           "no interleave, 128-byte swizzle, 128-byte L2 promotion, zeros");
    expect(params.tensorMaps[0].words[0] == 0xababababababababull,
           "the map the driver wrote is the one passed");
  }

  // Strided [batch, seq, heads, head_dim] storage of batch 1: the batch
  // stride a view leaves free (0 here) is replaced by a valid one.
  calls.clear();
  kernel.bundle.elementType = "f16";
  flashc_shape one = {1, 4, 50, 70, 4};
  flashc_strides strides = {};
  for (int64_t *s : {strides.k, strides.v}) {
    s[0] = 0;
    s[1] = 128;
    s[2] = 4 * 128;
    s[3] = 1;
  }
  LaunchParams stridedParams;
  expect(encodeTensorMaps(&kernel, one, &strides, pointers, stridedParams) ==
                 FLASHC_OK &&
             calls.size() == 2,
         "strided: two maps");
  if (calls.size() == 2) {
    expect(calls[0].dataType == CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
           "strided: f16");
    expect(calls[0].dims == std::vector<uint64_t>{128, 70, 4, 1},
           "strided: dims");
    expect(calls[0].strides ==
               std::vector<uint64_t>{4 * 128 * 2, 128 * 2, 4 * 70 * 128 * 2},
           "strided: the launch's strides, and a row-major one for the "
           "size-1 batch");
  }

  // No keys: a dimension of 0 is encoded as 1 (the kernel loads nothing).
  calls.clear();
  flashc_shape empty = {2, 2, 10, 0, 2};
  LaunchParams emptyParams;
  expect(encodeTensorMaps(&kernel, empty, nullptr, pointers, emptyParams) ==
                 FLASHC_OK &&
             calls.size() == 2 && calls[0].dims[1] == 1,
         "seq_k 0: a dimension of 1");

  // The driver refuses a map: a CUDA error naming the call.
  result = 1; // CUDA_ERROR_INVALID_VALUE
  LaunchParams refused;
  flashc_status status =
      encodeTensorMaps(&kernel, shape, nullptr, pointers, refused);
  expect(status == FLASHC_ERROR_CUDA &&
             rt.error.find("cuTensorMapEncodeTiled(k) failed") == 0,
         "a refused map: " + rt.error);

  // A driver before CUDA 12.0.
  driver.cuTensorMapEncodeTiled = nullptr;
  LaunchParams old;
  status = encodeTensorMaps(&kernel, shape, nullptr, pointers, old);
  expect(status == FLASHC_ERROR_CUDA &&
             rt.error.find("lacks cuTensorMapEncodeTiled") != std::string::npos,
         "no cuTensorMapEncodeTiled: " + rt.error);

  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
