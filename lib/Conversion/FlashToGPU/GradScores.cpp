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
    Value zero = k.f32(0.0f);
    for (int64_t s = 0; s < k.strips; ++s) {
      std::unique_ptr<ScoreStrip> strip = tc.scoreStrip(scores, s, masked);
      std::unique_ptr<ScoreStrip> dpStrip = tc.scoreStrip(dp, s, false);
      for (int64_t slot = 0; slot < slots; ++slot) {
        Value lse = lseRows[slots * s + slot];
        // A row that saw no key (lse -inf) has no probabilities: 0, not
        // the NaN of 2^(-inf + inf).
        Value seen = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           lse, k.f32(-INFINITY));
        Value negLse = arith::SelectOp::create(
            b, loc, seen,
            arith::MulFOp::create(b, loc, lse,
                                  k.f32(static_cast<float>(-M_LOG2E))),
            zero);
        Value delta = deltaRows[slots * s + slot];
        for (int64_t j = 0; j < strip->elementsPerRow(); ++j) {
          Value p = k.exp2(
              LLVM::FMAOp::create(b, loc, strip->element(slot, j), c, negLse));
          p = arith::SelectOp::create(b, loc, seen, p, zero);
          Value diff =
              arith::SubFOp::create(b, loc, dpStrip->element(slot, j), delta);
          Value ds = arith::MulFOp::create(
              b, loc, arith::MulFOp::create(b, loc, p, diff), k.f32(scale));
          strip->setProbability(slot, j, ds);
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
