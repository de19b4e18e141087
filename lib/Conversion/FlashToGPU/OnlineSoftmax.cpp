//===- OnlineSoftmax.cpp - the running max, sum and rescale ---------------===//

#include "OnlineSoftmax.h"

#include "ScoreMods.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

Value flash::usableMax(KernelContext &k, Value max, Value negInf) {
  Value isEmpty =
      arith::CmpFOp::create(k.b, k.loc, arith::CmpFPredicate::OEQ, max, negInf);
  return arith::SelectOp::create(k.b, k.loc, isEmpty, k.f32(0.0f), max);
}

Value flash::rescaleFactor(KernelContext &k, Value oldMax, Value usedMax) {
  return k.exp2(arith::SubFOp::create(k.b, k.loc, oldMax, usedMax));
}

/// The new max of a row: the old one, or the block's if larger. Under the
/// stale-max policy the old one is kept while the new one exceeds it by at
/// most 2^staleMaxLog2, so that alpha is exactly 1 and the rescale can be
/// skipped; p then reaches 2^staleMaxLog2 at most, far inside f16/bf16 and
/// f32 range. (An old max of -inf gives +inf or NaN growth: not stale.)
static Value nextMax(KernelContext &k, Value oldMax, Value blockMax) {
  Value newMax = arith::MaximumFOp::create(k.b, k.loc, oldMax, blockMax);
  if (k.policy.getStaleMaxLog2() == 0)
    return newMax;
  Value growth = arith::SubFOp::create(k.b, k.loc, newMax, oldMax);
  Value stale = arith::CmpFOp::create(
      k.b, k.loc, arith::CmpFPredicate::OLE, growth,
      k.f32(static_cast<float>(k.policy.getStaleMaxLog2())));
  return arith::SelectOp::create(k.b, k.loc, stale, oldMax, newMax);
}

SoftmaxStepResults
flash::emitSoftmaxStep(KernelContext &k, TensorCoreStrategy &tc,
                       const TileStorage &scores, float scaleLog2e,
                       ArrayRef<Value> maxIn, ArrayRef<Value> sumIn) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t cols = scores.cols;
  int64_t slots = tc.rowsPerLane();
  tc.beginScores();

  auto emitStep = [&](bool masked) {
    SmallVector<Value> rows; // per strip and row slot: max, sum, alpha
    SmallVector<Value> probs;
    Value scale = k.f32(scaleLog2e);
    Value negInf = k.f32(-INFINITY);
    for (int64_t s = 0; s < k.strips; ++s) {
      std::unique_ptr<ScoreStrip> strip = tc.scoreStrip(scores, s, masked);
      for (int64_t slot = 0; slot < slots; ++slot) {
        int64_t n = strip->elementsPerRow();
        Value laneMax = negInf;
        for (int64_t j = 0; j < n; ++j)
          laneMax = arith::MaximumFOp::create(b, loc, laneMax,
                                              strip->element(slot, j));
        Value rowMax = tc.reduceRowMax(laneMax);
        Value oldMax = maxIn[slots * s + slot];
        Value newMax =
            nextMax(k, oldMax, arith::MulFOp::create(b, loc, rowMax, scale));
        Value useMax = usableMax(k, newMax, negInf);
        Value negMax = arith::NegFOp::create(b, loc, useMax);
        Value sum = k.f32(0.0f);
        for (int64_t j = 0; j < n; ++j) {
          Value p = k.exp2(LLVM::FMAOp::create(b, loc, strip->element(slot, j),
                                               scale, negMax));
          strip->setProbability(slot, j, p);
          sum = arith::AddFOp::create(b, loc, sum, p);
        }
        // A strategy that keeps sums partial completes them only after the
        // loop (its lanes share alpha), not on every step.
        sum = tc.reduceRowSum(sum);
        Value alpha = rescaleFactor(k, oldMax, useMax);
        Value newSum = arith::AddFOp::create(
            b, loc,
            arith::MulFOp::create(b, loc, sumIn[slots * s + slot], alpha), sum);
        rows.append({newMax, newSum, alpha});
      }
      strip->finish(probs);
    }
    rows.append(probs);
    return rows;
  };

  int64_t rowCount = 3 * k.strips * slots;
  SmallVector<Type> types(rowCount, b.getF32Type());
  for (int64_t s = 0; s < k.strips; ++s)
    types.append(tc.probabilityTypes(cols));
  SmallVector<Value> all = emitMaskedOrNot(k, scores, cols, types, emitStep);
  SoftmaxStepResults results;
  results.rows.assign(all.begin(), all.begin() + rowCount);
  results.probs =
      tc.finishScores(cols, ArrayRef<Value>(all).drop_front(rowCount));
  return results;
}

SmallVector<Value> flash::emitRescale(KernelContext &k, TensorCoreStrategy &tc,
                                      ArrayRef<Value> acc,
                                      ArrayRef<Value> factors) {
  if (k.policy.getStaleMaxLog2() == 0)
    return tc.scaleRows(acc, factors);
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // A warp-uniform branch on a vote (every lane of the warp runs the loop
  // body): skip the multiplies when every factor of the warp is exactly 1.
  Value needed;
  for (Value factor : factors) {
    Value notOne = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE,
                                         factor, k.f32(1.0f));
    needed = needed ? arith::OrIOp::create(b, loc, needed, notOne).getResult()
                    : notOne;
  }
  Value anyNeeded = NVVM::VoteSyncOp::create(
      b, loc, b.getI1Type(), arith::ConstantIntOp::create(b, loc, -1, 32),
      needed, NVVM::VoteSyncKind::any);
  SmallVector<Type> types;
  for (Value value : acc)
    types.push_back(value.getType());
  auto ifOp = scf::IfOp::create(b, loc, types, anyNeeded, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, loc, tc.scaleRows(acc, factors));
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, loc, SmallVector<Value>(acc));
  }
  return SmallVector<Value>(ifOp.getResults());
}
