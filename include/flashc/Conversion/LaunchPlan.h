//===- LaunchPlan.h - the launch ABI of a flash kernel ----------*- C++ -*-===//
//
// How a compiled flash.tiled program is launched: block size, dynamic shared
// memory, grid, split workspace, and the occupancy ptxas is told to aim at.
// flash-to-gpu builds the host-side launch from it and the bundle writer
// (describeKernel) copies it into the bundle, so both read one computation.
// The runtime, which has no MLIR, reads the same numbers from the bundle
// (flashc::KernelBundle).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_CONVERSION_LAUNCHPLAN_H
#define FLASHC_CONVERSION_LAUNCHPLAN_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace mlir::flash {

/// The kernel attribute that counts its trailing tensor-map parameters
/// (flash-to-gpu sets it; flash-tensor-map-args makes those parameters
/// 128-byte, 64-aligned by-value grid constants).
constexpr llvm::StringLiteral kTensorMapArgsAttrName = "flash.tensor_maps";
/// Bytes of a tensor map (CUDA's CUtensorMap), and its parameter alignment.
constexpr int64_t kTensorMapBytes = 128, kTensorMapAlignment = 64;
/// Columns of a tensor-map box: 64 elements are the 128 bytes that the
/// 128-byte swizzle allows in a box's row.
constexpr int64_t kTensorMapBoxColumns = 64;

struct LaunchPlan {
  int64_t blockM = 0; // query rows per program: grid x = ceil(seq_q / blockM)
  int64_t warps = 0;
  int64_t threads = 0; // block = (threads, 1, 1)
  int64_t sharedBytes = 0;
  int64_t kvSplits = 1; // grid z
  int64_t headDim = 0;
  /// Blocks per SM that ptxas may assume (nvvm.minctasm): the policy's.
  int32_t minBlocksPerSM = 1;
  /// The program has a data-dependent mask: a map kernel runs first, grid
  /// (key blocks, query blocks, map rows), and both kernels take the i32
  /// map of that many entries after the program's operands.
  bool blockMap = false;
  /// The map's rows: 0 one for the launch, 1 one per batch, 2 one per
  /// (batch, head) (BlockMap.h, MapRows); grid z of the map kernel.
  int blockMapRows = 0;
  int64_t blockN = 0;
  /// The kernel copies K and V by TMA: it takes their tensor maps as its
  /// last two parameters (by value, 128 bytes each: kTensorMapBytes), which
  /// the runtime encodes at launch (box: 64 columns by block_n rows,
  /// 128-byte swizzle, zero fill past the tensor's edge).
  bool tensorMaps = false;

  /// The split workspace (kvSplits > 1): f32 partials, one block_m ·
  /// (head_dim + 8) slot per (split, tile) (SplitKV.cpp lays it out), and
  /// i32 arrival counters per tile (batch·head, query block) that are zero
  /// before the first launch (each launch leaves them zero).
  int64_t partialFloatsPerSlot() const { return blockM * (headDim + 8); }
  int64_t countersPerTile() const { return warps; }
};

/// The launch of `tiled` (its tile config and operand types).
LaunchPlan planLaunch(TiledOp tiled);

} // namespace mlir::flash

#endif // FLASHC_CONVERSION_LAUNCHPLAN_H
