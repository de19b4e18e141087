//===- ScoreChain.h - a tile program's score modifiers on the CPU -*- C++
//-*-===//
//
// The ops a tile program applies to its scores between the Q·Kᵀ flash.dot
// and the flash.mask / flash.softmax_step (flash.score_mod, flash.mask_mod,
// elementwise arith and math), as one float64 function for the reference
// of `flashc FILE --run` and of flashc-check-cpu.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_INTERPRETER_SCORECHAIN_H
#define FLASHC_INTERPRETER_SCORECHAIN_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "flashc/Runtime/Reference.h"

#include <memory>
#include <vector>

namespace mlir::flash {

/// The modifiers of `tiled` in program order: `score` returns the scaled
/// score after them (-inf where a mask_mod hides it). Empty functions if
/// the program has none. `captures` holds the captures' data (in the order
/// of the program's captures); `seqQ`, `seqK` are the run's lengths.
FailureOr<flashc::ScoreModifiers> buildScoreModifiers(
    TiledOp tiled,
    std::shared_ptr<const std::vector<flashc::HostCapture>> captures,
    int64_t seqQ, int64_t seqK);

} // namespace mlir::flash

#endif // FLASHC_INTERPRETER_SCORECHAIN_H
