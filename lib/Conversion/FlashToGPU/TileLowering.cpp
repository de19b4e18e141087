//===- TileLowering.cpp - the walk over a flash.tiled program -------------===//

#include "TileLowering.h"

#include "BlockMap.h"
#include "OnlineSoftmax.h"

#include "flashc/Conversion/LaunchPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

TileLowering::TileLowering(TiledOp tiled, OpBuilder &b)
    : tiled(tiled), k(b, tiled.getLoc(), tiled),
      tc(createTensorCoreStrategy(k)),
      copies(createCopyPipeline(k, *tc, buffers)) {}

void TileLowering::emitPreamble(ValueRange kernelArgs) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // The program's operands come first: q, k, v, o, then lse, the varlen
  // bounds, the paged tables and the captures if any; the block map and
  // the split workspace follow them.
  for (auto [operand, arg] : llvm::zip(tiled->getOperands(), kernelArgs))
    mapping.map(operand, arg);
  unsigned next = tiled->getNumOperands();
  mappedMasks = dataDependentMasks(tiled);
  if (!mappedMasks.empty())
    blockMap = kernelArgs[next++];
  k.emitPreamble();
  // Grid (query blocks, heads, batch · splits): batch · heads may pass
  // the y and z limits of 65535 where neither alone does. With varlen the
  // batch is the number of sequences.
  heads = memref::DimOp::create(b, loc, kernelArgs[0], 1);
  Value z = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  Value batch = z;
  Value varlenBatches;
  if (tiled.isVarlen())
    varlenBatches = arith::SubIOp::create(
        b, loc,
        memref::DimOp::create(b, loc, mapping.lookup(tiled.getCuSeqlensQ()), 0),
        k.idx(1));
  if (k.kvSplits > 1) {
    workspace.partials = kernelArgs[next];
    workspace.counters = kernelArgs[next + 1];
    // The launch chooses 1..kv_splits splits; grid z tells which.
    Value batches = memref::DimOp::create(b, loc, kernelArgs[0], 0);
    workspace.batchHeads = k.mul(batches, heads);
    workspace.splits = arith::DivUIOp::create(
        b, loc, gpu::GridDimOp::create(b, loc, gpu::Dimension::z), batches);
    workspace.split = arith::RemUIOp::create(b, loc, z, workspace.splits);
    batch = arith::DivUIOp::create(b, loc, z, workspace.splits);
  }
  // The tensor maps of K and V (prefetch = tma) are the last two.
  if (k.tma)
    copies->useTensorMaps(kernelArgs[kernelArgs.size() - 2], kernelArgs.back());
  if (tiled.isVarlen())
    emitSequenceViews(batch, varlenBatches, kernelArgs);
  o = mapping.lookup(tiled.getO());
  if (tiled.isPaged()) {
    PagedKeys paged = emitPagedKeyViews(
        batch, memref::DimOp::create(b, loc, kernelArgs[0], 0), kernelArgs);
    copies->emitSourceViews(mapping.lookup(tiled.getQ()), paged.keys,
                            paged.values);
    copies->pageKeys(mapping.lookup(tiled.getBlockTable()), paged.pageSize,
                     paged.keyPageStride, paged.valuePageStride);
  } else {
    copies->emitSourceViews(mapping.lookup(tiled.getQ()),
                            mapping.lookup(tiled.getK()),
                            mapping.lookup(tiled.getV()));
  }
  Value queryBlock = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  bool transposedMask = false;
  tiled.walk([&](MaskOp mask) { transposedMask |= mask.getTransposed(); });
  if (tiled.isCausal() && !transposedMask) {
    // Causal query block i has about i + 1 key blocks of work. The hardware
    // starts blocks in x order, so x = 0 takes the last (longest) query
    // block: the longest jobs go first and the last wave is short ones,
    // instead of a tail of long ones on a few SMs. (Under a transposed
    // mask, the backward's dK/dV, block 0 is already the longest.)
    Value last = arith::SubIOp::create(
        b, loc, gpu::GridDimOp::create(b, loc, gpu::Dimension::x), k.idx(1));
    queryBlock = arith::SubIOp::create(b, loc, last, queryBlock);
  }
  workspace.queryBlock = queryBlock;
  workspace.batchHead = k.add(
      k.mul(batch, heads), gpu::BlockIdOp::create(b, loc, gpu::Dimension::y));
  mapping.map(tiled.getQueryBlock(), queryBlock);
  mapping.map(tiled.getBatchHead(), workspace.batchHead);
}

void TileLowering::allocateSharedMemory(int64_t &offset) {
  // Each of Q, K, V gets a 2-D view (what the tensor cores read) and a flat
  // one (what copies write: a copy's destination is then stage offset + a
  // loop-invariant part, one add per stage, where 2-D indices let LLVM fold
  // the stage into the row and redo the whole address for every copy).
  int64_t ld = tc->qkvRowStride();
  for (auto [buf, flat, rows] :
       {std::tuple<Value &, Value &, int64_t>{buffers.q, buffers.qFlat,
                                              k.blockM},
        {buffers.k, buffers.kFlat, k.stages * k.blockN},
        {buffers.v, buffers.vFlat, k.stages * k.blockN}}) {
    int64_t start = offset;
    int64_t elements = tc->qkvBufferElements(rows);
    flat = k.sharedView(start, {elements}, k.element);
    buf = k.sharedView(offset, {elements / ld, ld}, k.element);
  }
  for (LoadTileOp load : tiled.getResidentCaptureTiles()) {
    int64_t start = offset;
    int64_t elements = tc->qkvBufferElements(k.blockM);
    Value flat = k.sharedView(start, {elements}, k.element);
    residentBuffers[load] = {
        k.sharedView(offset, {elements / ld, ld}, k.element), flat};
  }
  if (tiled.hasStagingTile())
    stagingBuffer = k.sharedView(offset, {k.blockM, k.blockN + 8}, k.element);
  tc->allocateScratch(offset);
  if (k.config.getStrategy() == Strategy::wgmma)
    buffers.barriers =
        k.sharedView(offset, {kRingBarrierBytes / 8}, k.b.getI64Type());
}

LogicalResult TileLowering::emit(ValueRange kernelArgs) {
  entryBlock = k.b.getInsertionBlock();
  emitPreamble(kernelArgs);
  // Varlen: the grid's query blocks cover the longest sequence; a program
  // past its own sequence's end has nothing to do (uniformly, so before
  // any barrier).
  std::optional<OpBuilder::InsertionGuard> inSequence;
  if (sequenceLengthQ) {
    Value firstRow = k.mul(workspace.queryBlock, k.idx(k.blockM));
    auto ifOp = scf::IfOp::create(
        k.b, k.loc,
        arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ult, firstRow,
                              sequenceLengthQ),
        /*withElse=*/false);
    inSequence.emplace(k.b);
    k.b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  int64_t offset = 0;
  allocateSharedMemory(offset);
  int64_t expected = tiled.getSharedMemoryBytes();
  if (offset != expected)
    return tiled.emitOpError() << "internal error: shared memory layout ("
                               << offset << " bytes) disagrees with the tile "
                               << "config (" << expected << " bytes)";
  copies->initialize();
  return lowerBlock(tiled.getBody().front());
}

LogicalResult
TileLowering::lowerBlock(Block &block,
                         const std::function<void()> &afterFirstDot) {
  bool pending = static_cast<bool>(afterFirstDot);
  for (Operation &op : block.without_terminator()) {
    if (failed(lowerOp(&op)))
      return failure();
    if (pending && isa<DotOp>(op)) {
      afterFirstDot();
      pending = false;
    }
  }
  if (pending)
    afterFirstDot();
  return success();
}

static bool hasTensorTypes(Operation *op) {
  auto isTensor = [](Type t) { return isa<TensorType>(t); };
  return llvm::any_of(op->getResultTypes(), isTensor) ||
         llvm::any_of(op->getOperandTypes(), isTensor);
}

LogicalResult TileLowering::lowerOp(Operation *op) {
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    if (auto dense = dyn_cast<SplatElementsAttr>(constant.getValue())) {
      TileStorage storage{TileStorage::Kind::Splat};
      storage.splat = dense.getSplatValue<APFloat>().convertToFloat();
      tiles[constant.getResult()] = storage;
      return success();
    }
  }
  if (auto load = dyn_cast<LoadTileOp>(op))
    return lowerLoadTile(load);
  if (auto loop = dyn_cast<KVLoopOp>(op))
    return lowerKVLoop(loop);
  if (auto dot = dyn_cast<DotOp>(op))
    return lowerDot(dot);
  if (auto mask = dyn_cast<MaskOp>(op))
    return lowerMask(mask);
  if (auto softmax = dyn_cast<SoftmaxStepOp>(op))
    return lowerSoftmax(softmax);
  if (auto rows = dyn_cast<LoadRowsOp>(op))
    return lowerLoadRows(rows);
  if (auto cols = dyn_cast<LoadColsOp>(op))
    return lowerLoadCols(cols);
  if (auto rowDot = dyn_cast<RowDotOp>(op))
    return lowerRowDot(rowDot);
  if (auto store = dyn_cast<StoreRowsOp>(op))
    return lowerStoreRows(store);
  // An accumulator rounded to the element type (the backward's dQ): it is
  // rounded when stored, so it keeps its storage.
  if (auto trunc = dyn_cast<arith::TruncFOp>(op)) {
    TileStorage *acc = findTile(trunc.getIn());
    if (acc && acc->kind == TileStorage::Kind::Acc) {
      tiles[trunc.getResult()] = *acc;
      return success();
    }
  }
  if (auto grad = dyn_cast<GradScoresOp>(op))
    return lowerGradScores(grad);
  if (auto add = dyn_cast<AtomicAddDotOp>(op))
    return lowerAtomicAddDot(add);
  if (auto rescale = dyn_cast<RescaleOp>(op))
    return lowerRescale(rescale);
  if (auto normalize = dyn_cast<NormalizeOp>(op))
    return lowerNormalize(normalize);
  if (auto store = dyn_cast<StoreTileOp>(op))
    return lowerStore(store);
  if (auto store = dyn_cast<StoreLseOp>(op))
    return lowerStoreLse(store);
  if (auto mod = dyn_cast<ScoreModOp>(op))
    return lowerModifier(mod, mod.getScores());
  if (auto mod = dyn_cast<MaskModOp>(op))
    return lowerModifier(mod, mod.getScores());
  if (isScoreElementwise(op))
    return lowerModifier(op, Value());
  if (hasTensorTypes(op) || op->getNumRegions() != 0)
    return op->emitOpError("flash-to-gpu: not supported inside flash.tiled");
  // Scalar index arithmetic and memref.dim: the same in the kernel.
  for (Value operand : op->getOperands())
    (void)scalar(operand);
  k.b.clone(*op, mapping);
  return success();
}

Value TileLowering::scalar(Value value) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  Operation *def = value.getDefiningOp();
  assert(def && def->hasTrait<OpTrait::ConstantLike>() &&
         "verified tile programs use only constants from above");
  OpBuilder::InsertionGuard guard(k.b);
  k.b.setInsertionPointToStart(entryBlock);
  return k.b.clone(*def, mapping)->getResult(0);
}

TileStorage *TileLowering::findTile(Value value) {
  auto it = tiles.find(value);
  if (it != tiles.end())
    return &it->second;
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return nullptr;
  auto dense = dyn_cast<SplatElementsAttr>(constant.getValue());
  if (!dense)
    return nullptr;
  TileStorage storage{TileStorage::Kind::Splat};
  storage.splat = dense.getSplatValue<APFloat>().convertToFloat();
  return &(tiles[value] = storage);
}

LogicalResult TileLowering::lowerLoadTile(LoadTileOp op) {
  auto resident = residentBuffers.find(op);
  if (op.getSource() != tiled.getQ() && resident == residentBuffers.end())
    return op.emitOpError("flash-to-gpu: outside flash.kv_loop only Q and "
                          "captured tensors are loaded (K and V come from "
                          "the loop)");
  if (op.getType().getDimSize(0) != k.blockM)
    return op.emitOpError()
           << "flash-to-gpu: the "
           << (op.getSource() == tiled.getQ() ? "Q tile" : "tile of a capture")
           << " must have block_m = " << k.blockM << " rows";
  Value row0 = scalar(op.getRow());
  Value buffer = buffers.q;
  if (op.getSource() == tiled.getQ()) {
    copies->loadQ(scalar(op.getBatchHead()), row0);
  } else {
    // Another tile the products read as they read Q (the backward's dO).
    // wmma's fragments are opaque, so its products cannot read a second
    // kept tile through Q's path; mma_sync and wgmma read it as they read Q.
    if (k.config.getStrategy() == Strategy::wmma)
      return op.emitOpError("flash-to-gpu: a tile besides Q kept for the "
                            "whole program needs strategy mma_sync or wgmma");
    // The producer ring copies only Q and the loop's tiles for the
    // computing threads; it has no such copy for another kept tile.
    if (k.producer)
      return op.emitOpError("flash-to-gpu: a tile besides Q kept for the "
                            "whole program needs every thread copying "
                            "(prefetch = after_barrier or after_first_dot), "
                            "not a producer warpgroup");
    buffer = resident->second.first;
    if (failed(copies->loadResident(op, scalar(op.getSource()),
                                    scalar(op.getBatchHead()), row0,
                                    resident->second.second)))
      return failure();
  }
  TileStorage storage{TileStorage::Kind::SharedRows};
  storage.memref = buffer;
  storage.rowBase = k.idx(0);
  storage.cols = k.headDim;
  storage.isQ = true;
  if (k.policy.qInRegisters())
    storage.values = tc->loadQ(buffer);
  tiles[op.getResult()] = storage;
  return success();
}

LogicalResult TileLowering::lowerDot(DotOp op) {
  TileStorage *lhs = findTile(op.getLhs());
  TileStorage *rhs = findTile(op.getRhs());
  if (!lhs || !rhs || rhs->kind != TileStorage::Kind::SharedRows || rhs->isQ)
    return op.emitOpError("flash-to-gpu: rhs must be a K or V tile of the "
                          "enclosing flash.kv_loop");
  if (!lhs->isQ && lhs->kind != TileStorage::Kind::Probs)
    return op.emitOpError("flash-to-gpu: lhs must be the Q tile or the "
                          "probabilities of a flash.softmax_step");
  // The verifiers make a dot's rows its lhs's: Q's (block_m, checked by
  // lowerLoadTile) or the probabilities' (those of Q's scores).
  assert(op.getType().getDimSize(0) == k.blockM && "dot rows are Q's rows");
  TileStorage *acc = nullptr;
  if (op.getAcc()) {
    acc = findTile(op.getAcc());
    if (!acc || acc->kind != TileStorage::Kind::Acc)
      return op.emitOpError("flash-to-gpu: acc must be an accumulator "
                            "(loop-carried or rescaled)");
  }
  copies->awaitTile(/*values=*/rhs->memref == buffers.v);
  FailureOr<TileStorage> result = tc->dot(op, *lhs, *rhs, acc);
  if (failed(result))
    return failure();
  tiles[op.getResult()] = *result;
  return success();
}

LogicalResult TileLowering::lowerMask(MaskOp op) {
  TileStorage *scores = findTile(op.getScores());
  if (!scores || scores->kind != TileStorage::Kind::Scores)
    return op.emitOpError("flash-to-gpu: scores must come from a "
                          "flash.dot without acc");
  TileStorage storage = *scores;
  storage.kind = TileStorage::Kind::MaskedScores;
  storage.maskRow = scalar(op.getRow());
  storage.maskCol = scalar(op.getCol());
  storage.maskLimit = scalar(op.getLimit());
  if (op.getDiagonal())
    storage.maskDiagonal = scalar(op.getDiagonal());
  storage.causal = op.getCausal();
  storage.transposed = op.getTransposed();
  tiles[op.getResult()] = storage;
  return success();
}

LogicalResult TileLowering::lowerSoftmax(SoftmaxStepOp op) {
  TileStorage *scores = findTile(op.getScores());
  TileStorage *max = findTile(op.getMaxIn());
  TileStorage *sum = findTile(op.getSumIn());
  if (!scores || !scores->holdsScores())
    return op.emitOpError("flash-to-gpu: scores must come from flash.dot "
                          "(optionally through flash.mask)");
  if (!max || max->kind != TileStorage::Kind::Rows || !sum ||
      sum->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: max and sum must be loop-carried "
                          "row vectors");
  SmallVector<Value> sumIn =
      tc->convertRows(sum->values, sum->partial, tc->rowSumsArePartial());
  SoftmaxStepResults step = emitSoftmaxStep(
      k, *tc, *scores, op.getScaleLog2e().convertToFloat(), max->values, sumIn);
  tiles[op.getProbs()] = step.probs;
  // step.rows is [max, sum, alpha] per (strip, row slot).
  Value rowResults[] = {op.getMaxOut(), op.getSumOut(), op.getAlpha()};
  for (auto [index, value] : llvm::enumerate(rowResults)) {
    TileStorage rows{TileStorage::Kind::Rows};
    rows.cols = 1;
    rows.partial = tc->rowSumsArePartial() && value == op.getSumOut();
    for (size_t slot = 0; slot < step.rows.size() / 3; ++slot)
      rows.values.push_back(step.rows[3 * slot + index]);
    tiles[value] = rows;
  }
  return success();
}

LogicalResult TileLowering::lowerRescale(RescaleOp op) {
  TileStorage *acc = findTile(op.getAcc());
  TileStorage *factors = findTile(op.getFactor());
  if (!acc || acc->kind != TileStorage::Kind::Acc || !factors ||
      factors->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: rescale needs an accumulator and "
                          "row factors");
  TileStorage storage = *acc;
  storage.values = emitRescale(k, *tc, acc->values, factors->values);
  tiles[op.getResult()] = storage;
  return success();
}

template <typename ModOp>
void TileLowering::bindModCoordinates(ModOp op, ScoreModifier &mod) {
  Value bh = scalar(op.getBatchHead());
  mod.batch = arith::DivUIOp::create(k.b, k.loc, bh, heads);
  mod.head = arith::RemUIOp::create(k.b, k.loc, bh, heads);
  mod.row = scalar(op.getRow());
  mod.col = scalar(op.getCol());
  mod.seqQ = scalar(op.getSeqQ());
  mod.seqK = scalar(op.getSeqK());
  mod.transposed = op.getTransposed();
  for (Value capture : op.getCaptures())
    mod.captures.push_back(mapping.lookup(capture));
}

bool TileLowering::isScoreElementwise(Operation *op) {
  if (!isa_and_nonnull<arith::ArithDialect, math::MathDialect>(
          op->getDialect()) ||
      op->getNumResults() != 1 || op->getNumRegions() != 0 ||
      !isMemoryEffectFree(op))
    return false;
  return llvm::any_of(op->getOperands(), [&](Value operand) {
    TileStorage *tile = findTile(operand);
    return tile && tile->holdsScores();
  });
}

LogicalResult TileLowering::lowerModifier(Operation *op, Value scores) {
  ScoreModifier mod;
  mod.op = op;
  if (!scores) {
    // Elementwise: one operand is the scores, the others splat constants,
    // and the result an f32 tile of the scores' shape.
    for (Value operand : op->getOperands()) {
      TileStorage *tile = findTile(operand);
      if (tile && tile->kind == TileStorage::Kind::Splat) {
        mod.operands.push_back(k.f32(tile->splat));
        continue;
      }
      if (scores || !tile)
        return op->emitOpError("flash-to-gpu: an elementwise op on scores "
                               "may combine them only with splat constants");
      scores = operand;
      mod.operands.push_back(Value());
    }
    if (op->getResult(0).getType() != scores.getType())
      return op->emitOpError("flash-to-gpu: an elementwise op on scores must "
                             "give f32 scores of the same shape");
  }
  TileStorage *tile = findTile(scores);
  if (!tile || tile->kind != TileStorage::Kind::Scores)
    return op->emitOpError(
        tile && tile->kind == TileStorage::Kind::MaskedScores
            ? "flash-to-gpu: modifiers must come before flash.mask"
            : "flash-to-gpu: scores must come from a flash.dot without acc");
  if (auto scoreMod = dyn_cast<ScoreModOp>(op))
    bindModCoordinates(scoreMod, mod);
  else if (auto maskMod = dyn_cast<MaskModOp>(op)) {
    bindModCoordinates(maskMod, mod);
    mod.affine = AffineMask::analyze(maskMod.getBody());
    // The block map's entry says whether this block needs the mask.
    if (llvm::is_contained(mappedMasks, maskMod))
      mod.mapBits = currentMapBits;
  }
  TileStorage storage = *tile;
  storage.modifiers.push_back(std::move(mod));
  tiles[op->getResult(0)] = storage;
  return success();
}
