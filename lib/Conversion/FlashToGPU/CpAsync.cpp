//===- CpAsync.cpp - Q, K and V by cp.async, software-pipelined -----------===//
//
// 16-byte nvgpu.device_async_copy (cp.async.cg) copies on flat views, one
// commit group per K/V block, and `stages` K/V buffers: blocks
// i+1 .. i+stages-1 are in flight while block i is computed, with one
// wait_group and one block barrier per step.
//
//===----------------------------------------------------------------------===//

#include "CpAsync.h"

#include "TensorCoreStrategy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

CpAsync::CpAsync(KernelContext &k, TensorCoreStrategy &tc,
                 const QKVBuffers &buffers)
    : k(k), tc(tc), buffers(buffers), ldQKV(tc.qkvRowStride()) {}

Copiers CpAsync::computeThreads() const {
  return {k.tid, kWarpThreads * k.warps};
}

void CpAsync::emitSourceViews(Value qArg, Value kArg, Value vArg) {
  q = qArg;
  kSrc = kArg;
  v = vArg;
  // Flat sources: a copy's address is then a per-thread part plus
  // constants (plus the row stride per round, for a strided source).
  qSource = flatten(q);
  kSource = flatten(kSrc);
  vSource = flatten(v);
}

void CpAsync::pageKeys(Value table, Value pageSize, Value kStridePage,
                       Value vStridePage) {
  for (auto [source, stridePage] :
       {std::pair<FlatSource &, Value>{kSource, kStridePage},
        {vSource, vStridePage}}) {
    assert(source.strideRow && "paged K/V are read through strided views");
    source.table = table;
    source.pageSize = pageSize;
    source.stridePage = stridePage;
  }
}

FlatSource CpAsync::flatten(Value source) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto type = cast<MemRefType>(source.getType());
  if (type.getLayout().isIdentity())
    return {memref::CollapseShapeOp::create(
        b, loc, source, ArrayRef<ReassociationIndices>{{0, 1, 2, 3}})};
  // The verifier leaves a unit head_dim stride: the view spans
  // 1 + sum((size_i - 1) · stride_i) elements of the base buffer from its
  // offset, 0 but for a varlen sequence's view. (A paged cache's view
  // spans more, through its pages; only the flat view's base and the
  // strides are used, never its size.)
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, source);
  Value extent = k.idx(1);
  for (unsigned dim = 0; dim < 4; ++dim)
    extent = k.add(extent, k.mul(arith::SubIOp::create(
                                     b, loc, meta.getSizes()[dim], k.idx(1)),
                                 meta.getStrides()[dim]));
  int64_t offset = cast<StridedLayoutAttr>(type.getLayout()).getOffset();
  auto flatType =
      offset == 0
          ? MemRefType::get({ShapedType::kDynamic}, type.getElementType())
          : MemRefType::get(
                {ShapedType::kDynamic}, type.getElementType(),
                StridedLayoutAttr::get(b.getContext(), offset, {1}));
  OpFoldResult flatOffset = b.getIndexAttr(0);
  if (offset != 0)
    flatOffset = meta.getOffset();
  Value flat = memref::ReinterpretCastOp::create(
      b, loc, flatType, meta.getBaseBuffer(), flatOffset,
      ArrayRef<OpFoldResult>{extent},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  return {flat, meta.getStrides()[0], meta.getStrides()[1],
          meta.getStrides()[2]};
}

void CpAsync::issueRowCopies(Value source, const FlatSource &flat, Value bh,
                             Value row0, int64_t rows, Value dstFlat,
                             Value dstBase, bool bounded, const Copiers &by) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t headDim = k.headDim;
  // A round of copies (one chunk per thread) moves rowsPerRound whole rows:
  // with head_dim 64 or 128 (8 or 16 chunks a row), a multiple of 8 rows
  // with 4 or 8 warps, 2 or 4 rows with 1 or 2 warps. Where the chunks of a
  // row do not divide the threads (head_dim 80: 10 chunks), the last
  // threads % chunksPerRow threads sit out, so that every round still
  // starts a row and differs from the first by constants.
  int64_t chunksPerRow = headDim / kChunkElements;
  int64_t threads = by.threads;
  int64_t rowsPerRound = threads / chunksPerRow;
  bool idleLanes = threads % chunksPerRow != 0;
  assert(rowsPerRound >= 1 && "a round copies at least one row");
  // Addresses are formed on flat views, as a per-thread part plus a
  // per-round constant: the rounds then differ by immediate offsets. (2-D
  // indices hide that: LLVM folds the round into the row, and cannot split
  // (tid + c) / chunksPerRow for want of a no-wrap flag.) The swizzle
  // depends on row % 8, which is the same in every round only when a round
  // is a whole number of 8-row groups; otherwise each round swizzles its
  // own row.
  Value seq = memref::DimOp::create(b, loc, source, 2);
  Value laneRow = arith::DivUIOp::create(b, loc, by.tid, k.idx(chunksPerRow));
  Value col = k.mul(arith::RemUIOp::create(b, loc, by.tid, k.idx(chunksPerRow)),
                    k.idx(kChunkElements));
  Value dstLane = k.add(dstBase, k.add(k.mul(laneRow, k.idx(ldQKV)),
                                       tc.qkvColumn(laneRow, col, 0, rows)));
  // Where row `row` of this (batch, head) starts in the flat source: among
  // the B·H·S rows of a row-major one, or by the strides.
  // (A paged cache's view has batch stride 0: its head base is the head's;
  // the batch picks the block table's row.)
  Value headRow0, headBase, batch;
  if (flat.strideRow) {
    Value heads = memref::DimOp::create(b, loc, source, 1);
    batch = arith::DivUIOp::create(b, loc, bh, heads);
    headBase = k.add(
        k.mul(batch, flat.strideBatch),
        k.mul(arith::RemUIOp::create(b, loc, bh, heads), flat.strideHead));
  } else {
    headRow0 = k.mul(bh, seq);
  }
  // With a paged source whose pages hold these rows whole, `blockBase` is
  // where row 0 would start if the page continued backwards; null: every
  // row finds its own page.
  Value blockBase;
  auto rowStart = [&](Value row) {
    if (flat.table && blockBase)
      return k.add(blockBase, k.mul(row, flat.strideRow));
    if (flat.table) {
      // The row's page from the block table: one (cached) load a row.
      Value slot = arith::DivUIOp::create(b, loc, row, flat.pageSize);
      Value page = arith::IndexCastUIOp::create(
          b, loc, b.getIndexType(),
          memref::LoadOp::create(b, loc, flat.table, ValueRange{batch, slot}));
      Value inPage = arith::RemUIOp::create(b, loc, row, flat.pageSize);
      return k.add(headBase, k.add(k.mul(page, flat.stridePage),
                                   k.mul(inPage, flat.strideRow)));
    }
    return flat.strideRow ? k.add(headBase, k.mul(row, flat.strideRow))
                          : k.mul(k.add(headRow0, row), k.idx(headDim));
  };
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  Value lastRow = arith::SubIOp::create(b, loc, seq, k.idx(1));
  auto emitRounds = [&]() {
    // Rows evenly spaced: a per-thread part plus a constant a round; paged
    // rows on pages of their own: each round finds its own.
    bool evenlySpaced = !flat.table || blockBase;
    Value srcLane =
        evenlySpaced ? k.add(rowStart(k.add(row0, laneRow)), col) : Value();
    for (int64_t firstRow = 0; firstRow < rows; firstRow += rowsPerRound) {
      auto emitCopy = [&]() {
        // (A paged row past seq has no page to look up: bounded copies
        // take the clamped row's address below instead.)
        Value srcIndex;
        if (evenlySpaced)
          srcIndex = k.add(srcLane, flat.strideRow
                                        ? k.mul(k.idx(firstRow), flat.strideRow)
                                        : k.idx(firstRow * headDim));
        else if (!bounded)
          srcIndex = k.add(
              rowStart(k.add(row0, k.add(laneRow, k.idx(firstRow)))), col);
        Value srcElements;
        if (bounded) {
          // Rows past seq copy 0 bytes (zero-fill) from a clamped, valid
          // address.
          Value srcRow = k.add(row0, k.add(laneRow, k.idx(firstRow)));
          Value inside = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::ult, srcRow, seq);
          Value clamped = arith::MinUIOp::create(b, loc, srcRow, lastRow);
          srcIndex = k.add(rowStart(clamped), col);
          srcElements = arith::SelectOp::create(
              b, loc, inside, k.idx(kChunkElements), k.idx(0));
        }
        Value dstIndex = k.add(dstLane, k.idx(firstRow * ldQKV));
        if (rowsPerRound % 8 != 0) {
          Value row = k.add(laneRow, k.idx(firstRow));
          dstIndex = k.add(dstBase, k.add(k.mul(row, k.idx(ldQKV)),
                                          tc.qkvColumn(row, col, 0, rows)));
        }
        nvgpu::DeviceAsyncCopyOp::create(
            b, loc, tokenType, dstFlat, ValueRange{dstIndex}, flat.flat,
            ValueRange{srcIndex}, b.getIndexAttr(kChunkElements), srcElements,
            b.getUnitAttr());
      };
      bool partial = firstRow + rowsPerRound > rows;
      if (!partial && !idleLanes) {
        emitCopy();
        continue;
      }
      // A partial last round, or a round with idle threads: only the threads
      // with a row copy. (Idle threads have laneRow == rowsPerRound.)
      Value has = partial
                      ? arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                              k.add(laneRow, k.idx(firstRow)),
                                              k.idx(rows))
                      : arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                              laneRow, k.idx(rowsPerRound));
      auto ifOp = scf::IfOp::create(b, loc, has, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      emitCopy();
    }
  };
  if (!flat.table) {
    emitRounds();
    return;
  }
  // K/V blocks start at multiples of their rows: where the page size is a
  // multiple of them too, each block lies in one page, found once.
  Value onePage = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::RemUIOp::create(b, loc, flat.pageSize, k.idx(rows)), k.idx(0));
  auto ifOp = scf::IfOp::create(b, loc, onePage, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value page = arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      memref::LoadOp::create(
          b, loc, flat.table,
          ValueRange{batch,
                     arith::DivUIOp::create(b, loc, row0, flat.pageSize)}));
  Value pageRow0 = arith::SubIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, row0, flat.pageSize), row0);
  blockBase = k.add(headBase, k.add(k.mul(page, flat.stridePage),
                                    k.mul(pageRow0, flat.strideRow)));
  emitRounds();
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  blockBase = Value();
  emitRounds();
}

void CpAsync::commitGroup() {
  // The NVVM op itself: nvgpu's device_async_create_group names its copies'
  // tokens, which guarded copies (inside scf.if) cannot give it, and with
  // none it prints in a form its parser rejects.
  NVVM::CpAsyncCommitGroupOp::create(k.b, k.loc);
}

void CpAsync::wait(int32_t pendingGroups) {
  // The NVVM op itself: nvgpu.device_async_wait takes a group token, which
  // its lowering ignores (wait_group counts groups), and a group whose
  // copies are all guarded (idle threads, partial rounds) has none.
  NVVM::CpAsyncWaitGroupOp::create(k.b, k.loc, pendingGroups);
  tc.afterCopiesLanded();
}

void CpAsync::loadKept(Value source, const FlatSource &flat, Value bhValue,
                       Value row0, Value dstFlat) {
  issueRowCopies(source, flat, bhValue, row0, k.blockM, dstFlat, k.idx(0),
                 /*bounded=*/true, computeThreads());
  commitGroup();
  wait(0);
  gpu::BarrierOp::create(k.b, k.loc);
}

void CpAsync::loadQ(Value bhValue, Value row0) {
  loadKept(q, qSource, bhValue, row0, buffers.qFlat);
  qLoaded = true;
}

LogicalResult CpAsync::loadResident(Operation *, Value source, Value bhValue,
                                    Value row0, Value dstFlat) {
  loadKept(source, flatten(source), bhValue, row0, dstFlat);
  return success();
}

void CpAsync::issueBlock(Value blockIndex, Value stage, const Copiers &by,
                         bool keys, bool values) {
  // Every block but a sequence's last is whole: its copies need no clamp,
  // which leaves their addresses affine in the loop counter, so that LLVM
  // strength-reduces them to pointer increments. The copies' completion is
  // tracked by commit/wait groups or mbarriers (the producer ring), not by
  // their tokens.
  OpBuilder &b = k.b;
  Value start = k.mul(blockIndex, k.idx(k.blockN));
  Value dstBase = k.mul(stage, k.idx(tc.qkvBufferElements(k.blockN)));
  Value whole = arith::CmpIOp::create(b, k.loc, arith::CmpIPredicate::ule,
                                      k.add(start, k.idx(k.blockN)),
                                      memref::DimOp::create(b, k.loc, kSrc, 2));
  auto ifOp = scf::IfOp::create(b, k.loc, whole, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  for (bool bounded : {false, true}) {
    b.setInsertionPointToStart(bounded ? &ifOp.getElseRegion().front()
                                       : &ifOp.getThenRegion().front());
    if (keys)
      issueRowCopies(kSrc, kSource, bh, start, k.blockN, buffers.kFlat, dstBase,
                     bounded, by);
    if (values)
      issueRowCopies(v, vSource, bh, start, k.blockN, buffers.vFlat, dstBase,
                     bounded, by);
  }
}

void CpAsync::issueIfInRange(Value blockIndex, Value stage) {
  Value inRange = arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ult,
                                        blockIndex, end);
  auto ifOp = scf::IfOp::create(k.b, k.loc, inRange, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(k.b);
    k.b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    issueBlock(blockIndex, stage, computeThreads());
  }
  commitGroup();
}

LogicalResult CpAsync::prologue(Operation *loop, Value bhValue, Value first,
                                Value endValue) {
  bh = bhValue;
  end = endValue;
  // Blocks first .. first + stages-2 in flight.
  for (int64_t s = 0; s + 1 < k.stages; ++s)
    issueIfInRange(k.add(first, k.idx(s)), k.idx(s));
  if (!qLoaded)
    return loop->emitOpError("flash-to-gpu: the Q tile must be loaded before "
                             "the K/V loop");
  return success();
}

PipelineStep CpAsync::beginStep(Value t, Value block) {
  OpBuilder &b = k.b;
  int64_t stages = k.stages;
  PipelineStep step;
  step.stage = arith::RemUIOp::create(b, k.loc, t, k.idx(stages));
  if (stages == 1) {
    // No prefetch: wait until every warp is done with the single buffer,
    // then load this block and wait for it.
    gpu::BarrierOp::create(b, k.loc);
    issueBlock(block, step.stage, computeThreads());
    commitGroup();
    wait(0);
    gpu::BarrierOp::create(b, k.loc);
    return step;
  }
  // Block i has landed once at most stages-2 newer groups are pending; the
  // barrier publishes it and also tells that every warp is done with block
  // i-1, whose buffer the prefetch overwrites.
  wait(stages - 2);
  gpu::BarrierOp::create(b, k.loc);
  Value nextStage = arith::RemUIOp::create(
      b, k.loc, k.add(t, k.idx(stages - 1)), k.idx(stages));
  auto prefetch = [this, block, nextStage, stages] {
    issueIfInRange(k.add(block, k.idx(stages - 1)), nextStage);
  };
  if (k.policy.prefetchAfterFirstDot())
    step.deferredPrefetch = prefetch;
  else
    prefetch();
  return step;
}

void CpAsync::drain() {
  // Nothing reads these copies after the loop: no fence for the tensor
  // cores (afterCopiesLanded).
  NVVM::CpAsyncWaitGroupOp::create(k.b, k.loc, 0);
}

std::unique_ptr<CopyPipeline>
flash::createCopyPipeline(KernelContext &k, TensorCoreStrategy &tc,
                          const QKVBuffers &buffers) {
  if (k.producer)
    return createProducerRing(k, tc, buffers);
  return std::make_unique<CpAsync>(k, tc, buffers);
}
