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
  plan.sharedBytes = programSharedBytes(tiled);
  plan.blockMap = !dataDependentMasks(tiled).empty();
  plan.blockMapRows = static_cast<int>(blockMapRows(tiled));
  plan.blockN = config.getBlockN();
  plan.minBlocksPerSM =
      static_cast<int32_t>(tiled.getEffectivePolicy().getMinBlocksPerSm());
  return plan;
}

int64_t flash::programSharedBytes(TiledOp tiled) {
  TileConfigAttr config = tiled.getConfig();
  auto qType = cast<MemRefType>(tiled.getQ().getType());
  int64_t headDim = qType.getDimSize(3);
  int64_t elementBytes = qType.getElementTypeBitWidth() / 8;
  return config.getSharedMemoryBytes(headDim, elementBytes) +
         static_cast<int64_t>(residentCaptureTiles(tiled).size()) *
             config.getResidentTileBytes(headDim, elementBytes);
}

SmallVector<LoadTileOp> flash::residentCaptureTiles(TiledOp tiled) {
  SmallVector<LoadTileOp> tiles;
  for (auto load : tiled.getBody().front().getOps<LoadTileOp>())
    if (load.getSource() != tiled.getQ() &&
        llvm::is_contained(tiled.getCaptures(), load.getSource()))
      tiles.push_back(load);
  return tiles;
}
