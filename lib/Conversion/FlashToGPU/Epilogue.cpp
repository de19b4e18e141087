//===- Epilogue.cpp - normalize, merge splits, store O --------------------===//
//
// The end of the tile program: O divided by the row sums (after the split
// merge when the K/V loop is split), then written to global memory by the
// strategy, guarded so that only the warp that merged stores.
//
//===----------------------------------------------------------------------===//

#include "TileLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

/// The K/V loop result that carries the row max of the softmax step whose
/// row sum the loop returns as `sum`; null if there is none.
static Value carriedMaxOf(Value sum) {
  auto result = dyn_cast<OpResult>(sum);
  auto loop = result ? dyn_cast<KVLoopOp>(result.getOwner()) : KVLoopOp();
  if (!loop)
    return {};
  auto yield = cast<YieldOp>(loop.getBody().front().getTerminator());
  auto step = yield.getValues()[result.getResultNumber()]
                  .getDefiningOp<SoftmaxStepOp>();
  if (!step)
    return {};
  for (auto [index, value] : llvm::enumerate(yield.getValues()))
    if (value == step.getMaxOut())
      return loop->getResult(index);
  return {};
}

/// 1 / sum per row, and 0 for rows that saw no key (sum 0): their output is
/// 0, not NaN.
static SmallVector<Value> reciprocalsOrZero(KernelContext &k,
                                            ArrayRef<Value> sums) {
  SmallVector<Value> inverse;
  for (Value sum : sums) {
    Value isZero = arith::CmpFOp::create(k.b, k.loc, arith::CmpFPredicate::OEQ,
                                         sum, k.f32(0.0f));
    Value inv = arith::DivFOp::create(k.b, k.loc, k.f32(1.0f), sum);
    inverse.push_back(
        arith::SelectOp::create(k.b, k.loc, isZero, k.f32(0.0f), inv));
  }
  return inverse;
}

LogicalResult TileLowering::lowerNormalize(NormalizeOp op) {
  TileStorage *accTile = findTile(op.getAcc());
  TileStorage *sumTile = findTile(op.getSum());
  if (!accTile || accTile->kind != TileStorage::Kind::Acc || !sumTile ||
      sumTile->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: normalize needs an accumulator and "
                          "row sums");
  TileStorage storage = *accTile;
  SmallVector<Value> acc = accTile->values;
  SmallVector<Value> sums = tc->convertRows(sumTile->values, sumTile->partial,
                                            /*toPartial=*/false);
  if (k.kvSplits > 1) {
    Value max = carriedMaxOf(op.getSum());
    TileStorage *maxTile = max ? findTile(max) : nullptr;
    if (!maxTile || maxTile->values.size() != sums.size())
      return op.emitOpError("flash-to-gpu: kv_splits > 1 needs the row max "
                            "of a flash.softmax_step carried by the K/V loop");
    // The workspace the runtime allocates holds a block_m x head_dim
    // accumulator (LaunchPlan::partialFloatsPerSlot).
    if (!tc->canMergeSplits() ||
        acc.size() != size_t(k.strips * (k.headDim / 8)))
      return op.emitOpError("flash-to-gpu: kv_splits > 1 needs a block_m x "
                            "head_dim mma_sync accumulator");
    MergedSplits merged =
        emitSplitMerge(k, *tc, workspace, acc, maxTile->values, sums);
    acc = merged.acc;
    sums = merged.sums;
    storage.storeGuard = merged.storeGuard;
    mergedRows =
        MergedRows{op.getSum(), merged.maxRows, merged.sums, merged.storeGuard};
  }
  storage.values = tc->scaleRows(acc, reciprocalsOrZero(k, sums));
  tiles[op.getResult()] = storage; // rounded to the element type when stored
  return success();
}

LogicalResult TileLowering::lowerStore(StoreTileOp op) {
  TileStorage *tile = findTile(op.getValue());
  if (!tile || tile->kind != TileStorage::Kind::Acc)
    return op.emitOpError("flash-to-gpu: the stored tile must be an "
                          "accumulator (flash.normalize's, or a K/V loop's)");
  // O, or a capture (the backward's dK/dV program writes dK so).
  if (op.getDest() != tiled.getO() &&
      !llvm::is_contained(tiled.getCaptures(), op.getDest()))
    return op.emitOpError("flash-to-gpu: only O or a capture is stored");
  // Split programs each hold part of the loop's sum: flash.normalize
  // merges them (and guards the store) first.
  if (k.kvSplits > 1 && !tile->storeGuard)
    return op.emitOpError("flash-to-gpu: with kv_splits > 1 the stored "
                          "accumulator must come from flash.normalize");
  OpBuilder &b = k.b;
  Location loc = k.loc;
  std::optional<OpBuilder::InsertionGuard> guarded;
  if (tile->storeGuard) {
    auto ifOp = scf::IfOp::create(b, loc, tile->storeGuard, /*withElse=*/false);
    guarded.emplace(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  tc->stageOutput(tile->values);
  Value row0 = scalar(op.getRow());
  Value bh = scalar(op.getBatchHead());
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value dest = op.getDest() == tiled.getO() ? o : scalar(op.getDest());
  Value seq = memref::DimOp::create(b, loc, dest, 2);
  tc->storeOutput(tile->values, dest, batch, head, row0, seq);
  return success();
}

LogicalResult TileLowering::lowerStoreLse(StoreLseOp op) {
  TileStorage *maxTile = findTile(op.getMax());
  TileStorage *sumTile = findTile(op.getSum());
  if (!maxTile || maxTile->kind != TileStorage::Kind::Rows || !sumTile ||
      sumTile->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: store_lse needs the row max and "
                          "sum carried out of the K/V loop");
  if (op.getDest() != tiled.getLse())
    return op.emitOpError("flash-to-gpu: the log-sum-exp goes to the "
                          "program's lse operand");
  OpBuilder &b = k.b;
  Location loc = k.loc;
  SmallVector<Value> maxRows = maxTile->values;
  SmallVector<Value> sums = tc->convertRows(sumTile->values, sumTile->partial,
                                            /*toPartial=*/false);
  std::optional<OpBuilder::InsertionGuard> guarded;
  if (k.kvSplits > 1) {
    // The rows of every split, merged by flash.normalize, which therefore
    // comes first.
    if (!mergedRows || mergedRows->sum != op.getSum())
      return op.emitOpError("flash-to-gpu: with kv_splits > 1, store_lse "
                            "follows the flash.normalize of its row sums");
    maxRows = mergedRows->maxRows;
    sums = mergedRows->sums;
    auto ifOp =
        scf::IfOp::create(b, loc, mergedRows->storeGuard, /*withElse=*/false);
    guarded.emplace(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  // ln(sum_j e^x_j) = ln 2 · (max + log2(sum)) with max in log2 units; a
  // row that saw nothing has max = -inf and sum = 0: -inf.
  SmallVector<Value> lse;
  for (auto [max, sum] : llvm::zip_equal(maxRows, sums))
    lse.push_back(arith::MulFOp::create(
        b, loc, arith::AddFOp::create(b, loc, max, k.log2(sum)),
        k.f32(static_cast<float>(M_LN2))));
  storeRowValues(lse, mapping.lookup(op.getDest()), scalar(op.getBatchHead()),
                 scalar(op.getRow()));
  return success();
}

void TileLowering::storeRowValues(ArrayRef<Value> values, Value dest, Value bh,
                                  Value row0) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value seq = memref::DimOp::create(b, loc, dest, 2);
  Value writes = tc->writesRow();
  int64_t slots = tc->rowsPerLane();
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t slot = 0; slot < slots; ++slot) {
      Value row = k.add(row0, tc->rowOfSlot(s, slot));
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, seq);
      auto ifOp = scf::IfOp::create(
          b, loc, arith::AndIOp::create(b, loc, writes, inside),
          /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      memref::StoreOp::create(b, loc, values[slots * s + slot], dest,
                              ValueRange{batch, head, row});
    }
}
