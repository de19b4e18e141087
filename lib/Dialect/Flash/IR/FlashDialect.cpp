//===- FlashDialect.cpp - the flash dialect and its attributes ------------===//

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::flash;

#include "flashc/Dialect/Flash/IR/FlashEnums.cpp.inc"
#include "flashc/Dialect/Flash/IR/FlashOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "flashc/Dialect/Flash/IR/FlashAttrs.cpp.inc"

void FlashDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "flashc/Dialect/Flash/IR/FlashAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "flashc/Dialect/Flash/IR/FlashOps.cpp.inc"
      >();
}

bool mlir::flash::isSupportedHeadDim(int64_t headDim) {
  return headDim == 64 || headDim == 128;
}

static int64_t alignTo128(int64_t bytes) { return (bytes + 127) / 128 * 128; }

// Keep in step with the buffers FlashToGPU.cpp allocates (see
// docs/TileLevel.md): Q, `stages` K and V buffers, and for wmma the f32 score
// tile (also used to stage O at the end), the P tile, and one 16x16 f32
// row-broadcast tile per 16-row strip.
int64_t TileConfigAttr::getSharedMemoryBytes(int64_t headDim,
                                             int64_t elementBytes) const {
  int64_t bm = getBlockM(), bn = getBlockN();
  // WMMA pads Q, K and V rows by 8 elements against bank conflicts;
  // mma_sync swizzles unpadded rows instead.
  int64_t rowElements =
      getStrategy() == Strategy::mma_sync ? headDim : headDim + 8;
  int64_t q = alignTo128(bm * rowElements * elementBytes);
  int64_t kv = 2 * alignTo128(getStages() * bn * rowElements * elementBytes);
  // mma.sync keeps S, P and the row statistics in registers.
  if (getStrategy() == Strategy::mma_sync)
    return q + kv;
  int64_t scores = alignTo128(bm * (std::max(bn, headDim) + 4) * 4);
  int64_t probs = alignTo128(bm * (bn + 8) * elementBytes);
  int64_t broadcast = alignTo128(bm * 16 * 4);
  return q + kv + scores + probs + broadcast;
}

LogicalResult
TileConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       int64_t blockM, int64_t blockN, int64_t stages,
                       int64_t warps, Strategy strategy,
                       int64_t kvSplits) {
  for (auto [name, value] : {std::pair<StringRef, int64_t>{"block_m", blockM},
                             {"block_n", blockN}}) {
    if (value <= 0 || value % 16 != 0)
      return emitError() << "tile config: " << name << " = " << value
                         << " is not a positive multiple of 16 (the "
                            "tensor-core tile)";
    if (value > 128)
      return emitError() << "tile config: " << name << " = " << value
                         << " exceeds the limit of 128";
  }
  if (stages < 1)
    return emitError() << "tile config: stages = " << stages
                       << " must be at least 1";
  if (stages > 4)
    return emitError() << "tile config: stages = " << stages
                       << " exceeds the limit of 4";
  if (warps != 1 && warps != 2 && warps != 4 && warps != 8)
    return emitError() << "tile config: warps = " << warps
                       << " must be 1, 2, 4 or 8";
  if (kvSplits < 1 || kvSplits > kMaxKVSplits)
    return emitError() << "tile config: kv_splits = " << kvSplits
                       << " must be between 1 and " << kMaxKVSplits;
  if (kvSplits > 1 && strategy != Strategy::mma_sync)
    return emitError() << "tile config: kv_splits = " << kvSplits
                       << " needs strategy mma_sync (partial results are "
                          "written from mma.sync accumulator registers)";
  if (blockM % (16 * warps) != 0)
    return emitError() << "tile config: block_m / warps = " << blockM << " / "
                       << warps
                       << " must be a multiple of 16 (each warp owns whole "
                          "16-row strips)";
  return success();
}

LogicalResult
TileConfigAttr::verifyFor(function_ref<InFlightDiagnostic()> emitError,
                          int64_t headDim, int64_t elementBytes) const {
  int64_t bytes = getSharedMemoryBytes(headDim, elementBytes);
  // The kernel also declares a little static shared memory (the dynamic
  // buffer's symbol): keep 128 bytes of the per-block limit for it.
  int64_t limit = kMaxSharedMemoryBytes - 128;
  if (bytes > limit)
    return emitError() << "tile config needs " << bytes
                       << " bytes of shared memory with head_dim " << headDim
                       << ", more than the limit of " << limit
                       << " (" << kMaxSharedMemoryBytes / kKiB
                       << " KiB, less 128 B of static shared memory)";
  return success();
}
