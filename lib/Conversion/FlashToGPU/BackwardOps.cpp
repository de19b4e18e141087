//===- BackwardOps.cpp - the walk's backward tile ops ---------------------===//
//
// flash.load_rows and flash.load_cols (one value per row, or per column, of
// a capture: the forward's log-sum-exp, the row term D), flash.row_dot and
// flash.store_rows (D computed and stored by the dQ program),
// flash.grad_scores (GradScores.h) and flash.atomic_add_dot (the
// strategy's atomicAddTransposedDot), as the walk over a tile program lowers
// them.
//
//===----------------------------------------------------------------------===//

#include "GradScores.h"
#include "ScoreTangents.h"
#include "TileLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::flash;

/// The f32 `value()` emits where `index` < `seq`, else 0 (a row or column
/// past the sequence reads nothing).
static Value insideOrZero(KernelContext &k, Value index, Value seq,
                          function_ref<Value()> value) {
  OpBuilder &b = k.b;
  Value inside =
      arith::CmpIOp::create(b, k.loc, arith::CmpIPredicate::ult, index, seq);
  auto ifOp =
      scf::IfOp::create(b, k.loc, b.getF32Type(), inside, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  scf::YieldOp::create(b, k.loc, value());
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  scf::YieldOp::create(b, k.loc, k.f32(0.0f));
  return ifOp.getResult(0);
}

/// source[b, h, first + offset] for each offset (0 past the source's seq).
static SmallVector<Value> loadVector(KernelContext &k, Value source, Value bh,
                                     Value heads, Value first,
                                     ArrayRef<Value> offsets) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value seq = memref::DimOp::create(b, loc, source, 2);
  SmallVector<Value> values;
  for (Value offset : offsets) {
    Value index = k.add(first, offset);
    values.push_back(insideOrZero(k, index, seq, [&] {
      return memref::LoadOp::create(b, loc, source,
                                    ValueRange{batch, head, index})
          .getResult();
    }));
  }
  return values;
}

LogicalResult TileLowering::lowerLoadRows(LoadRowsOp op) {
  if (op.getType().getDimSize(0) != k.blockM)
    return op.emitOpError()
           << "flash-to-gpu: the rows must be block_m = " << k.blockM;
  SmallVector<Value> rows;
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t slot = 0; slot < tc->rowsPerLane(); ++slot)
      rows.push_back(tc->rowOfSlot(s, slot));
  TileStorage storage{TileStorage::Kind::Rows};
  storage.values =
      loadVector(k, scalar(op.getSource()), scalar(op.getBatchHead()), heads,
                 scalar(op.getRow()), rows);
  tiles[op.getResult()] = storage;
  return success();
}

LogicalResult TileLowering::lowerLoadCols(LoadColsOp op) {
  if (op.getType().getDimSize(0) != k.blockN)
    return op.emitOpError()
           << "flash-to-gpu: the columns must be block_n = " << k.blockN;
  FailureOr<SmallVector<Value>> columns = tc->laneColumns(k.blockN);
  if (failed(columns))
    return op.emitOpError("flash-to-gpu: column values need the mma_sync "
                          "strategy");
  TileStorage storage{TileStorage::Kind::Cols};
  storage.values =
      loadVector(k, scalar(op.getSource()), scalar(op.getBatchHead()), heads,
                 scalar(op.getCol()), *columns);
  storage.cols = k.blockN;
  tiles[op.getResult()] = storage;
  return success();
}

/// The lane's share of lhs[b, h, row, :] · rhs[b, h, row, :]: the 16-byte
/// chunks `quadLane`, `quadLane + 4`, ... of the row (the four lanes of a
/// quad hold one row), each as 8 elements multiplied and added in f32.
static Value laneRowDot(KernelContext &k, Value lhs, Value rhs,
                        ValueRange index, Value quadLane, int64_t chunks,
                        Type element) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto chunk = VectorType::get({8}, element);
  auto wide = VectorType::get({8}, b.getF32Type());
  Value acc = arith::ConstantOp::create(
      b, loc, wide, DenseElementsAttr::get(wide, b.getF32FloatAttr(0.0f)));
  for (int64_t j = 0; j < (chunks + 3) / 4; ++j) {
    Value col = k.mul(k.add(quadLane, k.idx(4 * j)), k.idx(8));
    auto fma = [&]() -> Value {
      SmallVector<Value> at(index.begin(), index.end());
      at.push_back(col);
      auto load = [&](Value source) -> Value {
        // 16-byte chunks of 16-byte aligned rows (row_dot's contract, as
        // for the cp.async copies of flash.load_tile).
        Value loaded =
            vector::LoadOp::create(b, loc, chunk, source, at,
                                   /*nontemporal=*/false, llvm::MaybeAlign(16));
        return arith::ExtFOp::create(b, loc, wide, loaded);
      };
      return vector::FMAOp::create(b, loc, load(lhs), load(rhs), acc);
    };
    if (4 * (j + 1) <= chunks) {
      acc = fma();
      continue;
    }
    // The last round, where some lanes have no chunk left.
    Value has = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col,
                                      k.idx(8 * chunks));
    auto ifOp = scf::IfOp::create(b, loc, wide, has, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, loc, fma());
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, loc, acc);
    acc = ifOp.getResult(0);
  }
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
}

LogicalResult TileLowering::lowerRowDot(RowDotOp op) {
  if (op.getType().getDimSize(0) != k.blockM)
    return op.emitOpError()
           << "flash-to-gpu: the rows must be block_m = " << k.blockM;
  // Four lanes a row (the accumulator layout of mma_sync and wgmma).
  if (k.config.getStrategy() == Strategy::wmma)
    return op.emitOpError("flash-to-gpu: flash.row_dot needs strategy "
                          "mma_sync or wgmma");
  // A producer warpgroup's threads own no rows.
  if (k.producer)
    return op.emitOpError("flash-to-gpu: flash.row_dot needs every thread "
                          "computing, not a producer warpgroup");
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto type = cast<MemRefType>(op.getLhs().getType());
  Value lhs = scalar(op.getLhs()), rhs = scalar(op.getRhs());
  Value bh = scalar(op.getBatchHead());
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value seq = memref::DimOp::create(b, loc, lhs, 2);
  Value row0 = scalar(op.getRow());
  Value quadLane = arith::RemUIOp::create(b, loc, k.lane, k.idx(4));
  TileStorage storage{TileStorage::Kind::Rows};
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t slot = 0; slot < tc->rowsPerLane(); ++slot) {
      Value row = k.add(row0, tc->rowOfSlot(s, slot));
      Value value = insideOrZero(k, row, seq, [&] {
        return laneRowDot(k, lhs, rhs, {batch, head, row}, quadLane,
                          type.getDimSize(3) / 8, type.getElementType());
      });
      // The quad's sum, with every lane of the warp shuffling.
      value = arith::AddFOp::create(b, loc, value, k.shuffleXor(value, 1));
      value = arith::AddFOp::create(b, loc, value, k.shuffleXor(value, 2));
      storage.values.push_back(value);
    }
  tiles[op.getResult()] = storage;
  return success();
}

LogicalResult TileLowering::lowerStoreRows(StoreRowsOp op) {
  TileStorage *rows = findTile(op.getRows());
  if (!rows || rows->kind != TileStorage::Kind::Rows || rows->partial ||
      op.getRows().getType().getDimSize(0) != k.blockM)
    return op.emitOpError("flash-to-gpu: the rows must come from "
                          "flash.load_rows or flash.row_dot");
  if (k.producer)
    return op.emitOpError("flash-to-gpu: flash.store_rows needs every thread "
                          "computing, not a producer warpgroup");
  storeRowValues(rows->values, scalar(op.getDest()), scalar(op.getBatchHead()),
                 scalar(op.getRow()));
  return success();
}

LogicalResult TileLowering::lowerGradScores(GradScoresOp op) {
  TileStorage *scores = findTile(op.getScores());
  TileStorage *dp = findTile(op.getDp());
  TileStorage *lse = findTile(op.getLse());
  TileStorage *delta = findTile(op.getDelta());
  if (!scores || !scores->holdsScores())
    return op.emitOpError("flash-to-gpu: scores must come from flash.dot "
                          "(optionally through flash.mask)");
  if (!dp || dp->kind != TileStorage::Kind::Scores || !dp->modifiers.empty())
    return op.emitOpError("flash-to-gpu: dp must come from a flash.dot "
                          "without acc");
  // Per query: rows of the scores, or columns of transposed ones.
  TileStorage::Kind perQuery =
      op.getTransposed() ? TileStorage::Kind::Cols : TileStorage::Kind::Rows;
  if (!lse || lse->kind != perQuery || lse->partial || !delta ||
      delta->kind != perQuery || delta->partial)
    return op.emitOpError()
           << "flash-to-gpu: lse and delta must come from "
           << (op.getTransposed() ? "flash.load_cols" : "flash.load_rows");
  // Scores through modifiers: p is recomputed from the modified score, and
  // dS goes back through the modifiers' derivative.
  TileStorage modified = *scores;
  if (llvm::any_of(scores->modifiers, [](const ScoreModifier &mod) {
        return !isa<MaskModOp>(mod.op);
      })) {
    if (failed(checkDifferentiable(*scores, op)))
      return failure();
    // Only mma_sync's element visit (which wgmma's accumulators share)
    // gives the derivative (ScoreStrip); WMMA's fragments are opaque.
    if (k.config.getStrategy() == Strategy::wmma)
      return op.emitOpError("flash-to-gpu: the derivative of score modifiers "
                            "needs strategy mma_sync or wgmma");
    modified.withTangents = true;
  }
  GradScoreTerms terms;
  terms.lse = lse->values;
  terms.delta = delta->values;
  terms.perColumn = op.getTransposed();
  terms.scaleLog2e = op.getScaleLog2e().convertToFloat();
  terms.scale = op.getScale().convertToFloat();
  terms.withProbs = static_cast<bool>(op.getProbs());
  auto [grads, probs] = emitGradScores(k, *tc, modified, *dp, terms);
  tiles[op.getResult()] = grads;
  if (probs)
    tiles[op.getProbs()] = *probs;
  return success();
}

LogicalResult TileLowering::lowerAtomicAddDot(AtomicAddDotOp op) {
  TileStorage *lhs = findTile(op.getLhs());
  TileStorage *rhs = findTile(op.getRhs());
  if (!lhs || lhs->kind != TileStorage::Kind::Probs)
    return op.emitOpError("flash-to-gpu: lhs must come from "
                          "flash.grad_scores");
  // The verifiers make lhs's rows rhs's; a tile kept for the program has
  // the program's rows.
  if (!rhs || rhs->kind != TileStorage::Kind::SharedRows ||
      op.getRhs().getParentRegion() != &tiled.getBody())
    return op.emitOpError("flash-to-gpu: rhs must be a tile loaded for the "
                          "whole program (a flash.load_tile outside the "
                          "flash.kv_loop)");
  if (op.getLhs().getType().getDimSize(1) != k.blockN)
    return op.emitOpError()
           << "flash-to-gpu: lhs must have block_n = " << k.blockN
           << " columns";
  Value dest = scalar(op.getDest());
  Value bh = scalar(op.getBatchHead());
  Value destHeads = memref::DimOp::create(k.b, k.loc, dest, 1);
  Value batch = arith::DivUIOp::create(k.b, k.loc, bh, destHeads);
  Value head = arith::RemUIOp::create(k.b, k.loc, bh, destHeads);
  Value seq = memref::DimOp::create(k.b, k.loc, dest, 2);
  // cp.async begins every K/V step with a barrier (CpAsync::beginStep); a
  // producer's ring does not.
  return tc->atomicAddTransposedDot(op, *lhs, *rhs, stagingBuffer, dest, batch,
                                    head, scalar(op.getRow()), seq,
                                    /*stepBarrier=*/!k.producer);
}
