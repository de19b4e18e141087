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
  (void)elementType; // f16 and bf16 are both 2 bytes: the same tiles fit.
  // 64x64 tiles double-buffered fit 99 KiB at head_dim 64; at 128 the K/V
  // buffers double, so block_n halves to stay under the limit.
  int64_t blockN = headDim <= 64 ? 64 : 32;
  return TileConfigAttr::get(context, /*block_m=*/64, blockN, /*stages=*/2,
                             /*warps=*/4, Strategy::wmma);
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
