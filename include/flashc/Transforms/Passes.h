//===- Passes.h - flash dialect transformations -----------------*- C++ -*-===//

#ifndef FLASHC_TRANSFORMS_PASSES_H
#define FLASHC_TRANSFORMS_PASSES_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir::flash {
#define GEN_PASS_DECL
#include "flashc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "flashc/Transforms/Passes.h.inc"

/// The heuristic tile configuration for a head dim, element type and mask
/// (select-config adjusts it to small static grids).
TileConfigAttr getDefaultTileConfig(MLIRContext *context, int64_t headDim,
                                    Type elementType, bool causal);
/// The heuristic configuration for a given strategy.
TileConfigAttr getDefaultTileConfig(MLIRContext *context, int64_t headDim,
                                    Type elementType, bool causal,
                                    Strategy strategy);
/// K/V splits for `programs` thread blocks of `programBytes` of shared
/// memory with `keyBlocks` K/V blocks each on `arch`
/// (flashc/Runtime/KVSplits.h, which the runtime applies at launch).
int64_t chooseKVSplits(StringRef arch, int64_t programBytes, int64_t programs,
                       int64_t keyBlocks, bool causal, bool oneQueryBlock);
} // namespace mlir::flash

#endif // FLASHC_TRANSFORMS_PASSES_H
