//===- TileStorage.h - where a tile value lives in the kernel ---*- C++ -*-===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_TILESTORAGE_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_TILESTORAGE_H

#include "flashc/Analysis/AffineMask.h"

#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir {
class Operation;
} // namespace mlir

namespace mlir::flash {

/// A modifier applied to each score element when the scores are read
/// (ScoreMods.cpp): a flash.score_mod, a flash.mask_mod, or an elementwise
/// arith/math op of the tile program, with the kernel values it needs.
struct ScoreModifier {
  Operation *op = nullptr;
  /// Elementwise ops: per operand, the kernel-side constant, or null where
  /// the scores go.
  SmallVector<Value> operands;
  /// flash.score_mod / flash.mask_mod: the tile's coordinates, both lengths
  /// and the captures' kernel values; with `transposed`, rows are keys and
  /// columns queries.
  Value batch, head, row, col, seqQ, seqK;
  bool transposed = false;
  SmallVector<Value> captures;
  /// flash.mask_mod of an affine mask: blocks whose every pair it sees
  /// skip it (they take the unmasked branch, ScoreMods.h).
  std::optional<AffineMask> affine;
  /// flash.mask_mod of a mask that is not affine: this K/V block's entry
  /// of the block map (BlockMap.h), an i32; null without a map.
  Value mapBits;
};

/// Where a tile value of the tile program lives in the kernel: the walk over
/// tile ops gives each result one of these as it lowers the op.
struct TileStorage {
  enum class Kind {
    Splat,        // a constant not materialised yet (loop inits)
    SharedRows,   // rows of `memref` from `rowBase`: Q, K, V tiles
    Scores,       // scores as the strategy holds them (values or a buffer)
    MaskedScores, // Scores plus a mask to apply when read
    Probs,        // probabilities as the strategy holds them
    Rows,         // per-lane f32 row values, rowsPerLane per 16-row strip
    Cols,         // per-lane f32 column values, one per element of a row
    Acc,          // accumulator fragments [strip][column tile]
  } kind;
  float splat = 0.0f;
  Value memref, rowBase;
  SmallVector<Value> values; // Rows / Acc / Scores / Probs values, or Q's
                             // cached A fragments
  bool isQ = false;          // the Q tile (fragments cached or not)
  /// Rows: each lane holds the part of its row's value from its own columns
  /// (mma_sync row sums); the strategy completes them (completeRows).
  bool partial = false;
  /// MaskedScores: keys at or past `maskLimit` are masked, and with `causal`
  /// keys after the query (shifted by `maskDiagonal` if set); `maskRow` /
  /// `maskCol` are the tile's first query row and key column. With
  /// `transposed`, rows are keys and columns queries (flash.mask's).
  Value maskRow, maskCol, maskLimit, maskDiagonal;
  bool causal = false, transposed = false;
  /// Scores / MaskedScores: modifiers applied in order to each element, before
  /// the mask.
  SmallVector<ScoreModifier> modifiers;
  /// Scores / MaskedScores read by the backward: the strategy's element
  /// visit also gives each element's derivative through the modifiers
  /// (ScoreStrip::tangent).
  bool withTangents = false;
  int64_t cols = 0; // columns of the tile

  /// Scores of a flash.dot, through modifiers and masks or not.
  bool holdsScores() const {
    return kind == Kind::Scores || kind == Kind::MaskedScores;
  }
  /// Acc after a split K/V merge: only lanes where this is true store.
  Value storeGuard;
};

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_TILESTORAGE_H
