//===- LaunchPlan.cpp - the launch ABI of a flash kernel ------------------===//

#include "flashc/Conversion/LaunchPlan.h"

#include "KernelContext.h"

#include "flashc/Target/TargetInfo.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;

/// Registers per thread that ptxas should keep available: an occupancy
/// bought with spills is slower (at 3 blocks of 128 threads ptxas caps at
/// 168 and two-strip kernels spill).
constexpr int64_t kRegistersPerThread = 200;

LaunchPlan flash::planLaunch(TiledOp tiled) {
  TileConfigAttr config = tiled.getConfig();
  auto qType = cast<MemRefType>(tiled.getQ().getType());
  LaunchPlan plan;
  plan.blockM = config.getBlockM();
  plan.warps = config.getWarps();
  plan.threads = kWarpThreads * plan.warps;
  plan.headDim = qType.getDimSize(3);
  plan.kvSplits = config.getKvSplits();
  plan.sharedBytes = config.getSharedMemoryBytes(
      plan.headDim, qType.getElementTypeBitWidth() / 8);
  // How many blocks share an SM (shared memory decides it, on the smallest
  // SM of the supported archs): without it ptxas aims at an occupancy the
  // shared memory never allows and caps registers at 128, spilling.
  int64_t blocksBySmem = portableMinimum(&ArchInfo::sharedBytesPerSM) /
                         std::max<int64_t>(plan.sharedBytes, 1);
  int64_t blocksByRegisters = portableMinimum(&ArchInfo::registersPerSM) /
                              (plan.threads * kRegistersPerThread);
  plan.minBlocksPerSM = static_cast<int32_t>(
      std::max<int64_t>(1, std::min(blocksBySmem, blocksByRegisters)));
  return plan;
}
