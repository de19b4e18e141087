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
  return headDim >= kMinHeadDim && headDim <= kMaxHeadDim && headDim % 16 == 0;
}

bool mlir::flash::mmaSyncSwizzlesRows(int64_t headDim) {
  return headDim % 64 == 0;
}

static int64_t alignTo128(int64_t bytes) { return (bytes + 127) / 128 * 128; }

// Keep in step with the buffers FlashToGPU.cpp allocates (see
// docs/TileLevel.md): Q, `stages` K and V buffers, and for wmma the f32 score
// tile (also used to stage O at the end), the P tile, and one 16x16 f32
// row-broadcast tile per 16-row strip.
/// Elements of one Q, K or V row in shared memory: WMMA pads rows by 8
/// elements against bank conflicts; mma_sync swizzles unpadded rows where it
/// can; wgmma reads unpadded rows in swizzled 64-column blocks (whole 1 KiB
/// swizzle atoms, so every buffer stays 1 KiB aligned).
static int64_t sharedRowElements(TileConfigAttr config, int64_t headDim) {
  bool unpadded = config.getStrategy() == Strategy::wgmma ||
                  (config.getStrategy() == Strategy::mma_sync &&
                   mmaSyncSwizzlesRows(headDim));
  return unpadded ? headDim : headDim + 8;
}

int64_t TileConfigAttr::getResidentTileBytes(int64_t headDim,
                                             int64_t elementBytes) const {
  return alignTo128(getBlockM() * sharedRowElements(*this, headDim) *
                    elementBytes);
}

int64_t TileConfigAttr::getStagingTileBytes(int64_t elementBytes) const {
  return alignTo128(getBlockM() * (getBlockN() + 8) * elementBytes);
}

int64_t TileConfigAttr::getSharedMemoryBytes(int64_t headDim,
                                             int64_t elementBytes) const {
  int64_t bm = getBlockM(), bn = getBlockN();
  int64_t rowElements = sharedRowElements(*this, headDim);
  int64_t q = getResidentTileBytes(headDim, elementBytes);
  int64_t kv = 2 * alignTo128(getStages() * bn * rowElements * elementBytes);
  // wgmma keeps room for the mbarriers of a producer's K/V ring
  // (kRingBarrierBytes: whole 128-byte lines, so that every buffer before
  // it stays 1 KiB aligned).
  if (getStrategy() == Strategy::wgmma)
    return q + kv + kRingBarrierBytes;
  // mma.sync keeps S, P and the row statistics in registers.
  if (getStrategy() != Strategy::wmma)
    return q + kv;
  int64_t scores = alignTo128(bm * (std::max(bn, headDim) + 4) * 4);
  int64_t probs = alignTo128(bm * (bn + 8) * elementBytes);
  int64_t broadcast = alignTo128(bm * 16 * 4);
  return q + kv + scores + probs + broadcast;
}

LogicalResult
TileConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       int64_t blockM, int64_t blockN, int64_t stages,
                       int64_t warps, Strategy strategy, int64_t kvSplits) {
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
  if (kvSplits > 1 && strategy == Strategy::wmma)
    return emitError() << "tile config: kv_splits = " << kvSplits
                       << " needs strategy mma_sync or wgmma (partial results "
                          "are written from accumulator registers, which WMMA "
                          "keeps opaque)";
  if (strategy == Strategy::wgmma &&
      ((warps != 4 && warps != 8) || blockM != 16 * warps))
    return emitError() << "tile config: strategy wgmma needs whole "
                          "warpgroups (warps = 4 or 8) with one 16-row strip "
                          "a warp (block_m = 16 · warps), got block_m = "
                       << blockM << ", warps = " << warps;
  if (blockM % (16 * warps) != 0)
    return emitError() << "tile config: block_m / warps = " << blockM << " / "
                       << warps
                       << " must be a multiple of 16 (each warp owns whole "
                          "16-row strips)";
  return success();
}

LogicalResult
TileConfigAttr::verifyFor(function_ref<InFlightDiagnostic()> emitError,
                          int64_t headDim, int64_t elementBytes,
                          int64_t extraBytes) const {
  if (getStrategy() == Strategy::wmma && headDim > kMaxWmmaHeadDim)
    return emitError() << "tile config: strategy wmma supports head_dim up to "
                       << kMaxWmmaHeadDim << ", got " << headDim
                       << " (it keeps Q's and O's fragments in registers, "
                          "which spill past that; use mma_sync)";
  if (getStrategy() == Strategy::wgmma && headDim % 64 != 0)
    return emitError() << "tile config: strategy wgmma needs a head_dim that "
                          "is a multiple of 64, got "
                       << headDim
                       << " (its operands are 128-byte swizzled rows of 64 "
                          "elements; use mma_sync)";
  int64_t bytes = getSharedMemoryBytes(headDim, elementBytes) + extraBytes;
  // The kernel also declares a little static shared memory (the dynamic
  // buffer's symbol): keep 128 bytes of the per-block limit for it.
  // wgmma kernels run on sm_90a only, and may take what it allows.
  int64_t perBlock = getStrategy() == Strategy::wgmma
                         ? kMaxWgmmaSharedMemoryBytes
                         : kMaxSharedMemoryBytes;
  int64_t limit = perBlock - 128;
  if (bytes > limit)
    return emitError() << (extraBytes ? "tile config and the program's kept "
                                        "tiles need "
                                      : "tile config needs ")
                       << bytes << " bytes of shared memory with head_dim "
                       << headDim << ", more than the limit of " << limit
                       << " (" << perBlock / kKiB
                       << " KiB, less 128 B of static shared memory)";
  return success();
}

LogicalResult PolicyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 QPlacement q, int64_t staleMaxLog2,
                                 Prefetch prefetch, int64_t minBlocksPerSM) {
  // Probabilities reach 2^stale_max_log2: 2^15 is the largest power of two
  // below f16's maximum (65504).
  if (staleMaxLog2 < 0 || staleMaxLog2 > 15)
    return emitError() << "policy: stale_max_log2 = " << staleMaxLog2
                       << " is outside 0..15 (probabilities reach "
                          "2^stale_max_log2 and must fit f16)";
  if (minBlocksPerSM < 1 || minBlocksPerSM > 32)
    return emitError() << "policy: min_blocks_per_sm = " << minBlocksPerSM
                       << " is outside 1..32";
  return success();
}

LogicalResult
PolicyAttr::verifyFor(function_ref<InFlightDiagnostic()> emitError,
                      TileConfigAttr config) const {
  if (config.getStrategy() == Strategy::wgmma && getQ() != QPlacement::shared)
    return emitError() << "policy: strategy wgmma needs q = shared (its "
                          "products read Q from shared memory)";
  if (hasProducer(getPrefetch()) &&
      (config.getStrategy() != Strategy::wgmma || config.getStages() < 2))
    return emitError() << "policy: prefetch = "
                       << stringifyPrefetch(getPrefetch())
                       << " needs strategy wgmma and 2 or more stages (its "
                          "mbarrier ring; stages = "
                       << config.getStages() << ")";
  if (config.getStrategy() != Strategy::wmma)
    return success();
  if (getQ() == QPlacement::shared)
    return emitError() << "policy: q = shared needs strategy mma_sync (WMMA "
                          "keeps Q's fragments in registers)";
  if (getStaleMaxLog2() != 0)
    return emitError() << "policy: stale_max_log2 needs strategy mma_sync";
  return success();
}

/// Registers per thread that ptxas should keep available: an occupancy
/// bought with spills is slower (at 3 blocks of 128 threads ptxas caps at
/// 168 registers and two-strip kernels spill).
constexpr int64_t kRegistersPerThread = 200;

bool mlir::flash::hasLaunchStrides(MemRefType type) {
  auto strided = dyn_cast<StridedLayoutAttr>(type.getLayout());
  if (!strided)
    return type.getLayout().isIdentity();
  ArrayRef<int64_t> strides = strided.getStrides();
  return llvm::all_of(strides.drop_back(), ShapedType::isDynamic);
}

PolicyAttr mlir::flash::getDefaultPolicy(TileConfigAttr config, int64_t headDim,
                                         int64_t elementBytes, KeyLayout keys) {
  bool pagedKeys = keys == KeyLayout::Paged;
  bool mmaSync = config.getStrategy() == Strategy::mma_sync;
  int64_t strips = config.getBlockM() / config.getWarps() / 16;
  // Q's A fragments take 4 registers per 16x16 piece: 32 per lane with one
  // strip at head_dim 128 or two strips at 64. Two strips at head_dim 128
  // would take 64 beside O's 128 and S's 64 and spill; one strip keeps Q in
  // registers up to head_dim 192 (48 beside O's 96), not at 256 (where a
  // causal kernel spills), and with a paged cache, whose copies look up
  // pages, up to 160 (at 192 a causal kernel spilled 4 bytes).
  int64_t qRegisterElements = strips == 1 ? (pagedKeys ? 160 : 192) : 128;
  QPlacement q = config.getStrategy() == Strategy::wgmma ? QPlacement::shared
                 : !mmaSync || strips * headDim <= qRegisterElements
                     ? QPlacement::registers
                     : QPlacement::shared;
  // With 32 keys a step the O rescale costs as much as a quarter of the
  // step's products, and skipping it pays for the vote; at block_n 64 it
  // does not (bench/RESULTS.md).
  int64_t staleMaxLog2 = mmaSync && config.getBlockN() <= 32 ? 8 : 0;
  // With 2 stages the copy needs all the lead it can get; with 3+ the block
  // is not needed before the step after next.
  Prefetch prefetch = config.getStages() >= 3 ? Prefetch::after_first_dot
                                              : Prefetch::after_barrier;
  // Two wgmma warpgroups gain from a producer warpgroup (no barrier of the
  // whole program a step, so that one's softmax overlaps the other's
  // products: bench/RESULTS.md, entry 26); one warpgroup a program loses
  // by a cp.async producer, as fewer programs then share an SM. TMA
  // copies, where a tensor map can describe K and V, gain a little more
  // (entry 29) and leave the producer no addresses to hold, so that head
  // dim 192 takes them too; a cp.async producer's copies must take whole
  // rows a round (head_dim 64, 128, 256): at 192 its idle lanes' addresses
  // spill.
  bool twoWarpgroups =
      config.getStrategy() == Strategy::wgmma && config.getWarps() == 8;
  if (twoWarpgroups && config.getStages() >= 2 && keys == KeyLayout::Plain)
    prefetch = Prefetch::tma;
  else if (twoWarpgroups && config.getStages() >= 2 &&
           kProducerThreads % (headDim / 8) == 0)
    prefetch = Prefetch::producer;
  // How many blocks share an SM (shared memory decides it, on the smallest
  // SM of the supported archs): without it ptxas aims at an occupancy the
  // shared memory never allows and caps registers at 128, spilling.
  int64_t threads = programThreads(config.getWarps(), hasProducer(prefetch));
  int64_t smemPerSM = config.getStrategy() == Strategy::wgmma
                          ? wgmmaMinimum(&ArchInfo::sharedBytesPerSM)
                          : portableMinimum(&ArchInfo::sharedBytesPerSM);
  int64_t blocksBySmem =
      smemPerSM /
      std::max<int64_t>(config.getSharedMemoryBytes(headDim, elementBytes), 1);
  int64_t blocksByRegisters = portableMinimum(&ArchInfo::registersPerSM) /
                              (threads * kRegistersPerThread);
  int64_t minBlocks =
      std::max<int64_t>(1, std::min(blocksBySmem, blocksByRegisters));
  return PolicyAttr::get(config.getContext(), q, staleMaxLog2, prefetch,
                         minBlocks);
}

Attribute TileConfigAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  std::optional<int64_t> blockM, blockN, stages, warps, kvSplits;
  std::optional<Strategy> strategy;
  auto parseField = [&]() -> ParseResult {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return failure();
    auto once = [&](bool given) -> ParseResult {
      if (given)
        return parser.emitError(keyLoc)
               << "tile config: '" << key << "' is given twice";
      return success();
    };
    auto integer = [&](std::optional<int64_t> &field) -> ParseResult {
      int64_t value = 0;
      if (once(field.has_value()) || parser.parseInteger(value))
        return failure();
      field = value;
      return success();
    };
    if (key == "block_m")
      return integer(blockM);
    if (key == "block_n")
      return integer(blockN);
    if (key == "stages")
      return integer(stages);
    if (key == "warps")
      return integer(warps);
    if (key == "kv_splits")
      return integer(kvSplits);
    if (key == "strategy") {
      SMLoc nameLoc = parser.getCurrentLocation();
      StringRef name;
      if (once(strategy.has_value()) || parser.parseKeyword(&name))
        return failure();
      strategy = symbolizeStrategy(name);
      if (!strategy)
        return parser.emitError(nameLoc)
               << "tile config: unknown strategy '" << name
               << "' (expected mma_sync, wmma or wgmma)";
      return success();
    }
    return parser.emitError(keyLoc)
           << "tile config: unknown key '" << key
           << "' (expected block_m, block_n, stages, warps, strategy, "
              "kv_splits)";
  };
  if (parser.parseLess() || parser.parseCommaSeparatedList(parseField) ||
      parser.parseGreater())
    return {};
  for (auto [name, field] :
       {std::pair<StringRef, std::optional<int64_t> &>{"block_m", blockM},
        {"block_n", blockN},
        {"stages", stages},
        {"warps", warps}})
    if (!field) {
      parser.emitError(loc) << "tile config: '" << name << "' is missing";
      return {};
    }
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    *blockM, *blockN, *stages, *warps,
                    strategy.value_or(Strategy::mma_sync),
                    kvSplits.value_or(1));
}

void TileConfigAttr::print(AsmPrinter &printer) const {
  printer << "<block_m = " << getBlockM() << ", block_n = " << getBlockN()
          << ", stages = " << getStages() << ", warps = " << getWarps()
          << ", strategy = " << stringifyStrategy(getStrategy());
  if (getKvSplits() != 1)
    printer << ", kv_splits = " << getKvSplits();
  printer << ">";
}

void mlir::flash::registerFlashDialect(DialectRegistry &registry) {
  registry.insert<FlashDialect>();
}
