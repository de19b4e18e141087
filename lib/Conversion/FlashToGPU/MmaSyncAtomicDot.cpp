//===- MmaSyncAtomicDot.cpp - flash.atomic_add_dot on mma.sync ------------===//
//
// dest rows += lhsᵀ · rhs, where lhs (the dK/dV program's dSᵀ: a row per
// key, a column per query) is held as P·V's A fragments, spread over the
// warps by rows. The product sums over lhs's rows, which no warp holds
// alone, so lhs goes through shared memory: each warp writes its fragments,
// and after a barrier the warps split the result (a 16-row strip of
// queries times a 16-column pair of head_dim per item), reading lhsᵀ's A
// fragments by ldmatrix.trans and rhs's B fragments as P·V reads V's. Each
// result element is added to global memory by one f32 atomic (red.add once
// ptxas sees the result unused): the programs of all key blocks add to the
// same query rows.
//
//===----------------------------------------------------------------------===//

#include "MmaSync.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::flash;

LogicalResult
MmaSync::atomicAddTransposedDot(Operation *op, const TileStorage &lhs,
                                const TileStorage &rhs, Value staging,
                                Value dest, Value batch, Value head, Value row0,
                                Value seq, bool stepBarrier) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value lane = k.lane;
  int64_t slices = k.blockN / kSliceK; // lhs's k16 slices of columns
  assert(lhs.values.size() == size_t(k.strips * slices) &&
         "lhs fragments match the tile");
  auto rem = [&](Value x, int64_t d) {
    return arith::RemUIOp::create(b, loc, x, k.idx(d)).getResult();
  };
  auto div = [&](Value x, int64_t d) {
    return arith::DivUIOp::create(b, loc, x, k.idx(d)).getResult();
  };

  // 1. This warp's rows of lhs into the staging buffer. A fragment's rows
  // are [row r, cols 0-7] [r+8, 0-7] [r, 8-15] [r+8, 8-15] of its 16x16
  // block (MmaScoreStrip::finish), r = lane/4, column pair 2·(lane%4).
  // Other warps may still read the previous block's lhs unless a barrier
  // began this step.
  if (!stepBarrier)
    gpu::BarrierOp::create(b, loc);
  Value quadRow = div(lane, 4);
  Value laneCol = k.mul(rem(lane, 4), k.idx(2));
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t kk = 0; kk < slices; ++kk)
      for (int64_t r = 0; r < 4; ++r) {
        Value row =
            k.add(k.add(k.warpRow, k.idx(16 * s + 8 * (r % 2))), quadRow);
        Value col = k.add(laneCol, k.idx(16 * kk + 8 * (r / 2)));
        Value pair = vector::ExtractOp::create(
            b, loc, lhs.values[s * slices + kk], ArrayRef<int64_t>{r});
        vector::StoreOp::create(b, loc, pair, staging, ValueRange{row, col});
      }
  gpu::BarrierOp::create(b, loc);

  // 2. Items (query strip, head_dim column pair), dealt to the warps in
  // turn; the last round is guarded where they do not divide evenly.
  int64_t queryStrips = k.blockN / 16, columnPairs = k.headDim / 16;
  int64_t items = queryStrips * columnPairs;
  Value warp = div(k.tid, kWarpThreads);
  Value laneMod8 = rem(lane, 8), laneMod16 = rem(lane, 16);
  Value laneDiv8Mod2 = rem(div(lane, 8), 2), laneDiv16 = div(lane, 16);
  auto fragType = VectorType::get({4, 2}, k.element);
  for (int64_t round = 0; round * k.warps < items; ++round) {
    Value item = k.add(warp, k.idx(round * k.warps));
    std::optional<OpBuilder::InsertionGuard> guard;
    if ((round + 1) * k.warps > items) {
      auto inRange = scf::IfOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, item,
                                k.idx(items)),
          /*withElse=*/false);
      guard.emplace(b);
      b.setInsertionPointToStart(&inRange.getThenRegion().front());
    }
    Value queryStrip = rem(item, queryStrips);
    Value columnPair = div(item, queryStrips);
    Value acc[2] = {zeroFragment(), zeroFragment()};
    for (int64_t kk = 0; kk < k.blockM / kSliceK; ++kk) {
      // lhsᵀ[query][key] is staging[key][query]: ldmatrix.trans, lane l
      // addressing key row l%8 (+8 for lanes 16-31) and query column
      // half (l/8)%2, in P·V's A fragment order.
      Value aRow =
          k.add(k.idx(16 * kk), k.add(k.mul(laneDiv16, k.idx(8)), laneMod8));
      Value aCol =
          k.add(k.mul(queryStrip, k.idx(16)), k.mul(laneDiv8Mod2, k.idx(8)));
      Value a = nvgpu::LdMatrixOp::create(
          b, loc, fragType, staging, ValueRange{aRow, aCol},
          b.getBoolAttr(true), b.getI32IntegerAttr(4));
      // rhs's rows are the k index, as V's in P·V.
      Value bRow = k.add(k.add(rhs.rowBase, k.idx(16 * kk)), laneMod16);
      Value bCol =
          k.add(k.mul(laneDiv16, k.idx(8)), k.mul(columnPair, k.idx(16)));
      Value pair = ldmatrix(rhs.memref, bRow, bCol, 0, true);
      acc[0] = mma(a, sliceB(pair, 0), acc[0]);
      acc[1] = mma(a, sliceB(pair, 1), acc[1]);
    }
    // 3. Each element added to dest: registers [row r: 2][row r+8: 2].
    for (int64_t half = 0; half < 2; ++half) {
      Value row = k.add(k.add(row0, k.mul(queryStrip, k.idx(16))),
                        k.add(quadRow, k.idx(8 * half)));
      auto inside = scf::IfOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, seq),
          /*withElse=*/false);
      OpBuilder::InsertionGuard rowGuard(b);
      b.setInsertionPointToStart(&inside.getThenRegion().front());
      for (int64_t t = 0; t < 2; ++t) {
        SmallVector<Value> regs = accumulatorRegisters(acc[t]);
        for (int64_t e = 0; e < 2; ++e) {
          Value col = k.add(k.add(k.mul(columnPair, k.idx(16)), laneCol),
                            k.idx(8 * t + e));
          memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf,
                                      regs[2 * half + e], dest,
                                      ValueRange{batch, head, row, col});
        }
      }
    }
  }
  return success();
}
