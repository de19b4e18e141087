//===- BlockMap.cpp - the block map of a data-dependent mask --------------===//

#include "BlockMap.h"

#include "ScoreMods.h"

#include "flashc/Analysis/AffineMask.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

SmallVector<MaskModOp> flash::dataDependentMasks(TiledOp tiled) {
  SmallVector<MaskModOp> masks;
  tiled.walk([&](MaskModOp op) {
    if (!AffineMask::analyze(op.getBody()))
      masks.push_back(op);
  });
  // One map serves one orientation: a program that has both (never one
  // that flashc writes) maps its untransposed masks and evaluates the
  // transposed ones in every block.
  if (llvm::any_of(masks, [](MaskModOp op) { return !op.getTransposed(); }))
    llvm::erase_if(masks, [](MaskModOp op) { return op.getTransposed(); });
  return masks;
}

MapRows flash::blockMapRows(TiledOp tiled) {
  bool batch = false, head = false;
  for (MaskModOp mask : dataDependentMasks(tiled)) {
    Block &body = mask.getBody().front();
    batch |= !body.getArgument(0).use_empty();
    head |= !body.getArgument(1).use_empty();
  }
  return head    ? MapRows::PerBatchHead
         : batch ? MapRows::PerBatch
                 : MapRows::Shared;
}

gpu::GPUFuncOp flash::buildBlockMapKernel(TiledOp tiled, OpBuilder &b,
                                          StringRef name) {
  Location loc = tiled.getLoc();
  SmallVector<Type> argTypes(tiled->getOperandTypes());
  argTypes.push_back(MemRefType::get({ShapedType::kDynamic}, b.getI32Type()));
  auto kernel =
      gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  kernel.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(kBlockMapThreads), 1, 1}));
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  // One entry per warp, or'ed by thread 0.
  Value warpBits = kernel.addWorkgroupAttribution(
      MemRefType::get({kBlockMapThreads / kWarpThreads}, b.getI32Type(),
                      MemRefLayoutAttrInterface(), workgroup),
      loc);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&kernel.getBody().front());
  KernelContext k(b, loc, tiled);
  // The body's arguments: the parameters, then the workgroup buffer.
  ValueRange args =
      kernel.getBody().front().getArguments().take_front(argTypes.size());
  Value q = args[0], keys = args[1], map = args.back();
  ValueRange captures =
      args.drop_front(4 + (tiled.getLse() ? 1 : 0)).drop_back();
  Value keyBlock = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value queryBlock = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value mapRow = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  Value heads = memref::DimOp::create(b, loc, q, 1);
  Value seqQ = memref::DimOp::create(b, loc, q, 2);
  Value seqK = memref::DimOp::create(b, loc, keys, 2);
  // The batch and head of the map row (0 where the masks do not read it).
  Value batch = k.idx(0), head = k.idx(0);
  switch (blockMapRows(tiled)) {
  case MapRows::PerBatchHead:
    batch = arith::DivUIOp::create(b, loc, mapRow, heads);
    head = arith::RemUIOp::create(b, loc, mapRow, heads);
    break;
  case MapRows::PerBatch:
    batch = mapRow;
    break;
  case MapRows::Shared:
    break;
  }
  Value q0 = k.mul(queryBlock, k.idx(k.blockM));
  Value kv0 = k.mul(keyBlock, k.idx(k.blockN));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value falseValue = arith::ConstantIntOp::create(b, loc, 0, 1);

  MaskOp causal;
  tiled.walk([&](MaskOp mask) {
    if (mask.getCausal())
      causal = mask;
  });
  Value past;
  if (causal) {
    // Bottom-right: the diagonal is the keys' length less the queries'.
    if (!causal.getTransposed()) {
      Value lastRow = k.add(q0, k.idx(k.blockM - 1));
      if (causal.getDiagonal())
        lastRow = k.add(lastRow, arith::SubIOp::create(b, loc, seqK, seqQ));
      past = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, kv0,
                                   lastRow);
    } else {
      // Rows are keys, columns queries: a block whose first key is past
      // its last query.
      Value lastColumn = k.add(kv0, k.idx(k.blockN - 1));
      if (causal.getDiagonal())
        lastColumn =
            k.add(lastColumn, arith::SubIOp::create(b, loc, seqQ, seqK));
      past = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, q0,
                                   lastColumn);
    }
  }
  auto isZero = [&](Value v) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, k.idx(0));
  };
  Value entry = k.add(k.mul(k.add(k.mul(mapRow, gpu::GridDimOp::create(
                                                    b, loc, gpu::Dimension::y)),
                                  queryBlock),
                            gpu::GridDimOp::create(b, loc, gpu::Dimension::x)),
                      keyBlock);
  // A block past the causal diagonal (no program visits it) is neither
  // evaluated nor reduced: thread 0 records it empty. The condition is the
  // program's, so the barrier below stays uniform.
  if (past) {
    auto ifPast = scf::IfOp::create(b, loc, past, /*withElseRegion=*/true);
    b.setInsertionPointToStart(&ifPast.getThenRegion().front());
    auto ifThread0 = scf::IfOp::create(b, loc, isZero(tid), false);
    b.setInsertionPointToStart(&ifThread0.getThenRegion().front());
    memref::StoreOp::create(b, loc, k.i32(0), map, ValueRange{entry});
    b.setInsertionPointToStart(&ifPast.getElseRegion().front());
  }
  // Where block_n divides the threads, each thread keeps
  // mapColumnsPerThread key columns and steps through rows: the keys'
  // coordinates, and the region's loads at them, are the same on every step
  // (hoisted out of the loop), and a row's loads (one broadcast load across
  // the row's threads) serve each of the thread's columns. Otherwise the
  // pairs are taken flat, both coordinates recomputed per pair.
  int64_t columnsEach = mapColumnsPerThread(k.blockN);
  int64_t rowThreads = columnsEach ? k.blockN / columnsEach : 0;
  // emitPairs gives (some pair seen, some pair hidden) among this thread's
  // pairs. With `checked`, pairs past the lengths count for nothing and are
  // clamped (their loads stay inside the captured data); a block wholly
  // inside both lengths (all but the last row and column of blocks) needs
  // neither, which leaves a few instructions per pair.
  auto emitPairs = [&](bool checked) -> SmallVector<Value> {
    auto inBounds = [&](Value idx, Value length) -> Value {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, idx,
                                   length);
    };
    auto safe = [&](Value idx, Value length) {
      return checked ? clampBelow(b, loc, idx, length) : idx;
    };
    // This thread's key columns: (index, clamped where checked; in bounds).
    SmallVector<std::pair<Value, Value>> kvColumns;
    scf::ForOp loop;
    if (columnsEach) {
      Value column = arith::RemUIOp::create(b, loc, tid, k.idx(rowThreads));
      for (int64_t c = 0; c < columnsEach; ++c) {
        Value kvIdx = k.add(kv0, k.add(column, k.idx(c * rowThreads)));
        kvColumns.push_back(
            {safe(kvIdx, seqK), checked ? inBounds(kvIdx, seqK) : Value()});
      }
      loop = scf::ForOp::create(
          b, loc, arith::DivUIOp::create(b, loc, tid, k.idx(rowThreads)),
          k.idx(k.blockM), k.idx(kBlockMapThreads / rowThreads),
          ValueRange{falseValue, falseValue});
    } else {
      loop = scf::ForOp::create(b, loc, tid, k.idx(k.blockM * k.blockN),
                                k.idx(kBlockMapThreads),
                                ValueRange{falseValue, falseValue});
    }
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    Value qIdx;
    if (columnsEach) {
      qIdx = k.add(q0, e);
    } else {
      qIdx = k.add(q0, arith::DivUIOp::create(b, loc, e, k.idx(k.blockN)));
      Value kvIdx =
          k.add(kv0, arith::RemUIOp::create(b, loc, e, k.idx(k.blockN)));
      kvColumns.push_back(
          {safe(kvIdx, seqK), checked ? inBounds(kvIdx, seqK) : Value()});
    }
    Value qValid = checked ? inBounds(qIdx, seqQ) : Value();
    Value qSafe = safe(qIdx, seqQ);
    Value anySeen = loop.getRegionIterArg(0);
    Value anyHidden = loop.getRegionIterArg(1);
    Value trueValue = arith::ConstantIntOp::create(b, loc, 1, 1);
    for (auto [kvSafe, kvValid] : kvColumns) {
      Value seen = trueValue;
      for (MaskModOp mask : dataDependentMasks(tiled)) {
        // A transposed mask's rows are keys and its columns queries.
        SmallVector<Value> regionArgs =
            mask.getTransposed()
                ? SmallVector<Value>{batch, head, kvSafe, qSafe, seqK, seqQ}
                : SmallVector<Value>{batch, head, qSafe, kvSafe, seqQ, seqK};
        for (Value capture : mask.getCaptures())
          regionArgs.push_back(
              captures[llvm::find(tiled.getCaptures(), capture) -
                       tiled.getCaptures().begin()]);
        seen = arith::AndIOp::create(
            b, loc, seen, inlineModRegion(b, mask.getBody(), regionArgs));
      }
      Value hidden = arith::XOrIOp::create(b, loc, seen, trueValue);
      if (checked) {
        Value valid = arith::AndIOp::create(b, loc, qValid, kvValid);
        seen = arith::AndIOp::create(b, loc, valid, seen);
        hidden = arith::AndIOp::create(b, loc, valid, hidden);
      }
      anySeen = arith::OrIOp::create(b, loc, anySeen, seen);
      anyHidden = arith::OrIOp::create(b, loc, anyHidden, hidden);
    }
    scf::YieldOp::create(b, loc, ValueRange{anySeen, anyHidden});
    return {loop.getResult(0), loop.getResult(1)};
  };
  Value inside = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                            k.add(q0, k.idx(k.blockM)), seqQ),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                            k.add(kv0, k.idx(k.blockN)), seqK));
  auto split =
      scf::IfOp::create(b, loc, TypeRange{b.getI1Type(), b.getI1Type()}, inside,
                        /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&split.getThenRegion().front());
    scf::YieldOp::create(b, loc, emitPairs(/*checked=*/false));
    b.setInsertionPointToStart(&split.getElseRegion().front());
    scf::YieldOp::create(b, loc, emitPairs(/*checked=*/true));
  }
  // The warp's, then the block's.
  Value all = arith::ConstantIntOp::create(b, loc, -1, 32);
  auto any = [&](Value bit) {
    return NVVM::VoteSyncOp::create(b, loc, b.getI1Type(), all, bit,
                                    NVVM::VoteSyncKind::any)
        .getResult();
  };
  auto bitsOf = [&](Value flag, int64_t bit) {
    return arith::SelectOp::create(b, loc, flag, k.i32(bit), k.i32(0));
  };
  Value bits = arith::OrIOp::create(
      b, loc, bitsOf(any(split.getResult(0)), kBlockSomeSeen),
      bitsOf(any(split.getResult(1)), kBlockSomeHidden));
  Value lane = arith::RemUIOp::create(b, loc, tid, k.idx(kWarpThreads));
  Value warp = arith::DivUIOp::create(b, loc, tid, k.idx(kWarpThreads));
  {
    auto ifLane0 = scf::IfOp::create(b, loc, isZero(lane), false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&ifLane0.getThenRegion().front());
    memref::StoreOp::create(b, loc, bits, warpBits, ValueRange{warp});
  }
  gpu::BarrierOp::create(b, loc);
  {
    auto ifThread0 = scf::IfOp::create(b, loc, isZero(tid), false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&ifThread0.getThenRegion().front());
    Value block = k.i32(0);
    for (int64_t w = 0; w < kBlockMapThreads / kWarpThreads; ++w)
      block = arith::OrIOp::create(
          b, loc, block,
          memref::LoadOp::create(b, loc, warpBits, ValueRange{k.idx(w)}));
    memref::StoreOp::create(b, loc, block, map, ValueRange{entry});
  }
  b.setInsertionPointToEnd(&kernel.getBody().front());
  gpu::ReturnOp::create(b, loc);
  return kernel;
}

std::pair<Value, Value> flash::emitMapKeyRange(KernelContext &k, Value map,
                                               Value rowBase, Value keyBlocks) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // Every warp scans the row (lanes strided), then reduces: the result is
  // uniform without shared memory.
  Value none = arith::IndexCastOp::create(b, loc, b.getI32Type(), keyBlocks);
  Value minusOne = k.i32(-1);
  auto loop = scf::ForOp::create(b, loc, k.lane, keyBlocks, k.idx(kWarpThreads),
                                 ValueRange{none, minusOne});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    Value bits =
        memref::LoadOp::create(b, loc, map, ValueRange{k.add(rowBase, j)});
    Value seen = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne,
        arith::AndIOp::create(b, loc, bits, k.i32(kBlockSomeSeen)), k.i32(0));
    Value j32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), j);
    Value first = arith::SelectOp::create(
        b, loc, seen,
        arith::MinSIOp::create(b, loc, loop.getRegionIterArg(0), j32),
        loop.getRegionIterArg(0));
    Value last = arith::SelectOp::create(
        b, loc, seen,
        arith::MaxSIOp::create(b, loc, loop.getRegionIterArg(1), j32),
        loop.getRegionIterArg(1));
    scf::YieldOp::create(b, loc, ValueRange{first, last});
  }
  Value first = loop.getResult(0), last = loop.getResult(1);
  for (int32_t offset = 1; offset < kWarpThreads; offset *= 2) {
    first = arith::MinSIOp::create(b, loc, first, k.shuffleXor(first, offset));
    last = arith::MaxSIOp::create(b, loc, last, k.shuffleXor(last, offset));
  }
  auto toIndex = [&](Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v).getResult();
  };
  Value bn = k.idx(k.blockN);
  // No block seen: first = keyBlocks, last = -1, an empty range.
  Value lower = k.mul(toIndex(first), bn);
  Value upper = arith::MaxSIOp::create(
      b, loc, k.mul(k.add(toIndex(last), k.idx(1)), bn), k.idx(0));
  return {lower, upper};
}
