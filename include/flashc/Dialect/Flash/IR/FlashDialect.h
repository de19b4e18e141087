//===- FlashDialect.h - the flash dialect -----------------------*- C++ -*-===//
//
// The flash dialect: attention at the user level (flash.attention) and the
// Triton-style tile level (flash.tiled and the tile ops).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_DIALECT_FLASH_IR_FLASHDIALECT_H
#define FLASHC_DIALECT_FLASH_IR_FLASHDIALECT_H

#include "flashc/Target/TargetInfo.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "flashc/Dialect/Flash/IR/FlashEnums.h.inc"
#include "flashc/Dialect/Flash/IR/FlashOpsDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "flashc/Dialect/Flash/IR/FlashAttrs.h.inc"

#define GET_OP_CLASSES
#include "flashc/Dialect/Flash/IR/FlashOps.h.inc"

namespace mlir::flash {
/// The key length of batch `batch` of a paged cache: its `seqlensK` entry,
/// at most the keys its block table row holds (columns of `blockTable` ·
/// the page size, K's dim 2), so that a bad entry cannot send the copies
/// past the row. flash-expand-attention and flash-to-gpu both use it.
Value pagedKeyLength(OpBuilder &b, Location loc, Value seqlensK,
                     Value blockTable, Value kCache, Value batch);
/// Head dims the dialect accepts (and the lowering supports): multiples of
/// 16 (the tensor-core k step) from 32 to 256.
bool isSupportedHeadDim(int64_t headDim);
constexpr int64_t kMinHeadDim = 32, kMaxHeadDim = 256;
/// The largest head_dim of strategy wmma (TileConfigAttr::verifyFor).
constexpr int64_t kMaxWmmaHeadDim = 128;
/// Whether mma_sync's shared Q/K/V rows are XOR-swizzled (head_dim a
/// multiple of 64: the XOR of a chunk with row % 8 stays inside its row);
/// other head dims pad each row by 8 elements instead.
bool mmaSyncSwizzlesRows(int64_t headDim);
/// Shared memory a configuration may use: the least per-block opt-in limit
/// of the supported architectures (99 KiB, sm_86/sm_89).
constexpr int64_t kMaxSharedMemoryBytes =
    portableMinimum(&ArchInfo::sharedBytesPerBlock);
/// The same for strategy wgmma, whose kernels run on sm_90a only (227 KiB).
constexpr int64_t kMaxWgmmaSharedMemoryBytes =
    wgmmaMinimum(&ArchInfo::sharedBytesPerBlock);
/// The grid's y and z limit (a CUDA launch limit on every supported
/// architecture): heads go along y, batches (times K/V splits) along z.
constexpr int64_t kMaxGridYZ = 65535;
/// The most programs one query block's K/V loop may be split across.
constexpr int64_t kMaxKVSplits = 16;
/// Shared memory a wgmma configuration keeps for the mbarriers of a
/// producer's K/V ring (policy prefetch = producer or tma): 16 of 8 bytes.
constexpr int64_t kRingBarrierBytes = 128;
/// The warpgroup that issues a producer's copies.
constexpr int64_t kProducerThreads = 128;
/// Threads a program runs: its computing warps' and a producer's.
constexpr int64_t programThreads(int64_t warps, bool producer) {
  return 32 * warps + (producer ? kProducerThreads : 0);
}
/// Whether `prefetch` gives the K/V copies to a producer warpgroup (by
/// cp.async or by TMA).
constexpr bool hasProducer(Prefetch prefetch) {
  return prefetch == Prefetch::producer || prefetch == Prefetch::tma;
}
/// Registers the flash dialect in `registry`, for a tool or toolchain of
/// its own; the passes (registerFlashPasses, registerFlashConversionPasses)
/// load the dialects they create themselves.
void registerFlashDialect(DialectRegistry &registry);
/// How K and V are laid out, as far as the default policy cares.
enum class KeyLayout {
  /// One strided tensor [batch, kv_heads, seq_k, head_dim]: TMA can copy it.
  Plain,
  /// Sequences packed along seq (varlen).
  Packed,
  /// A paged cache, whose copies take registers to find each row's page.
  Paged,
  /// Strides fixed at compile time, which the kernel reads as constants
  /// and a tensor map encoded at launch would not see.
  StaticStrides,
};
/// Whether `type`'s strides come from its launch: row-major, or strided
/// with every stride but head_dim's (1) dynamic.
bool hasLaunchStrides(MemRefType type);
/// The policy flash-select-config gives `config` (and that a tile program
/// without one follows); portable across the supported architectures.
PolicyAttr getDefaultPolicy(TileConfigAttr config, int64_t headDim,
                            int64_t elementBytes,
                            KeyLayout keys = KeyLayout::Plain);
/// The key layout of `op` (a flash.attention or flash.tiled).
template <typename OpT> KeyLayout keyLayoutOf(OpT op) {
  if (op.isPaged())
    return KeyLayout::Paged;
  if (op.isVarlen())
    return KeyLayout::Packed;
  bool launchStrides =
      hasLaunchStrides(cast<MemRefType>(op.getK().getType())) &&
      hasLaunchStrides(cast<MemRefType>(op.getV().getType()));
  return launchStrides ? KeyLayout::Plain : KeyLayout::StaticStrides;
}
/// What a score_mod or mask_mod region is given before the captures.
enum class ModKind { Score, Mask };
/// The region's leading arguments: (score: f32,) batch, head, q_idx,
/// kv_idx, seq_q, seq_k (index).
unsigned modLeadingArguments(ModKind kind);
/// The operands of an attention, flash.attention or flash.tiled (null
/// where absent).
struct AttentionOperands {
  Value q, k, v, o, lse;
  Value cuSeqlensQ, cuSeqlensK; // varlen
  Value blockTable, seqlensK;   // paged
  ValueRange captures;
};
/// The rules those operands follow, `config` (if any) as far as it bears
/// on them (AttentionOperands.cpp); returns the head dim.
FailureOr<int64_t> verifyAttentionOperands(Operation *op,
                                           const AttentionOperands &operands,
                                           TileConfigAttr config);
/// Captures are memrefs (row-major, global memory, scalar elements) or
/// index, integer or float scalars.
LogicalResult verifyCaptures(Operation *op, ValueRange captures);
/// Whether a modifier region loads from its captures at indices computed
/// from q_idx or kv_idx (so that rows and keys past the lengths would read
/// past the data).
bool loadsAtCoordinates(Region &region, ModKind kind);
/// The rules of a modifier region of `op` with `captures` (ModRegions.cpp).
LogicalResult verifyModRegion(Operation *op, Region &region, ModKind kind,
                              ValueRange captures);
} // namespace mlir::flash

#endif // FLASHC_DIALECT_FLASH_IR_FLASHDIALECT_H
