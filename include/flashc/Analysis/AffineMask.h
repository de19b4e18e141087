//===- AffineMask.h - masks that are affine in q_idx and kv_idx -*- C++ -*-===//
//
// Sliding windows, prefix-LM, chunked attention and both causal alignments
// are and/or combinations of comparisons of affine forms of q_idx and
// kv_idx (with the lengths, batch, head and constants). For such a mask_mod
// the compiler derives, for a block of queries, the range of keys any of
// them may see (the K/V loop's bounds: blocks outside are never loaded),
// or for a block of keys the queries that may see them (the backward's),
// and for a block of queries and keys whether every pair is seen (a full
// block: no mask evaluated). Any other mask (one that loads data, say) is
// not affine: analyze() says so and the mask is evaluated per element.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_ANALYSIS_AFFINEMASK_H
#define FLASHC_ANALYSIS_AFFINEMASK_H

#include "mlir/IR/Builders.h"

#include <memory>
#include <optional>

namespace mlir::flash {

class AffineMask {
public:
  struct Formula;
  /// The mask_mod `region` as a formula, or nothing if it is not affine.
  static std::optional<AffineMask> analyze(Region &region);

  /// The keys [lower, upper) that queries [qLo, qHi] may see; either is
  /// null where the mask gives no bound. `args` are the region's arguments'
  /// values (batch, head, q, kv, seq_q, seq_k, ...; q and kv unused).
  std::pair<Value, Value> emitKeyRange(OpBuilder &b, Location loc, Value qLo,
                                       Value qHi, ValueRange args) const;
  /// The queries [lower, upper) that may see some key of [kvLo, kvHi]
  /// (emitKeyRange with the roles exchanged: a transposed program's loop).
  std::pair<Value, Value> emitQueryRange(OpBuilder &b, Location loc, Value kvLo,
                                         Value kvHi, ValueRange args) const;
  /// Narrows a loop's [lower, upper) over keys (with `transposed`, over
  /// queries) to those that rows [lo, hi] (queries, or keys) may see, at
  /// least 0; `lower` may be null (no bound yet) and stays so if the mask
  /// gives none.
  void narrowLoop(OpBuilder &b, Location loc, Value lo, Value hi,
                  ValueRange args, bool transposed, Value &lower,
                  Value &upper) const;
  /// An i1: every query of [qLo, qHi] sees every key of [kvLo, kvHi].
  Value emitAllSeen(OpBuilder &b, Location loc, Value qLo, Value qHi,
                    Value kvLo, Value kvHi, ValueRange args) const;

  /// The most keys one query may see, where the mask bounds them on both
  /// sides by the query's index plus constants (a sliding window); with
  /// `causalTopLeft` also by the causal mask's kv <= q. Nothing where a
  /// side is unbounded or depends on anything else (a length, the head).
  std::optional<int64_t> keysPerQuery(bool causalTopLeft) const;

  AffineMask(std::shared_ptr<Formula> formula) : formula(std::move(formula)) {}

private:
  std::shared_ptr<Formula> formula;
};

} // namespace mlir::flash

#endif // FLASHC_ANALYSIS_AFFINEMASK_H
