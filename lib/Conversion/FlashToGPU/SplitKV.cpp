//===- SplitKV.cpp - merging the partial results of a split K/V loop ------===//

#include "SplitKV.h"

#include "OnlineSoftmax.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

namespace {
/// Where partials live in the workspace. It holds one slot per (split,
/// batch·head, query block); a slot is the lanes' registers interleaved so
/// that a warp's accesses are contiguous: acc half h of fragment e of thread
/// t as 2 floats at ((2e + h)·threads + t)·2, then the (max, sum) of row r
/// at rowsBase + (r·threads + t)·2. That is block_m · (head_dim + 8) floats
/// (LaunchPlan::partialFloatsPerSlot).
struct Slots {
  KernelContext &k;
  int64_t threads, rowsBase, slotFloats;
  Value queryBlocks, batchHeads, tile;

  Value base(Value splitIndex) {
    return k.mul(k.add(k.mul(splitIndex, k.mul(batchHeads, queryBlocks)), tile),
                 k.idx(slotFloats));
  }
  Value acc(Value slot, int64_t e, int64_t h) {
    return k.add(slot,
                 k.mul(k.add(k.idx((2 * e + h) * threads), k.tid), k.idx(2)));
  }
  Value row(Value slot, int64_t r) {
    return k.add(slot,
                 k.add(k.idx(rowsBase),
                       k.mul(k.add(k.idx(r * threads), k.tid), k.idx(2))));
  }
};
} // namespace

namespace {
/// A warp's arrival at its counter (publish()).
struct Arrival {
  Value counter;  // the counter's index
  Value arrivals; // the arrivals before this one (warp-uniform)
  Value isLane0;  // the lane that counts (and resets)
};
} // namespace

/// Stores this warp's partial in its split's slot and counts the warp's
/// arrival.
static Arrival publish(KernelContext &k, Slots &slots, const SplitWorkspace &ws,
                       ArrayRef<Value> acc, ArrayRef<Value> maxRows,
                       ArrayRef<Value> sums) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto pairType = VectorType::get({2}, b.getF32Type());
  Value mine = slots.base(ws.split);
  for (auto [e, frag] : llvm::enumerate(acc))
    for (int64_t h = 0; h < 2; ++h)
      vector::StoreOp::create(
          b, loc, vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{h}),
          ws.partials, ValueRange{slots.acc(mine, e, h)});
  for (auto [r, pair] : llvm::enumerate(llvm::zip(maxRows, sums))) {
    auto [m, l] = pair;
    Value stats =
        vector::FromElementsOp::create(b, loc, pairType, ValueRange{m, l});
    vector::StoreOp::create(b, loc, stats, ws.partials,
                            ValueRange{slots.row(mine, r)});
  }
  // The release fence makes the partial visible GPU-wide before the count;
  // lane 0 counts, and the count is broadcast to the warp.
  auto gpuScope =
      NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::GPU);
  NVVM::MembarOp::create(b, loc, gpuScope);
  k.warpSync();
  Value warp = arith::DivUIOp::create(b, loc, k.tid, k.idx(kWarpThreads));
  Value counter = k.add(k.mul(slots.tile, k.idx(k.warps)), warp);
  Value isLane0 =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, k.lane, k.idx(0));
  auto count = scf::IfOp::create(b, loc, TypeRange{b.getI32Type()}, isLane0,
                                 /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&count.getThenRegion().front());
    Value before =
        memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addi,
                                    k.i32(1), ws.counters, ValueRange{counter});
    scf::YieldOp::create(b, loc, before);
    b.setInsertionPointToStart(&count.getElseRegion().front());
    scf::YieldOp::create(b, loc, k.i32(0));
  }
  Value arrivals = gpu::ShuffleOp::create(b, loc, count.getResult(0), 0,
                                          kWarpThreads, gpu::ShuffleMode::IDX)
                       .getShuffleResult();
  return {counter, arrivals, isLane0};
}

/// The online merge over every split's partial: running max M, sum L and
/// acc O, each partial rescaled to the running max (OnlineSoftmax.h).
static SmallVector<Value> mergeAll(KernelContext &k, TensorCoreStrategy &tc,
                                   Slots &slots, const SplitWorkspace &ws,
                                   int64_t nAcc, int64_t nRows) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto pairType = VectorType::get({2}, b.getF32Type());
  SmallVector<Value> inits(nAcc, tc.zeroFragment());
  inits.append(nRows, k.f32(-INFINITY)); // M
  inits.append(nRows, k.f32(0.0f));      // L
  auto merge = scf::ForOp::create(b, loc, k.idx(0), ws.splits, k.idx(1), inits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(merge.getBody());
  ValueRange carried = merge.getRegionIterArgs();
  Value base = slots.base(merge.getInductionVar());
  SmallVector<Value> keep, take, newMax, newSum;
  for (int64_t r = 0; r < nRows; ++r) {
    Value stats = vector::LoadOp::create(b, loc, pairType, ws.partials,
                                         ValueRange{slots.row(base, r)});
    Value m = vector::ExtractOp::create(b, loc, stats, ArrayRef<int64_t>{0});
    Value l = vector::ExtractOp::create(b, loc, stats, ArrayRef<int64_t>{1});
    Value runMax = carried[nAcc + r], runSum = carried[nAcc + nRows + r];
    Value both = arith::MaximumFOp::create(b, loc, runMax, m);
    Value use = usableMax(k, both, k.f32(-INFINITY));
    Value keepFactor = rescaleFactor(k, runMax, use);
    Value takeFactor = rescaleFactor(k, m, use);
    keep.push_back(keepFactor);
    take.push_back(takeFactor);
    newMax.push_back(both);
    newSum.push_back(arith::AddFOp::create(
        b, loc, arith::MulFOp::create(b, loc, runSum, keepFactor),
        arith::MulFOp::create(b, loc, l, takeFactor)));
  }
  SmallVector<Value> theirs;
  for (int64_t e = 0; e < nAcc; ++e) {
    SmallVector<Value> elements;
    for (int64_t h = 0; h < 2; ++h) {
      Value pair = vector::LoadOp::create(b, loc, pairType, ws.partials,
                                          ValueRange{slots.acc(base, e, h)});
      for (int64_t i = 0; i < 2; ++i)
        elements.push_back(
            vector::ExtractOp::create(b, loc, pair, ArrayRef<int64_t>{i}));
    }
    theirs.push_back(
        k.buildVector(VectorType::get({2, 2}, b.getF32Type()), elements));
  }
  SmallVector<Value> runAcc(carried.take_front(nAcc));
  SmallVector<Value> kept = tc.scaleRows(runAcc, keep);
  SmallVector<Value> taken = tc.scaleRows(theirs, take);
  SmallVector<Value> next;
  for (int64_t e = 0; e < nAcc; ++e)
    next.push_back(arith::AddFOp::create(b, loc, kept[e], taken[e]));
  llvm::append_range(next, newMax);
  llvm::append_range(next, newSum);
  scf::YieldOp::create(b, loc, next);
  return SmallVector<Value>(merge.getResults());
}

/// publishAndMerge's results: every split's merged acc, max and sum rows,
/// then the store guard.
static SmallVector<Value>
publishAndMerge(KernelContext &k, TensorCoreStrategy &tc,
                const SplitWorkspace &ws, ArrayRef<Value> acc,
                ArrayRef<Value> maxRows, ArrayRef<Value> sums) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t threads = kWarpThreads * k.warps;
  int64_t rowsBase = int64_t(acc.size()) * 2 * threads * 2;
  Slots slots{k, threads, rowsBase,
              rowsBase + int64_t(sums.size()) * threads * 2};
  assert(slots.slotFloats == k.blockM * (k.headDim + 8) &&
         "slot layout drifted");
  slots.queryBlocks = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  slots.batchHeads = ws.batchHeads;
  slots.tile = k.add(k.mul(ws.batchHead, slots.queryBlocks), ws.queryBlock);

  Arrival arrival = publish(k, slots, ws, acc, maxRows, sums);
  Value lastSplit = arith::IndexCastUIOp::create(
      b, loc, b.getI32Type(),
      arith::SubIOp::create(b, loc, ws.splits, k.idx(1)));
  Value isLast = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       arrival.arrivals, lastSplit);

  SmallVector<Type> types(acc.size(), acc.front().getType());
  types.append(2 * sums.size(), b.getF32Type());
  auto last = scf::IfOp::create(b, loc, types, isLast, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    // A warp that is not last stores nothing: it yields constants, so that
    // its registers die once published and the merge has them to itself.
    b.setInsertionPointToStart(&last.getElseRegion().front());
    SmallVector<Value> unused(acc.size(), tc.zeroFragment());
    unused.append(2 * sums.size(), k.f32(0.0f));
    scf::YieldOp::create(b, loc, unused);

    b.setInsertionPointToStart(&last.getThenRegion().front());
    // Every arrival is in: reset the counter for the next launch, and
    // acquire the other splits' partials.
    auto reset = scf::IfOp::create(b, loc, arrival.isLane0, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard resetGuard(b);
      b.setInsertionPointToStart(&reset.getThenRegion().front());
      memref::StoreOp::create(b, loc, k.i32(0), ws.counters,
                              ValueRange{arrival.counter});
    }
    NVVM::MembarOp::create(
        b, loc,
        NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::GPU));
    scf::YieldOp::create(b, loc,
                         mergeAll(k, tc, slots, ws, acc.size(), sums.size()));
  }
  SmallVector<Value> results(last.getResults());
  results.push_back(isLast);
  return results;
}

MergedSplits flash::emitSplitMerge(KernelContext &k, TensorCoreStrategy &tc,
                                   const SplitWorkspace &ws,
                                   ArrayRef<Value> acc, ArrayRef<Value> maxRows,
                                   ArrayRef<Value> sums) {
  assert(tc.canMergeSplits() && "partials are register fragments");
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // One split (the launch's choice for a grid that fills the GPU): the
  // program's result is final and the workspace is never touched.
  Value several = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                        ws.splits, k.idx(1));
  SmallVector<Type> types(acc.size(), acc.front().getType());
  types.append(2 * sums.size(), b.getF32Type());
  types.push_back(b.getI1Type());
  auto choice = scf::IfOp::create(b, loc, types, several, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    scf::YieldOp::create(b, loc,
                         publishAndMerge(k, tc, ws, acc, maxRows, sums));
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    SmallVector<Value> unchanged(acc);
    llvm::append_range(unchanged, maxRows);
    llvm::append_range(unchanged, sums);
    unchanged.push_back(arith::ConstantIntOp::create(b, loc, 1, 1));
    scf::YieldOp::create(b, loc, unchanged);
  }
  ValueRange results = choice.getResults();
  size_t nAcc = acc.size(), nRows = sums.size();
  MergedSplits merged;
  merged.acc = SmallVector<Value>(results.take_front(nAcc));
  merged.maxRows = SmallVector<Value>(results.slice(nAcc, nRows));
  merged.sums = SmallVector<Value>(results.slice(nAcc + nRows, nRows));
  merged.storeGuard = results.back();
  return merged;
}
