//===- SelectConfig.cpp - pick a tile configuration -----------------------===//

#include "flashc/Transforms/Passes.h"
#include "flashc/Transforms/TuneCache.h"

#include "llvm/ADT/StringSwitch.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHSELECTCONFIG
#include "flashc/Transforms/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

TileConfigAttr mlir::flash::getDefaultTileConfig(MLIRContext *context,
                                                 int64_t headDim,
                                                 Type elementType,
                                                 int64_t seqQ) {
  // Measured on an H100 with `flashc tune` (bench/RESULTS.md, 2026-11-27):
  // mma.sync everywhere (S and P in registers; shared memory is Q, K and V
  // only), 64x64 tiles, 2 stages, 4 warps; except long sequences at
  // head_dim 64, where 128-row blocks with two 16-row strips per warp (K/V
  // fragments reused across strips) were 13% faster. At head_dim 128 the
  // two-strip version (128x32) was faster still but spills (255 registers),
  // which the project does not ship. Short known sequences (<= 512) keep
  // 64-row blocks: more blocks in flight on small grids. A dynamic seq is
  // taken as long.
  (void)elementType;
  bool shortSeq = seqQ > 0 && seqQ <= 512;
  if (headDim <= 64 && !shortSeq)
    return TileConfigAttr::get(context, /*block_m=*/128, /*block_n=*/64,
                               /*stages=*/2, /*warps=*/4, Strategy::mma_sync);
  return TileConfigAttr::get(context, /*block_m=*/64, /*block_n=*/64,
                             /*stages=*/2, /*warps=*/4, Strategy::mma_sync);
}

TileConfigAttr mlir::flash::getDefaultTileConfig(MLIRContext *context,
                                                 int64_t headDim,
                                                 Type elementType,
                                                 int64_t seqQ,
                                                 Strategy strategy) {
  if (strategy == Strategy::mma_sync)
    return getDefaultTileConfig(context, headDim, elementType, seqQ);
  // WMMA stages S, P and a broadcast tile in shared memory: at head_dim 128
  // block_n halves to stay within 99 KiB.
  int64_t blockN = headDim <= 64 ? 64 : 32;
  return TileConfigAttr::get(context, /*block_m=*/64, blockN, /*stages=*/2,
                             /*warps=*/4, Strategy::wmma);
}

/// Streaming multiprocessors of the usual card of each architecture: sm_80
/// A100 (108), sm_86 A10/RTX 3090 (72-82), sm_89 L4 (58), sm_90 H100 SXM
/// (132). 0 when unknown.
static int64_t multiprocessors(StringRef arch) {
  return llvm::StringSwitch<int64_t>(arch)
      .Case("sm_80", 108)
      .Case("sm_86", 72)
      .Case("sm_89", 58)
      .Cases({"sm_90", "sm_90a"}, 132)
      .Default(0);
}

int64_t mlir::flash::chooseKVSplits(StringRef arch, int64_t programs,
                                    int64_t keyBlocks) {
  // A grid smaller than the SM count leaves SMs idle (the origin shape,
  // 1x8 heads x 512 tokens, is 64 programs on 132 SMs): split each query
  // block's K/V loop so that the grid fills the SMs once, keeping at least
  // two K/V blocks per split so the pipeline still overlaps.
  int64_t sms = multiprocessors(arch);
  if (sms == 0 || programs <= 0 || programs * 2 > sms)
    return 1;
  int64_t splits = std::min({sms / programs, keyBlocks / 2, kMaxKVSplits});
  return std::max<int64_t>(splits, 1);
}

namespace {
struct SelectConfigPass
    : public mlir::flash::impl::FlashSelectConfigBase<SelectConfigPass> {
  using FlashSelectConfigBase::FlashSelectConfigBase;

  /// The tuned configuration for `op`, if the cache has one that verifies.
  TileConfigAttr tuned(AttentionOp op) {
    if (tuneCache.empty())
      return {};
    auto qType = cast<MemRefType>(op.getQ().getType());
    TuneKey key;
    key.arch = arch;
    key.dtype = qType.getElementType().isBF16() ? "bf16" : "f16";
    key.headDim = op.getHeadDim();
    key.causal = op.getCausal();
    key.seqBucket = seqBucket(qType.isDynamicDim(2) ? 0 : qType.getDimSize(2));
    std::optional<TuneEntry> entry = lookupTuneCache(tuneCache, key);
    if (!entry)
      return {};
    std::optional<Strategy> strategy = symbolizeStrategy(entry->strategy);
    if (!strategy)
      return {};
    // An entry that breaks a rule is skipped silently: a real diagnostic
    // (an empty InFlightDiagnostic converts to success), swallowed here.
    ScopedDiagnosticHandler silence(op.getContext(),
                                    [](Diagnostic &) { return success(); });
    auto emitNothing = [&] { return emitError(op.getLoc()); };
    if (failed(TileConfigAttr::verify(emitNothing, entry->blockM,
                                      entry->blockN, entry->stages,
                                      entry->warps, *strategy,
                                      entry->kvSplits)))
      return {};
    auto config =
        TileConfigAttr::get(op.getContext(), entry->blockM, entry->blockN,
                            entry->stages, entry->warps, *strategy,
                            entry->kvSplits);
    if (failed(config.verifyFor(emitNothing, key.headDim, 2)))
      return {};
    return config;
  }

  void runOnOperation() override {
    std::optional<Strategy> forced;
    if (!strategy.empty()) {
      forced = symbolizeStrategy(strategy);
      if (!forced) {
        getOperation()->emitError()
            << "flash-select-config: unknown strategy '" << strategy
            << "' (expected wmma or mma_sync)";
        return signalPassFailure();
      }
    }
    getOperation()->walk([&](AttentionOp op) {
      if (op.getConfigAttr())
        return;
      TileConfigAttr config = tuned(op);
      if (config && forced && config.getStrategy() != *forced)
        config = {};
      if (config) {
        op.setConfigAttr(config);
        return;
      }
      auto type = cast<MemRefType>(op.getQ().getType());
      int64_t seqQ = type.isDynamicDim(2) ? 0 : type.getDimSize(2);
      config = getDefaultTileConfig(op.getContext(), op.getHeadDim(),
                                    type.getElementType(), seqQ,
                                    forced.value_or(Strategy::mma_sync));
      auto kType = cast<MemRefType>(op.getK().getType());
      if (config.getStrategy() == Strategy::mma_sync && type.hasStaticShape() &&
          kType.hasStaticShape()) {
        int64_t programs = type.getDimSize(0) * type.getDimSize(1) *
                           llvm::divideCeil(seqQ, config.getBlockM());
        int64_t keyBlocks =
            llvm::divideCeil(kType.getDimSize(2), config.getBlockN());
        int64_t splits = chooseKVSplits(arch, programs, keyBlocks);
        if (splits > 1)
          config = TileConfigAttr::get(
              op.getContext(), config.getBlockM(), config.getBlockN(),
              config.getStages(), config.getWarps(), config.getStrategy(),
              splits);
      }
      op.setConfigAttr(config);
    });
  }
};
} // namespace
