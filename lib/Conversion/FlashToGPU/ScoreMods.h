//===- ScoreMods.h - what is applied to each score element ------*- C++ -*-===//
//
// Applied per element through the strategies' per-element visit
// (ScoreStrip), so that one implementation serves every strategy: the
// modifiers of the tile program (flash.score_mod, flash.mask_mod and
// elementwise arith/math ops on the scores), then flash.mask.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_SCOREMODS_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_SCOREMODS_H

#include "KernelContext.h"
#include "TileStorage.h"

namespace mlir::flash {

/// The value a score_mod or mask_mod `region` yields for `args` (its
/// arguments' values), its ops cloned at `b`'s insertion point.
Value inlineModRegion(OpBuilder &b, Region &region, ValueRange args);

/// min(index, size - 1): a coordinate past the data moved onto its last
/// element (size >= 1).
Value clampBelow(OpBuilder &b, Location loc, Value index, Value size);

/// Whether element visits of `scores` must know each element's coordinates
/// (it has modifiers, or is read `masked`).
inline bool needsCoordinates(const TileStorage &scores, bool masked) {
  return masked || !scores.modifiers.empty();
}

/// `value`, the score at (`row`, `col`) of the tile `scores`, after the
/// tile's modifiers and, if `masked`, its mask.
Value applyScoreMods(KernelContext &k, const TileStorage &scores, Value value,
                     Value row, Value col, bool masked);

/// applyScoreMods, and the derivative of the result with respect to
/// `value` (ScoreTangents.h); 0 where the element is hidden.
std::pair<Value, Value> applyScoreModsWithTangent(KernelContext &k,
                                                  const TileStorage &scores,
                                                  Value value, Value row,
                                                  Value col, bool masked);

/// Emits `emitStep` twice under one uniform branch: masked where the block
/// of `cols` keys crosses the key length or (for this warp's rows) the
/// causal diagonal, unmasked elsewhere; once, unmasked, when `scores` has no
/// mask. Returns the results (of `resultTypes`) of the step taken.
SmallVector<Value>
emitMaskedOrNot(KernelContext &k, const TileStorage &scores, int64_t cols,
                TypeRange resultTypes,
                function_ref<SmallVector<Value>(bool masked)> emitStep);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_SCOREMODS_H
