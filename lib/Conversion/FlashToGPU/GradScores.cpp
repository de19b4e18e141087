//===- GradScores.cpp - the backward's element-wise step ------------------===//

#include "GradScores.h"

#include "ScoreMods.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

TileStorage flash::emitGradScores(KernelContext &k, TensorCoreStrategy &tc,
                                  const TileStorage &scores,
                                  const TileStorage &dp,
                                  ArrayRef<Value> lseRows,
                                  ArrayRef<Value> deltaRows, float scaleLog2e,
                                  float scale) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t cols = scores.cols;
  int64_t slots = tc.rowsPerLane();
  tc.beginScores();

  auto emitStep = [&](bool masked) {
    SmallVector<Value> probs;
    Value c = k.f32(scaleLog2e);
    Value negInf = k.f32(-INFINITY);
    for (int64_t s = 0; s < k.strips; ++s) {
      std::unique_ptr<ScoreStrip> strip = tc.scoreStrip(scores, s, masked);
      std::unique_ptr<ScoreStrip> dpStrip = tc.scoreStrip(dp, s, false);
      for (int64_t slot = 0; slot < slots; ++slot) {
        // Per row, once: the exponent's offset -lse·log2(e) + log2(scale),
        // which folds the scale into p. A row that saw no key (lse -inf)
        // gets -inf, so that each p is 2^-inf = 0 (not the NaN of
        // 2^(-inf + inf)) with no per-element select.
        Value lse = lseRows[slots * s + slot];
        Value seen = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           lse, negInf);
        Value offset = LLVM::FMAOp::create(b, loc, lse,
                                           k.f32(static_cast<float>(-M_LOG2E)),
                                           k.f32(std::log2(scale)));
        offset = arith::SelectOp::create(b, loc, seen, offset, negInf);
        Value delta = deltaRows[slots * s + slot];
        for (int64_t j = 0; j < strip->elementsPerRow(); ++j) {
          Value p = k.exp2(
              LLVM::FMAOp::create(b, loc, strip->element(slot, j), c, offset));
          Value diff =
              arith::SubFOp::create(b, loc, dpStrip->element(slot, j), delta);
          strip->setProbability(slot, j,
                                arith::MulFOp::create(b, loc, p, diff));
        }
      }
      strip->finish(probs);
    }
    return probs;
  };

  SmallVector<Type> types;
  for (int64_t s = 0; s < k.strips; ++s)
    types.append(tc.probabilityTypes(cols));
  return tc.finishScores(cols,
                         emitMaskedOrNot(k, scores, cols, types, emitStep));
}
