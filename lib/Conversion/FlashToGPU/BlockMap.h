//===- BlockMap.h - the block map of a data-dependent mask ------*- C++ -*-===//
//
// A mask_mod that reads data (document ids, say) is not affine, so the
// compiler cannot bound the K/V loop or tell full blocks at compile time
// (AffineMask.h). Instead, a second kernel generated from the same regions
// evaluates the mask on every (query block, key block) pair of the launch
// and writes one entry per pair: which of "some pair seen" and "some pair
// hidden" occur. The attention kernel then loops only from the first to
// the last key block its query block sees, and evaluates the mask only on
// blocks that are not seen whole. The map is [batch·heads][query blocks]
// [key blocks] i32, rebuilt by every launch, before the attention kernel.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_BLOCKMAP_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_BLOCKMAP_H

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::flash {

/// Map entry bits: some valid pair of the block is seen / hidden.
constexpr int64_t kBlockSomeSeen = 1, kBlockSomeHidden = 2;
/// The entry of a block every valid pair of which is seen.
constexpr int64_t kBlockSeenOnly = kBlockSomeSeen;
/// Threads of the map kernel's programs.
constexpr int64_t kBlockMapThreads = 128;
/// Key columns a map thread evaluates on each row step (BlockMap.cpp), or 0
/// where block_n does not divide the threads (the pairs are then taken
/// flat). Four a thread made the map faster at 64 keys a block but slower
/// at 128 (bench/RESULTS.md, entry 48), so past 64 keys a thread keeps one.
inline int64_t mapColumnsPerThread(int64_t blockN) {
  constexpr int64_t kColumns = 4;
  if (blockN <= 64 && blockN % kColumns == 0 &&
      kBlockMapThreads % (blockN / kColumns) == 0)
    return kColumns;
  return kBlockMapThreads % blockN == 0 ? 1 : 0;
}

/// The mask_mods of `tiled` that need the map: those not affine, all of
/// one orientation (untransposed where a program has both). A transposed
/// map's rows are key blocks and its columns query blocks (the backward's
/// dK/dV program): the same layout over the program's own rows and
/// streamed blocks.
SmallVector<MaskModOp> dataDependentMasks(TiledOp tiled);

/// Which of batch and head the map's masks read: a map of a mask that reads
/// neither is one row set for the whole launch, of one that reads the
/// batch only one per batch (documents), else one per (batch, head).
enum class MapRows { Shared, PerBatch, PerBatchHead };
MapRows blockMapRows(TiledOp tiled);

/// The map kernel `name` of `tiled`, created at `b`'s insertion point (in
/// the gpu.module): its parameters are the attention kernel's operands
/// (q, k, v, o, lse, captures) and the map; its grid (key blocks, query
/// blocks, map rows: 1, batch or batch·heads), kBlockMapThreads threads.
/// Under a causal mask, blocks past the diagonal (which the attention
/// kernel never visits) are not evaluated.
gpu::GPUFuncOp buildBlockMapKernel(TiledOp tiled, OpBuilder &b, StringRef name);

/// The keys [lower, upper) the program's query block sees by the map (its
/// row starts at `rowBase`; `keyBlocks` entries): from the first block
/// with a seen pair to the last, an empty range if none.
std::pair<Value, Value> emitMapKeyRange(KernelContext &k, Value map,
                                        Value rowBase, Value keyBlocks);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_BLOCKMAP_H
