//===- SelectConfig.cpp - pick a tile configuration -----------------------===//

#include "flashc/Transforms/Passes.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHSELECTCONFIG
#include "flashc/Transforms/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

TileConfigAttr mlir::flash::getDefaultTileConfig(MLIRContext *context,
                                                 int64_t headDim,
                                                 Type elementType) {
  // Measured on an H100 (bench/RESULTS.md, 2026-11-27): mma.sync with 64x64
  // tiles, 2 stages and 4 warps was the fastest configuration tried at both
  // head dims (1.2-1.9x the WMMA strategy); with S and P in registers its
  // shared memory (Q, K and V only) fits 99 KiB at head_dim 128 too.
  (void)headDim;
  (void)elementType;
  return TileConfigAttr::get(context, /*block_m=*/64, /*block_n=*/64,
                             /*stages=*/2, /*warps=*/4, Strategy::mma_sync);
}

namespace {
struct SelectConfigPass
    : public mlir::flash::impl::FlashSelectConfigBase<SelectConfigPass> {
  void runOnOperation() override {
    getOperation()->walk([](AttentionOp op) {
      if (op.getConfigAttr())
        return;
      auto type = cast<MemRefType>(op.getQ().getType());
      op.setConfigAttr(getDefaultTileConfig(op.getContext(), op.getHeadDim(),
                                            type.getElementType()));
    });
  }
};
} // namespace
