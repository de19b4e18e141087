//===- GradScores.cpp - the backward's element-wise step ------------------===//

#include "GradScores.h"

#include "ScoreMods.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

namespace {
/// One query's terms, formed once: the exponent's offset and delta, both
/// with the scale folded in where it saves a multiply per element.
struct QueryTerms {
  Value offset, delta;
};
} // namespace

/// `lse`'s exponent offset -lse·log2(e) (+ log2(scale) when the scale is
/// folded into p) and delta (as -scale·delta when the scale goes on
/// dp - delta instead, an fma per element: p is wanted unscaled). A
/// query that saw no key (lse -inf) gets offset -inf, so that each p is
/// 2^-inf = 0 (not the NaN of 2^(-inf + inf)) with no per-element select.
static QueryTerms queryTerms(KernelContext &k, Value lse, Value delta,
                             const GradScoreTerms &terms) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value negInf = k.f32(-INFINITY);
  Value seen =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, lse, negInf);
  float foldedScale = terms.withProbs ? 0.0f : std::log2(terms.scale);
  Value offset = LLVM::FMAOp::create(
      b, loc, lse, k.f32(static_cast<float>(-M_LOG2E)), k.f32(foldedScale));
  offset = arith::SelectOp::create(b, loc, seen, offset, negInf);
  if (terms.withProbs)
    delta = arith::MulFOp::create(b, loc, delta, k.f32(-terms.scale));
  return {offset, delta};
}

std::pair<TileStorage, std::optional<TileStorage>>
flash::emitGradScores(KernelContext &k, TensorCoreStrategy &tc,
                      const TileStorage &scores, const TileStorage &dp,
                      const GradScoreTerms &terms) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t cols = scores.cols;
  int64_t slots = tc.rowsPerLane();
  tc.beginScores();

  // Per-column terms are the same in both branches below: formed once.
  SmallVector<QueryTerms> columnTerms;
  if (terms.perColumn)
    for (auto [lse, delta] : llvm::zip_equal(terms.lse, terms.delta))
      columnTerms.push_back(queryTerms(k, lse, delta, terms));

  auto emitStep = [&](bool masked) {
    SmallVector<Value> grads, probs;
    Value c = k.f32(terms.scaleLog2e);
    // With p also wanted, the scale goes on dp - delta instead of p.
    Value scaleValue = k.f32(terms.scale);
    for (int64_t s = 0; s < k.strips; ++s) {
      std::unique_ptr<ScoreStrip> strip = tc.scoreStrip(scores, s, masked);
      std::unique_ptr<ScoreStrip> dpStrip = tc.scoreStrip(dp, s, false);
      // Only collects p (its own elements are not read).
      std::unique_ptr<ScoreStrip> pStrip =
          terms.withProbs ? tc.scoreStrip(dp, s, false) : nullptr;
      for (int64_t slot = 0; slot < slots; ++slot) {
        QueryTerms rowTerms;
        if (!terms.perColumn)
          rowTerms = queryTerms(k, terms.lse[slots * s + slot],
                                terms.delta[slots * s + slot], terms);
        for (int64_t j = 0; j < strip->elementsPerRow(); ++j) {
          const QueryTerms &q = terms.perColumn ? columnTerms[j] : rowTerms;
          Value p = k.exp2(LLVM::FMAOp::create(b, loc, strip->element(slot, j),
                                               c, q.offset));
          Value dpValue = dpStrip->element(slot, j);
          Value diff =
              terms.withProbs
                  ? LLVM::FMAOp::create(b, loc, dpValue, scaleValue, q.delta)
                        .getResult()
                  : arith::SubFOp::create(b, loc, dpValue, q.delta).getResult();
          // Through the score modifiers, back to the product's score.
          if (Value tangent = strip->tangent(slot, j))
            diff = arith::MulFOp::create(b, loc, diff, tangent);
          strip->setProbability(slot, j,
                                arith::MulFOp::create(b, loc, p, diff));
          if (pStrip)
            pStrip->setProbability(slot, j, p);
        }
      }
      strip->finish(grads);
      if (pStrip)
        pStrip->finish(probs);
    }
    llvm::append_range(grads, probs);
    return grads;
  };

  SmallVector<Type> types;
  for (int64_t copy = 0; copy < (terms.withProbs ? 2 : 1); ++copy)
    for (int64_t s = 0; s < k.strips; ++s)
      types.append(tc.probabilityTypes(cols));
  SmallVector<Value> both = emitMaskedOrNot(k, scores, cols, types, emitStep);
  ArrayRef<Value> all = both;
  size_t perTile = types.size() / (terms.withProbs ? 2 : 1);
  TileStorage grads = tc.finishScores(cols, all.take_front(perTile));
  if (!terms.withProbs)
    return {grads, std::nullopt};
  return {grads, tc.finishScores(cols, all.drop_front(perTile))};
}
