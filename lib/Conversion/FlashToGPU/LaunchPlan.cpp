//===- LaunchPlan.cpp - the launch ABI of a flash kernel ------------------===//

#include "flashc/Conversion/LaunchPlan.h"

#include "BlockMap.h"
#include "KernelContext.h"

using namespace mlir;
using namespace mlir::flash;

LaunchPlan flash::planLaunch(TiledOp tiled) {
  TileConfigAttr config = tiled.getConfig();
  auto qType = cast<MemRefType>(tiled.getQ().getType());
  LaunchPlan plan;
  plan.blockM = config.getBlockM();
  plan.warps = config.getWarps();
  Prefetch prefetch = tiled.getEffectivePolicy().getPrefetch();
  plan.threads = programThreads(plan.warps, hasProducer(prefetch));
  plan.tensorMaps = prefetch == Prefetch::tma;
  plan.headDim = qType.getDimSize(3);
  plan.kvSplits = config.getKvSplits();
  plan.sharedBytes = tiled.getSharedMemoryBytes();
  plan.blockMap = !dataDependentMasks(tiled).empty();
  plan.blockMapRows = static_cast<int>(blockMapRows(tiled));
  plan.blockN = config.getBlockN();
  plan.minBlocksPerSM =
      static_cast<int32_t>(tiled.getEffectivePolicy().getMinBlocksPerSm());
  return plan;
}
