//===- SelectConfig.cpp - pick a tile configuration -----------------------===//

#include "flashc/Transforms/Passes.h"

#include "flashc/Analysis/AffineMask.h"
#include "flashc/Runtime/KVSplits.h"
#include "flashc/Transforms/TuneCache.h"

#include "flashc/Target/TargetInfo.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHSELECTCONFIG
#include "flashc/Transforms/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

TileConfigAttr mlir::flash::getDefaultTileConfig(MLIRContext *context,
                                                 int64_t headDim,
                                                 Type elementType,
                                                 bool causal) {
  // The fastest measured without spills (bench/RESULTS.md, "Where the
  // heuristics' numbers come from"): mma.sync (S and P in registers), 4
  // warps, 2 stages; two 16-row strips per warp (128-row blocks) reuse each
  // K/V fragment twice, except causal head_dim 128, where 64x64 stays
  // ahead.
  (void)elementType;
  auto config = [&](int64_t blockM, int64_t blockN) {
    return TileConfigAttr::get(context, blockM, blockN, /*stages=*/2,
                               /*warps=*/4, Strategy::mma_sync);
  };
  // Up to 80, 128x64 with or without a mask (at 96 it spills on sm_80-89);
  // past 128, 32 keys a step (two stages of 64 pass 99 KiB), with two
  // strips a warp up to 160 without a mask and one otherwise (two spill: O
  // alone takes head_dim / 2 registers a lane per strip).
  if (headDim <= 80)
    return config(128, 64);
  if (headDim <= 128)
    return causal ? config(64, 64) : config(128, 32);
  return headDim <= 160 && !causal ? config(128, 32) : config(64, 32);
}

static bool fits(TileConfigAttr config, int64_t headDim);

TileConfigAttr mlir::flash::getDefaultTileConfig(MLIRContext *context,
                                                 int64_t headDim,
                                                 Type elementType, bool causal,
                                                 Strategy strategy) {
  if (strategy == Strategy::mma_sync)
    return getDefaultTileConfig(context, headDim, elementType, causal);
  if (strategy == Strategy::wgmma) {
    // Measured on the H200 (bench/RESULTS.md, entry 22): at head_dim 64 one
    // warpgroup of 64 rows with 128 keys a step, several programs an SM
    // whose softmax and products interleave; from 128 on two warpgroups
    // (128 rows) with the most keys a step that fit in two stages (128 at
    // 128, 64 at 192 and 256). Three stages were slower everywhere.
    if (headDim <= 64)
      return TileConfigAttr::get(context, 64, 128, /*stages=*/2, /*warps=*/4,
                                 strategy);
    for (int64_t blockN : {128, 64, 32}) {
      auto config = TileConfigAttr::get(context, 128, blockN, /*stages=*/2,
                                        /*warps=*/8, strategy);
      if (fits(config, headDim))
        return config;
    }
    llvm_unreachable("128x32 fits sm_90a's shared memory at every head dim");
  }
  // WMMA stages S, P and a broadcast tile in shared memory: at head_dim 128
  // block_n halves to stay within 99 KiB.
  int64_t blockN = headDim <= 64 ? 64 : 32;
  return TileConfigAttr::get(context, /*block_m=*/64, blockN, /*stages=*/2,
                             /*warps=*/4, Strategy::wmma);
}

/// Streaming multiprocessors of `arch` (TargetInfo.h); 0 when unknown.
static int64_t multiprocessors(StringRef arch) {
  const ArchInfo *info = lookupArch(arch);
  return info ? info->multiprocessors : 0;
}

/// Shared memory an SM gives its thread blocks (each block also takes 1 KiB
/// of it for the system); 0 when unknown.
static int64_t sharedBytesPerSM(StringRef arch) {
  const ArchInfo *info = lookupArch(arch);
  return info ? info->sharedBytesPerSM : 0;
}

int64_t mlir::flash::chooseKVSplits(StringRef arch, int64_t programBytes,
                                    int64_t programs, int64_t keyBlocks,
                                    bool causal, bool oneQueryBlock) {
  int64_t perSM =
      flashc::residentPrograms(sharedBytesPerSM(arch), programBytes);
  return flashc::chooseKVSplits(multiprocessors(arch), perSM, programs,
                                keyBlocks, causal, kMaxKVSplits, oneQueryBlock);
}

/// Whether `config` passes the tile-config rules for `headDim` (shared
/// memory included), without a diagnostic.
static bool fits(TileConfigAttr config, int64_t headDim) {
  ScopedDiagnosticHandler silence(config.getContext(),
                                  [](Diagnostic &) { return success(); });
  auto emitNothing = [&] {
    return emitError(UnknownLoc::get(config.getContext()));
  };
  return succeeded(config.verifyFor(emitNothing, headDim, 2));
}

/// `config` with `stages` pipeline stages.
static TileConfigAttr withStages(TileConfigAttr config, int64_t stages) {
  return TileConfigAttr::get(config.getContext(), config.getBlockM(),
                             config.getBlockN(), stages, config.getWarps(),
                             config.getStrategy(), config.getKvSplits());
}

/// `config` with `blockN` keys a step.
static TileConfigAttr withBlockN(TileConfigAttr config, int64_t blockN) {
  return TileConfigAttr::get(config.getContext(), config.getBlockM(), blockN,
                             config.getStages(), config.getWarps(),
                             config.getStrategy(), config.getKvSplits());
}

/// Long causal sequences at head_dim 128 take 128x32 instead of 64x64: once
/// the diagonal blocks are a small share of the work, two strips a warp
/// pay as they do without a mask; below that 64x64 stays ahead
/// (bench/RESULTS.md).
static TileConfigAttr fitToSequence(TileConfigAttr config, MemRefType qType,
                                    int64_t headDim, bool causal) {
  if (config.getStrategy() != Strategy::mma_sync || !causal || headDim != 128 ||
      qType.isDynamicDim(2) || qType.getDimSize(2) < 16384 ||
      config.getBlockM() != 64 || config.getBlockN() != 64)
    return config;
  return TileConfigAttr::get(config.getContext(), 128, 32, config.getStages(),
                             config.getWarps(), config.getStrategy());
}

/// The default's third pipeline stage where it pays and two programs still
/// share an SM: 128x32 at head_dim 128 without a mask (bench/RESULTS.md).
/// Not on sm_86/sm_89, whose
/// 100 KiB per SM would then hold one program, and not with a dynamic
/// sequence length, where the kernel (its tail-block copies kept) spills
/// 28-32 bytes on sm_80 and sm_90.
static TileConfigAttr deepenPipeline(TileConfigAttr config, MemRefType qType,
                                     MemRefType kType, int64_t headDim,
                                     bool causal, StringRef arch) {
  if (config.getStrategy() != Strategy::mma_sync || causal || headDim != 128 ||
      config.getStages() != 2 || qType.isDynamicDim(2) || kType.isDynamicDim(2))
    return config;
  TileConfigAttr deeper = withStages(config, 3);
  int64_t perProgram = deeper.getSharedMemoryBytes(headDim, 2) + 1024;
  if (!fits(deeper, headDim) || 2 * perProgram > sharedBytesPerSM(arch))
    return config;
  return deeper;
}

/// `config` adapted to a static grid that does not fill `arch`'s SMs: more,
/// smaller programs, first 64-row blocks, with a third stage where it fits
/// and the grid still leaves each SM one program at most (such grids wait
/// on memory latency), then split K/V loops (bench/RESULTS.md).
static TileConfigAttr fitToGrid(TileConfigAttr config, MemRefType qType,
                                MemRefType kType, int64_t headDim, bool causal,
                                StringRef arch) {
  if (config.getStrategy() == Strategy::wmma || !qType.hasStaticShape() ||
      !kType.hasStaticShape())
    return config;
  auto programsOf = [&](TileConfigAttr c) {
    return qType.getDimSize(0) * qType.getDimSize(1) *
           static_cast<int64_t>(
               llvm::divideCeil(qType.getDimSize(2), c.getBlockM()));
  };
  MLIRContext *context = config.getContext();
  if (programsOf(config) >= multiprocessors(arch))
    return config;
  if (config.getStrategy() == Strategy::wgmma) {
    // One warpgroup a program (64 rows) with the same keys a step where
    // they fit, then split K/V loops; no third stage (slower with wgmma).
    if (config.getBlockM() == 128) {
      auto half = TileConfigAttr::get(context, 64, config.getBlockN(),
                                      config.getStages(), /*warps=*/4,
                                      config.getStrategy());
      if (fits(half, headDim))
        config = half;
    }
  } else if (config.getBlockM() == 128) {
    // 64-key steps where they fit (past head_dim 128 they may not).
    auto half = TileConfigAttr::get(context, 64, 64, /*stages=*/2,
                                    config.getWarps(), config.getStrategy());
    config = fits(half, headDim)
                 ? half
                 : TileConfigAttr::get(context, 64, config.getBlockN(),
                                       config.getStages(), config.getWarps(),
                                       config.getStrategy());
  }
  // One program per SM at most: the extra stage costs no occupancy.
  if (config.getStrategy() == Strategy::mma_sync &&
      programsOf(config) <= multiprocessors(arch) &&
      fits(withStages(config, 3), headDim))
    config = withStages(config, 3);
  int64_t keyBlocks = static_cast<int64_t>(
      llvm::divideCeil(kType.getDimSize(2), config.getBlockN()));
  int64_t splits = chooseKVSplits(arch, config.getSharedMemoryBytes(headDim, 2),
                                  programsOf(config), keyBlocks, causal,
                                  qType.getDimSize(2) <= config.getBlockM());
  if (splits == 1)
    return config;
  return TileConfigAttr::get(context, config.getBlockM(), config.getBlockN(),
                             config.getStages(), config.getWarps(),
                             config.getStrategy(), splits);
}

/// A mask_mod that is no affine comparison: a block map serves it.
static bool isMapped(AttentionOp op) {
  return op.hasMaskMod() && !AffineMask::analyze(op.getMaskMod()).has_value();
}

/// Modifiers add live values to every score visit (their coordinates, and
/// for masks the per-block test); with two 16-row strips a warp that tips
/// 128-row programs into spills where the sequence length is dynamic (8
/// bytes on sm_90 for a sliding window at head_dim 64), the mask reads a
/// block map (56 bytes on sm_89 for a document mask) or a region loads at
/// the element's coordinates (48 bytes for a relative bias table), so they
/// take 64. wgmma's 128-key steps hold a warpgroup's 64x128 f32 scores
/// per step, and a score_mod's loads tip them into spills at head_dims
/// past 64 (a relative bias table at 128 on sm_90a, bench/RESULTS.md entry
/// 39), as does a mask served by a block map without causal (a document
/// mask at 128: 44 bytes; with causal it compiles): they take 64 keys.
static TileConfigAttr fitToModifiers(TileConfigAttr config, AttentionOp op,
                                     MemRefType qType) {
  bool twoStrips = config.getBlockM() == 2 * 16 * config.getWarps();
  bool mapped = isMapped(op);
  // Loads at the element's coordinates keep them clamped in registers.
  bool scoreClamped =
      op.hasScoreMod() && loadsAtCoordinates(op.getScoreMod(), ModKind::Score);
  bool clamped =
      scoreClamped ||
      (op.hasMaskMod() && loadsAtCoordinates(op.getMaskMod(), ModKind::Mask));
  if (config.getStrategy() == Strategy::wgmma &&
      (scoreClamped || (mapped && !op.getCausal())) && op.getHeadDim() > 64 &&
      config.getBlockN() > 64)
    return withBlockN(config, 64);
  // With mma_sync past head_dim 64, a block map's test beside a score_mod's
  // loads at the element's coordinates spilled at 64 keys a step (4 bytes
  // on sm_90: a document mask with a relative bias table, bottom-right
  // causal, split at launch); they take 32.
  if (config.getStrategy() == Strategy::mma_sync && mapped && scoreClamped &&
      op.getHeadDim() > 64 && config.getBlockN() > 32)
    config = withBlockN(config, 32);
  if (!(op.hasScoreMod() || op.hasMaskMod()) || !twoStrips ||
      !(qType.isDynamicDim(2) || mapped || clamped))
    return config;
  return TileConfigAttr::get(config.getContext(), config.getBlockM() / 2,
                             config.getBlockN(), config.getStages(),
                             config.getWarps(), config.getStrategy(),
                             config.getKvSplits());
}

/// A narrow sliding window (at most kNarrowWindowKeys keys a query): wgmma
/// programs of 64 rows and 64 keys a step, one warpgroup. A 128-row block
/// under a window of 256 visits 384 keys in three 128-key steps, every one
/// cut by an edge of the band; 64x64 visits 320 in five, two of them whole:
/// faster at head_dims 64 and 128 (bench/RESULTS.md, entry 40).
/// The window bounds the K/V loop to a few steps, so such a kernel never
/// splits it. Wider windows keep the default, as causal does.
constexpr int64_t kNarrowWindowKeys = 512;

static TileConfigAttr fitToWindow(TileConfigAttr config, AttentionOp op) {
  if (config.getStrategy() != Strategy::wgmma || !op.hasMaskMod())
    return config;
  std::optional<AffineMask> mask = AffineMask::analyze(op.getMaskMod());
  std::optional<int64_t> keys =
      mask ? mask->keysPerQuery(op.getCausal() && !op.getBottomRight())
           : std::nullopt;
  if (!keys || *keys > kNarrowWindowKeys)
    return config;
  return TileConfigAttr::get(config.getContext(), 64, 64, config.getStages(),
                             /*warps=*/4, config.getStrategy());
}

/// Whether a score_mod loads from its captures (ALiBi's slope a head, a
/// bias table).
static bool scoreLoads(AttentionOp op) {
  return op.hasScoreMod() &&
         op.getScoreMod()
             .walk([](memref::LoadOp) { return WalkResult::interrupt(); })
             .wasInterrupted();
}

/// A program of one warpgroup at head_dim 64 on wgmma (the default there)
/// with a modifier, neither varlen nor paged (not measured).
static bool oneWarpgroup64(TileConfigAttr config, AttentionOp op) {
  return config.getStrategy() == Strategy::wgmma && op.getHeadDim() == 64 &&
         config.getWarps() == 4 && config.getBlockM() == 64 &&
         (op.hasScoreMod() || op.hasMaskMod()) && !op.isVarlen() &&
         !op.isPaged();
}

/// The programs an SM (min_blocks_per_sm) for oneWarpgroup64's programs,
/// or 0 where the default policy stays. Under its two programs an SM,
/// ptxas gives a modifier's live values every register it may (253 for a
/// document mask, 243 for ALiBi, against the unmodified kernel's 159 at
/// three programs an SM), and the programs wait on latency with nothing to
/// switch to. A mask served by a block map takes 64-key steps
/// (fitBlockMapTo64Keys): a document's programs are short, a few key blocks
/// each, and the smaller tiles let four share an SM; beside a score_mod's
/// loads they spill at three, so those keep two. A score_mod that loads
/// from its captures takes three, unless it loads at the element's
/// coordinates (a relative bias table spills at three). Measured: 16 %
/// faster for a document mask, 8 % for ALiBi (bench/RESULTS.md, entry 47);
/// affine masks and a softcap keep the default (a 64-key step was slower
/// for prefix-LM).
static int64_t modifiedPrograms64(TileConfigAttr config, AttentionOp op) {
  if (!oneWarpgroup64(config, op))
    return 0;
  bool loads = scoreLoads(op);
  if (isMapped(op))
    return loads ? 0 : 4;
  if (loads && !loadsAtCoordinates(op.getScoreMod(), ModKind::Score))
    return 3;
  return 0;
}

static TileConfigAttr fitBlockMapTo64Keys(TileConfigAttr config,
                                          AttentionOp op) {
  // oneWarpgroup64 has 64 rows already.
  if (!isMapped(op) || !oneWarpgroup64(config, op) || config.getBlockN() != 128)
    return config;
  return withBlockN(config, 64);
}

static PolicyAttr fitOccupancyToModifiers(PolicyAttr policy,
                                          TileConfigAttr config,
                                          AttentionOp op) {
  int64_t programs = modifiedPrograms64(config, op);
  if (policy.getMinBlocksPerSm() >= programs)
    return policy;
  return PolicyAttr::get(policy.getContext(), policy.getQ(),
                         policy.getStaleMaxLog2(), policy.getPrefetch(),
                         programs);
}

/// A grid whose size is known only at launch may leave SMs idle (a decode
/// step: one query block per sequence and head, against a long cache): such
/// mma_sync and wgmma kernels take up to kMaxKVSplits splits, and the runtime
/// chooses how many for each launch (KVSplits.h). With one split a kernel skips
/// the merge (bench/RESULTS.md has the cost of being able to split). Only with
/// one strip a warp: two use nearly every register already, and the split's
/// values and merge make them spill (ptxas, sm_80 to sm_90: 4-36 bytes at
/// head_dim 64 strided, 80, 128 strided and 160). Strided operands past
/// head_dim 128 spill too with one strip (2-14 bytes at 144 and 192), so
/// they do not split either.
static TileConfigAttr splitAtLaunch(TileConfigAttr config, MemRefType qType,
                                    MemRefType kType, int64_t headDim,
                                    bool keysKnown = true) {
  bool oneStrip = config.getBlockM() == 16 * config.getWarps();
  // Q, K, V and O are all row-major or all strided (a verifier rule).
  bool strided = !qType.getLayout().isIdentity();
  // wgmma at head_dim 64 stays unable to split: able to, its unsplit
  // launches were 7.6 % slower (bench/RESULTS.md, entry 23).
  bool wgmma64 = config.getStrategy() == Strategy::wgmma && headDim <= 64;
  if (config.getStrategy() == Strategy::wmma || config.getKvSplits() > 1 ||
      !oneStrip || wgmma64 || (strided && headDim > 128) ||
      (keysKnown && qType.hasStaticShape() && kType.hasStaticShape()))
    return config;
  // A static batch keeps batch · splits within the grid's z limit.
  int64_t splits = kMaxKVSplits;
  if (!qType.isDynamicDim(0))
    splits = std::min(splits, kMaxGridYZ / qType.getDimSize(0));
  if (splits < 2)
    return config;
  return TileConfigAttr::get(config.getContext(), config.getBlockM(),
                             config.getBlockN(), config.getStages(),
                             config.getWarps(), config.getStrategy(), splits);
}

/// A static query length of at most 64 (decoding, short chunks) against
/// keys of any length: one 64-row block per sequence and head, one strip a
/// warp, where 128 rows would be mostly empty; such a kernel may then split
/// (splitAtLaunch) where the grid is known only at launch.
/// Varlen and paged programs find their rows through sequence bounds or a
/// block table, which takes registers: with mma_sync, two 16-row strips a
/// warp spill at some head dims (4-128 bytes at 64 causal, 80 and 160 on
/// sm_80-90), so they take one.
static TileConfigAttr oneStripAWarp(TileConfigAttr config) {
  if (config.getStrategy() != Strategy::mma_sync ||
      config.getBlockM() <= 16 * config.getWarps())
    return config;
  return TileConfigAttr::get(config.getContext(), 16 * config.getWarps(),
                             config.getBlockN(), config.getStages(),
                             config.getWarps(), config.getStrategy(),
                             config.getKvSplits());
}

static TileConfigAttr fitToShortQueries(TileConfigAttr config, MemRefType qType,
                                        int64_t headDim) {
  if (config.getStrategy() != Strategy::mma_sync || qType.isDynamicDim(2) ||
      qType.getDimSize(2) > 64 || config.getBlockM() != 128)
    return config;
  MLIRContext *context = config.getContext();
  auto square = TileConfigAttr::get(context, 64, 64, config.getStages(),
                                    config.getWarps(), config.getStrategy());
  if (fits(square, headDim))
    return square;
  return TileConfigAttr::get(context, 64, config.getBlockN(),
                             config.getStages(), config.getWarps(),
                             config.getStrategy());
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
    if (failed(TileConfigAttr::verify(emitNothing, entry->blockM, entry->blockN,
                                      entry->stages, entry->warps, *strategy,
                                      entry->kvSplits)))
      return {};
    auto config = TileConfigAttr::get(op.getContext(), entry->blockM,
                                      entry->blockN, entry->stages,
                                      entry->warps, *strategy, entry->kvSplits);
    return fits(config, key.headDim) ? config : TileConfigAttr();
  }

  void runOnOperation() override {
    std::optional<Strategy> forced;
    if (!strategy.empty()) {
      forced = symbolizeStrategy(strategy);
      if (!forced) {
        getOperation()->emitError()
            << "flash-select-config: unknown strategy '" << strategy
            << "' (expected wmma, mma_sync or wgmma)";
        return signalPassFailure();
      }
    }
    const ArchInfo *target = lookupArch(arch);
    bool hasWgmma = target && target->hasWgmma;
    auto refuseWgmma = [&](Operation *op) {
      op->emitOpError() << "flash-select-config: strategy wgmma needs --arch "
                           "sm_90a (Hopper's warpgroup MMA), got '"
                        << arch << "'";
      return WalkResult::interrupt();
    };
    WalkResult result = getOperation()->walk([&](AttentionOp op) {
      Strategy heuristic = forced.value_or(defaultStrategy(op, hasWgmma));
      Strategy wanted =
          op.getConfigAttr() ? op.getConfigAttr().getStrategy() : heuristic;
      if (wanted == Strategy::wgmma && !hasWgmma)
        return refuseWgmma(op);
      if (!op.getConfigAttr() && forced == Strategy::wgmma &&
          op.getHeadDim() % 64 != 0) {
        op.emitOpError() << "flash-select-config: strategy wgmma needs a "
                            "head_dim that is a multiple of 64, got "
                         << op.getHeadDim() << "; use mma_sync";
        return WalkResult::interrupt();
      }
      if (!op.getConfigAttr() && forced == Strategy::wmma &&
          op.getHeadDim() > kMaxWmmaHeadDim) {
        op.emitOpError() << "flash-select-config: strategy wmma supports "
                            "head_dim up to "
                         << kMaxWmmaHeadDim << ", got " << op.getHeadDim()
                         << "; use mma_sync";
        return WalkResult::interrupt();
      }
      bool chosen = !op.getConfigAttr();
      if (chosen)
        op.setConfigAttr(chooseConfig(op, forced, heuristic));
      if (!op.getPolicyAttr()) {
        auto qType = cast<MemRefType>(op.getQ().getType());
        PolicyAttr policy = getDefaultPolicy(
            op.getConfigAttr(), op.getHeadDim(),
            qType.getElementTypeBitWidth() / 8, keyLayoutOf(op));
        // Only for a config of the heuristic's: an explicit one keeps the
        // policy its tiles imply.
        if (chosen)
          policy = fitOccupancyToModifiers(policy, op.getConfigAttr(), op);
        op.setPolicyAttr(policy);
      }
      return WalkResult::advance();
    });
    // A hand-written tile program names its strategy too.
    WalkResult tiles = getOperation()->walk([&](TiledOp op) {
      if (op.getConfig().getStrategy() != Strategy::wgmma || hasWgmma)
        return WalkResult::advance();
      return refuseWgmma(op);
    });
    if (result.wasInterrupted() || tiles.wasInterrupted())
      signalPassFailure();
  }

  /// The strategy of the heuristic for `op` when none is forced: wgmma
  /// where the target has it and the head dim allows, except for decoding
  /// (a static query length of at most 64, a paged cache), where wgmma's
  /// 64-row warpgroup tiles are not yet measured against mma_sync's.
  static Strategy defaultStrategy(AttentionOp op, bool hasWgmma) {
    auto qType = cast<MemRefType>(op.getQ().getType());
    bool shortQueries = !qType.isDynamicDim(2) && qType.getDimSize(2) <= 64;
    if (!hasWgmma || op.getHeadDim() % 64 != 0 || shortQueries || op.isPaged())
      return Strategy::mma_sync;
    return Strategy::wgmma;
  }

  /// The tuned configuration of `op`, else the heuristic's (`heuristic`
  /// its strategy).
  TileConfigAttr chooseConfig(AttentionOp op, std::optional<Strategy> forced,
                              Strategy heuristic) {
    TileConfigAttr config = tuned(op);
    if (config && forced && config.getStrategy() != *forced)
      config = {};
    if (config)
      return config;
    auto qType = cast<MemRefType>(op.getQ().getType());
    auto kType = cast<MemRefType>(op.getK().getType());
    config =
        getDefaultTileConfig(op.getContext(), op.getHeadDim(),
                             qType.getElementType(), op.getCausal(), heuristic);
    // Varlen: seq is the total of the packed sequences, not any one
    // sequence's length, so the fits to the sequence and the grid (and the
    // split, not supported with varlen yet) do not apply.
    if (op.isVarlen())
      return fitToModifiers(oneStripAWarp(config), op, qType);
    // Paged K/V: K's seq is the page size, and the key lengths are known
    // only at launch; the query side fits as for any cache.
    if (op.isPaged()) {
      config = oneStripAWarp(config);
      config = fitToShortQueries(config, qType, op.getHeadDim());
      config = fitToModifiers(config, op, qType);
      return splitAtLaunch(config, qType, kType, op.getHeadDim(),
                           /*keysKnown=*/false);
    }
    config = fitToSequence(config, qType, op.getHeadDim(), op.getCausal());
    config = fitToShortQueries(config, qType, op.getHeadDim());
    config = deepenPipeline(config, qType, kType, op.getHeadDim(),
                            op.getCausal(), arch);
    config =
        fitToGrid(config, qType, kType, op.getHeadDim(), op.getCausal(), arch);
    config = fitToModifiers(config, op, qType);
    config = fitBlockMapTo64Keys(config, op);
    return fitToWindow(splitAtLaunch(config, qType, kType, op.getHeadDim()),
                       op);
  }
};
} // namespace
