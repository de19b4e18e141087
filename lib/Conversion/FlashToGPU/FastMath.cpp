//===- FastMath.cpp - the math of modifiers on the GPU's units ------------===//

#include "FastMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

static Value intrinsic(OpBuilder &b, Location loc, StringRef name, Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(),
                                       b.getStringAttr(name), ValueRange{x})
      .getResult(0);
}

static Value constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(static_cast<float>(value)));
}

/// `op` (an f32 math op) on the special-function units, or null if it has
/// no such form here.
static Value fastForm(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  Value x = op->getOperand(0);
  auto ex2 = [&](Value v) {
    return intrinsic(b, loc, "llvm.nvvm.ex2.approx.ftz.f", v);
  };
  auto mul = [&](Value v, double c) {
    return arith::MulFOp::create(b, loc, v, constant(b, loc, c)).getResult();
  };
  if (isa<math::Exp2Op>(op))
    return ex2(x);
  if (isa<math::ExpOp>(op))
    return ex2(mul(x, M_LOG2E));
  if (isa<math::Log2Op>(op))
    return intrinsic(b, loc, "llvm.nvvm.lg2.approx.f", x);
  if (isa<math::LogOp>(op))
    return mul(intrinsic(b, loc, "llvm.nvvm.lg2.approx.f", x), M_LN2);
  if (isa<math::TanhOp>(op)) {
    // tanh x = 1 - 2 / (e^2x + 1): exact limits ±1 (e^2x overflows to inf
    // or underflows to 0), absolute error near 0 about 1e-7.
    Value e = ex2(mul(x, 2.0 * M_LOG2E));
    Value inv =
        intrinsic(b, loc, "llvm.nvvm.rcp.approx.ftz.f",
                  arith::AddFOp::create(b, loc, e, constant(b, loc, 1)));
    return arith::SubFOp::create(b, loc, constant(b, loc, 1), mul(inv, 2.0));
  }
  return {};
}

/// f32 divisions by a constant (softcap's s / 50) as multiplies by its
/// reciprocal: a correctly rounded division costs a dozen instructions per
/// score; the product differs by an ulp at most.
static void divideByReciprocals(gpu::GPUFuncOp kernel) {
  SmallVector<arith::DivFOp> divisions;
  kernel.walk([&](arith::DivFOp op) {
    FloatAttr divisor;
    if (op.getType().isF32() &&
        matchPattern(op.getRhs(), m_Constant(&divisor)) &&
        divisor.getValueAsDouble() != 0.0 &&
        std::isfinite(divisor.getValueAsDouble()))
      divisions.push_back(op);
  });
  OpBuilder b(kernel.getContext());
  for (arith::DivFOp op : divisions) {
    b.setInsertionPoint(op);
    FloatAttr divisor;
    matchPattern(op.getRhs(), m_Constant(&divisor));
    Value product = arith::MulFOp::create(
        b, op.getLoc(), op.getLhs(),
        constant(b, op.getLoc(), 1.0 / divisor.getValueAsDouble()));
    op.getResult().replaceAllUsesWith(product);
    op.erase();
  }
}

LogicalResult flash::expandMath(gpu::GPUFuncOp kernel) {
  divideByReciprocals(kernel);
  SmallVector<Operation *> mathOps;
  kernel.walk([&](Operation *op) {
    if (isa_and_nonnull<math::MathDialect>(op->getDialect()))
      mathOps.push_back(op);
  });
  if (mathOps.empty())
    return success();
  OpBuilder b(kernel.getContext());
  for (Operation *op : mathOps) {
    if (op->getNumResults() != 1 || !op->getResult(0).getType().isF32())
      continue;
    b.setInsertionPoint(op);
    if (Value fast = fastForm(b, op)) {
      op->getResult(0).replaceAllUsesWith(fast);
      op->erase();
    }
  }
  RewritePatternSet patterns(kernel.getContext());
  populateMathPolynomialApproximationPatterns(patterns);
  // Only the expansion: canonicalize, which runs next, folds.
  GreedyRewriteConfig config;
  config.enableFolding(false)
      .enableConstantCSE(false)
      .setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  return applyPatternsGreedily(kernel, std::move(patterns), config);
}
