//===- KVLoop.cpp - the walk's flash.kv_loop ------------------------------===//
//
// A flash.kv_loop as an scf.for: its carried tiles flattened into the
// loop's values (in the strategy's partial row form where it keeps one),
// and each step the copy pipeline's schedule around the body's tile ops.
//
//===----------------------------------------------------------------------===//

#include "TileLowering.h"

#include "BlockMap.h"

#include "flashc/Analysis/AffineMask.h"

#include "mlir/Analysis/SliceAnalysis.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

FailureOr<SmallVector<Value>> TileLowering::flatten(Value tileValue,
                                                    Operation *user) {
  TileStorage *storage = findTile(tileValue);
  auto type = cast<RankedTensorType>(tileValue.getType());
  if (storage && storage->kind == TileStorage::Kind::Splat) {
    if (type.getRank() == 1)
      return SmallVector<Value>(k.strips * tc->rowsPerLane(),
                                k.f32(storage->splat));
    return tc->splatAccumulator(storage->splat, type, user);
  }
  if (storage && (storage->kind == TileStorage::Kind::Rows ||
                  storage->kind == TileStorage::Kind::Acc))
    return storage->values;
  user->emitOpError("flash-to-gpu: a loop-carried value must be a row vector "
                    "or an accumulator");
  return failure();
}

TileLowering::CarriedSlots TileLowering::carriedSlots(KVLoopOp op) {
  // A carried row sum of a softmax step stays in the strategy's partial
  // form through the loop (TileStorage::partial).
  CarriedSlots slots;
  auto yieldOp = cast<YieldOp>(op.getBody().front().getTerminator());
  for (Value value : yieldOp.getValues()) {
    auto step = value.getDefiningOp<SoftmaxStepOp>();
    slots.partial.push_back(tc->rowSumsArePartial() && step &&
                            value == step.getSumOut());
  }
  return slots;
}

FailureOr<SmallVector<Value>>
TileLowering::flattenCarried(ValueRange values, Operation *user,
                             CarriedSlots &slots) {
  bool countThem = slots.counts.empty();
  SmallVector<Value> all;
  for (auto [index, value] : llvm::enumerate(values)) {
    FailureOr<SmallVector<Value>> flat = flatten(value, user);
    if (failed(flat))
      return failure();
    TileStorage *storage = findTile(value);
    bool partial = storage && storage->partial;
    if (partial != slots.partial[index])
      *flat = tc->convertRows(*flat, partial, slots.partial[index]);
    if (countThem)
      slots.counts.push_back(flat->size());
    llvm::append_range(all, *flat);
  }
  return all;
}

void TileLowering::bindCarried(ValueRange tileValues, ValueRange flat,
                               const CarriedSlots &slots) {
  for (auto [index, value] : llvm::enumerate(tileValues)) {
    auto type = cast<RankedTensorType>(value.getType());
    TileStorage storage{type.getRank() == 1 ? TileStorage::Kind::Rows
                                            : TileStorage::Kind::Acc};
    storage.partial = slots.partial[index];
    ValueRange values = flat.take_front(slots.counts[index]);
    storage.values.assign(values.begin(), values.end());
    storage.cols = type.getRank() == 1 ? 1 : type.getDimSize(1);
    tiles[value] = storage;
    flat = flat.drop_front(slots.counts[index]);
  }
}

// A tile program written by hand (the backward's, say) states its loop's
// bounds itself; this skips what its affine masks hide, as
// flash-expand-attention's bounds do for flash.attention. Only a mask
// whose key (or, transposed, query) is the loop's position, whose other
// coordinates are fixed for the whole loop, and whose result reaches
// everything the loop gives (each carried value, each atomic add) bounds
// it: a block it hides contributes nothing.
void TileLowering::narrowToAffineMasks(KVLoopOp op, Value &lower,
                                       Value &upper) {
  Block &body = op.getBody().front();
  auto outsideLoop = [&](Value v) {
    return !op.getBody().isAncestor(v.getParentRegion());
  };
  for (auto mask : body.getOps<MaskModOp>()) {
    if (mask.getCol() != body.getArgument(0) ||
        !llvm::all_of(ValueRange{mask.getBatchHead(), mask.getRow(),
                                 mask.getSeqQ(), mask.getSeqK()},
                      outsideLoop))
      continue;
    SetVector<Operation *> users;
    getForwardSlice(mask.getOperation(), &users);
    auto masked = [&](Operation *op) { return users.contains(op); };
    auto yield = cast<YieldOp>(body.getTerminator());
    if (!llvm::all_of(yield.getOperands(),
                      [&](Value v) { return masked(v.getDefiningOp()); }) ||
        !llvm::all_of(body.getOps<AtomicAddDotOp>(), masked))
      continue;
    std::optional<AffineMask> affine = AffineMask::analyze(mask.getBody());
    if (!affine)
      continue;
    Value bh = scalar(mask.getBatchHead());
    Value args[] = {arith::DivUIOp::create(k.b, k.loc, bh, heads),
                    arith::RemUIOp::create(k.b, k.loc, bh, heads),
                    Value(),
                    Value(),
                    scalar(mask.getSeqQ()),
                    scalar(mask.getSeqK())};
    Value rowLo = scalar(mask.getRow());
    Value rowHi = k.add(rowLo, k.idx(k.blockM - 1));
    affine->narrowLoop(k.b, k.loc, rowLo, rowHi, args, mask.getTransposed(),
                       lower, upper);
  }
}

LogicalResult TileLowering::lowerKVLoop(KVLoopOp op) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value bh = scalar(op.getBatchHead());
  Value upper = scalar(op.getUpper());
  Value lower = op.getLower() ? scalar(op.getLower()) : Value();
  narrowToAffineMasks(op, lower, upper);
  if (blockMap) {
    // The keys the block map says this query block sees.
    Value keyBlocks = arith::CeilDivUIOp::create(
        b, loc, memref::DimOp::create(b, loc, mapping.lookup(tiled.getK()), 2),
        k.idx(k.blockN));
    Value queryBlocks = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
    Value mapRow = k.idx(0);
    if (blockMapRows(tiled) == MapRows::PerBatchHead)
      mapRow = workspace.batchHead;
    else if (blockMapRows(tiled) == MapRows::PerBatch)
      mapRow = arith::DivUIOp::create(b, loc, workspace.batchHead, heads);
    mapRowBase = k.mul(k.add(k.mul(mapRow, queryBlocks), workspace.queryBlock),
                       keyBlocks);
    auto [mapLower, mapUpper] =
        emitMapKeyRange(k, blockMap, mapRowBase, keyBlocks);
    lower = lower ? arith::MaxSIOp::create(b, loc, lower, mapLower).getResult()
                  : mapLower;
    upper = arith::MinSIOp::create(b, loc, upper, mapUpper);
  }
  Value numBlocks = arith::CeilDivUIOp::create(b, loc, upper, k.idx(k.blockN));
  CarriedSlots slots = carriedSlots(op);
  FailureOr<SmallVector<Value>> flatInits =
      flattenCarried(op.getInits(), op, slots);
  if (failed(flatInits))
    return failure();

  // The loop's blocks [begin, numBlocks): from the one holding key `lower`.
  Value begin = k.idx(0);
  if (lower)
    begin = arith::MinUIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, lower, k.idx(k.blockN)),
        numBlocks);
  // This program's blocks [first, end): all of them, or with kv_splits > 1
  // a contiguous share of ceil(blocks / splits) (possibly empty).
  Value first = begin, end = numBlocks;
  if (k.kvSplits > 1) {
    Value blocks = arith::SubIOp::create(b, loc, numBlocks, begin);
    Value share = arith::CeilDivUIOp::create(b, loc, blocks, workspace.splits);
    first = arith::MinUIOp::create(
        b, loc, k.add(begin, k.mul(workspace.split, share)), numBlocks);
    end = arith::MinUIOp::create(b, loc, k.add(first, share), numBlocks);
  }
  if (failed(copies->prologue(op, bh, first, end)))
    return failure();

  // Step t handles block first + t.
  Value steps = arith::SubIOp::create(b, loc, end, first);
  auto loop = scf::ForOp::create(b, loc, k.idx(0), steps, k.idx(1), *flatInits);
  if (failed(lowerKVStep(op, loop, first, slots)))
    return failure();
  copies->drain();
  bindCarried(op.getResults(), loop.getResults(), slots);
  return success();
}

LogicalResult TileLowering::lowerKVStep(KVLoopOp op, scf::ForOp loop,
                                        Value first, CarriedSlots &slots) {
  OpBuilder &b = k.b;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Block &body = op.getBody().front();
  Value t = loop.getInductionVar();
  Value i = k.add(first, t);
  PipelineStep step = copies->beginStep(t, i);
  if (blockMap)
    currentMapBits = memref::LoadOp::create(b, k.loc, blockMap,
                                            ValueRange{k.add(mapRowBase, i)});
  Value rowBase = k.mul(step.stage, k.idx(k.blockN));
  mapping.map(body.getArgument(0), k.mul(i, k.idx(k.blockN)));
  for (auto [arg, buf] :
       {std::pair<Value, Value>{body.getArgument(1), buffers.k},
        {body.getArgument(2), buffers.v}}) {
    TileStorage storage{TileStorage::Kind::SharedRows};
    storage.memref = buf;
    storage.rowBase = rowBase;
    storage.cols = k.headDim;
    tiles[arg] = storage;
  }
  bindCarried(body.getArguments().drop_front(3), loop.getRegionIterArgs(),
              slots);
  if (failed(lowerBlock(body, step.deferredPrefetch)))
    return failure();
  copies->endStep();
  auto yieldOp = cast<YieldOp>(body.getTerminator());
  FailureOr<SmallVector<Value>> flatYield =
      flattenCarried(yieldOp.getValues(), yieldOp, slots);
  if (failed(flatYield))
    return failure();
  scf::YieldOp::create(b, k.loc, *flatYield);
  return success();
}
