//===- FlashToGPU.cpp - flash.tiled to a tensor-core + cp.async kernel ----===//
//
// Each flash.tiled becomes a gpu.func in a gpu.module and a gpu.launch_func.
// Tile values are given storage as the program is walked in order: shared
// memory rows (Q, K, V), per-lane row statistics in registers, and, by
// strategy, mma.sync fragments in registers (S, P, O) or a warp's strip of
// scores or probabilities in shared memory with WMMA accumulators in
// registers. Anything the tile level allows but this mapping does not
// handle is reported with the op's location.
//
// Shared-memory layout (one dynamic buffer, parts 128-byte aligned; keep in
// step with TileConfigAttr::getSharedMemoryBytes and docs/TileLevel.md):
//   Q  [block_m x (d+8)]            T   rows padded by 8 against bank conflicts
//   K  [stages·block_n x (d+8)]     T
//   V  [stages·block_n x (d+8)]     T
// and for wmma only:
//   S  [block_m x (max(block_n,d)+4)] f32  scores; O staging at the end
//   P  [block_m x (block_n+8)]      T
//   R  [block_m x 16]               f32  one 16x16 row-broadcast tile per strip
//
//===----------------------------------------------------------------------===//

#include "flashc/Conversion/Passes.h"

#include "WmmaEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>
#include <unordered_map>

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHTOGPU
#include "flashc/Conversion/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

namespace {

/// See KernelBuilder::staleMax (log2 units: 2^8 = 256).
constexpr float kStaleMaxLog2 = 8.0f;

/// Where a tile value lives in the kernel.
struct TileStorage {
  enum class Kind {
    Splat,        // a constant not materialised yet (loop inits)
    SharedRows,   // rows of `memref` from `rowBase`: Q, K, V tiles
    Scores,       // this warp's strip of `memref` (the S buffer)
    MaskedScores, // Scores plus a mask to apply when read
    Probs,        // this warp's strip of `memref` (the P buffer)
    Rows,         // per-lane f32 row values, one per 16-row strip
    Acc,          // accumulator fragments [strip][column tile]
  } kind;
  float splat = 0.0f;
  Value memref, rowBase;
  SmallVector<Value> values;  // Rows / Acc values, or cached Q A-fragments
  bool isQ = false;           // the Q tile (fragments cached or not)
  /// Rows (mma_sync row sums): each lane holds the part of its row's value
  /// from its own columns; the row's value is the sum over the lane's quad.
  bool quadPartial = false;
  Value maskRow, maskCol, maskLimit;
  bool causal = false;
  int64_t cols = 0; // columns of the tile
};

class KernelBuilder {
public:
  KernelBuilder(TiledOp tiled, OpBuilder &b)
      : tiled(tiled), b(b), loc(tiled.getLoc()), config(tiled.getConfig()) {
    auto qType = cast<MemRefType>(tiled.getQ().getType());
    element = qType.getElementType();
    headDim = qType.getDimSize(3);
    blockM = config.getBlockM();
    blockN = config.getBlockN();
    stages = config.getStages();
    warps = config.getWarps();
    rowsPerWarp = blockM / warps;
    strips = rowsPerWarp / 16;
    mmaSync = config.getStrategy() == Strategy::mma_sync;
    kvSplits = config.getKvSplits();
    // Q's A fragments take 4 registers per 16x16 piece: 32 per lane with one
    // strip at head_dim 128 or two strips at 64. Two strips at head_dim 128
    // would take 64 beside O's 128 and S's 64 and spill (tuning saw it at
    // 128x32), so there Q is read from shared memory once per K/V step.
    qInRegisters = !mmaSync || strips * headDim <= 128;
  }

  /// Emits the kernel body at `b`'s insertion point (inside the gpu.func
  /// whose arguments are q, k, v, o).
  LogicalResult emit(ValueRange kernelArgs);

private:
  // Helpers.
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value i32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value sharedView(int64_t &offset, ArrayRef<int64_t> shape, Type type);
  void warpSync() { NVVM::SyncWarpOp::create(b, loc, i32(-1)); }
  /// exp2 as PTX ex2.approx.ftz.f32 through its NVVM intrinsic: math.exp2
  /// becomes a libdevice call (__nv_exp2f, MLIR-NOTES.md trap 3),
  /// convert-gpu-to-nvvm rejects llvm.intr.exp2, and the NVVM dialect has no
  /// ex2 op.
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, b.getF32Type(),
               b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"), ValueRange{x})
        .getResult(0);
  }
  Value shuffleXor(Value x, int32_t offset) {
    return gpu::ShuffleOp::create(b, loc, x, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }

  /// Lowers `block`'s ops in order; `afterFirstDot`, if given, is emitted
  /// after its first flash.dot (or at its end if it has none).
  LogicalResult lowerBlock(Block &block,
                           function_ref<void()> afterFirstDot = {});
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerLoadTile(LoadTileOp op);
  LogicalResult lowerKVLoop(KVLoopOp op);
  LogicalResult lowerDot(DotOp op);
  LogicalResult lowerSoftmax(SoftmaxStepOp op);
  LogicalResult lowerRescale(RescaleOp op);
  LogicalResult lowerNormalize(NormalizeOp op);
  LogicalResult lowerStore(StoreTileOp op);

  /// Issues cp.async copies of rows [row0, row0 + rows) of head `bh` of
  /// `source` (read through its flat view `flatSource`) to the flat buffer
  /// `dstFlat` from element `dstBase` (a whole number of 8-row groups).
  /// With `bounded`, rows past seq are zero-filled; without, the caller
  /// knows that they all exist. Returns the copies' tokens.
  SmallVector<Value> issueRowCopies(Value source, Value flatSource, Value bh,
                                    Value row0, int64_t rows, Value dstFlat,
                                    Value dstBase, bool bounded);
  Value commitGroup(ArrayRef<Value> tokens);
  /// Writes `rowValues` (one per strip) to the broadcast tiles and returns
  /// them as accumulator fragments, one per strip.
  SmallVector<Value> broadcastRows(ArrayRef<Value> rowValues);
  /// Flattens / rebuilds loop-carried tile values.
  FailureOr<SmallVector<Value>> flatten(Value tileValue, Operation *user);

  TiledOp tiled;
  OpBuilder &b;
  Location loc;
  TileConfigAttr config;
  Type element;
  int64_t headDim, blockM, blockN, stages, warps, rowsPerWarp, strips;

  /// The kernel-side value of a scalar of the tile program; constants
  /// captured from outside flash.tiled are cloned in on first use.
  Value scalar(Value value);
  /// Where a tile value lives; splat constants captured from outside
  /// flash.tiled become Splat storage. Null if unknown.
  TileStorage *findTile(Value value);

  // mma.sync (m16n8k16) helpers. Fragments follow PTX's documented layout:
  // lane l holds rows l/4 and l/4+8 and columns 2(l%4)+{0,1} of each n8
  // accumulator tile (vector<2x2xf32>: [half][element]).
  Value ldmatrix(Value memref, Value row, Value laneCol, int64_t constCol,
                 bool transpose);
  /// The physical column of element (`row`, `col`) of a Q/K/V buffer, `col`
  /// a multiple of 8 (one 16-byte chunk). See emit() for the layout.
  Value swizzle(Value row, Value laneCol, int64_t constCol = 0);
  /// The A fragment (ldmatrix.x4) of rows 16·strip.. of this warp and
  /// columns 16·kk.. of the Q buffer.
  Value loadQFragment(int64_t strip, int64_t kk);
  Value mmaSyncOp(Value a, Value bFrag, Value acc);
  Value sliceB(Value x4, int64_t which);
  Value zeroAcc();
  /// Rows per lane of a row vector: wmma 1 per strip, mma.sync 2.
  int64_t rowsPerLane() const { return mmaSync ? 2 : 1; }
  /// mma_sync with block_n <= 32: a row's softmax max is kept until the
  /// scores exceed it by more than kStaleMaxLog2, and flash.rescale skips
  /// the O accumulator when no row of the warp changed its max. With 32
  /// keys a step the rescale is 128 multiplies against 128 mma.sync (two
  /// strips, head_dim 128); skipping them made 128x32 with 3 stages 2-4%
  /// faster on the H100 (405-411 against 420 us at 4x16x2048x128, 784
  /// against 800 at 2x16x4096), while at block_n 64 it was even (causal
  /// head_dim 128) or slower (head_dim 64: 233 against 223 us): the vote
  /// and branch cost more than the multiplies they save.
  bool staleMax() const { return mmaSync && blockN <= 32; }
  /// Row values in the requested form: whole rows, or quad-partial ones
  /// (the row's value in the quad's first lane, 0 in the others).
  SmallVector<Value> rowValuesAs(ArrayRef<Value> values, bool fromPartial,
                                 bool toPartial);
  LogicalResult lowerDotMmaSync(DotOp op, const struct TileStorage &lhs,
                                const struct TileStorage &rhs);
  LogicalResult lowerSoftmaxMmaSync(SoftmaxStepOp op, const TileStorage &scores,
                                    ArrayRef<Value> maxIn,
                                    ArrayRef<Value> sumIn);
  SmallVector<Value> scaleAccRows(ArrayRef<Value> acc, ArrayRef<Value> rows);
  /// acc[i, j] · rows[i] for either strategy's accumulators.
  SmallVector<Value> scaleAccumulator(ArrayRef<Value> acc,
                                      ArrayRef<Value> rows);
  /// Records the storage of a softmax step's results: P, and max, sum and
  /// alpha from `rowValues` laid out per (strip, row per lane) as
  /// [max, sum, alpha].
  void bindSoftmaxResults(SoftmaxStepOp op, const TileStorage &probs,
                          ArrayRef<Value> rowValues);
  LogicalResult lowerStoreMmaSync(StoreTileOp op, const TileStorage &storage);
  /// kv_splits > 1: publishes this warp's partial (acc, rows' max and sum)
  /// and, in the warp that arrives last for its rows, combines every
  /// split's partial. Sets storeGuard; returns the combined acc and sums.
  std::pair<SmallVector<Value>, SmallVector<Value>>
  combineSplits(ArrayRef<Value> acc, ArrayRef<Value> sums);

  /// Emits the softmax step twice under one uniform branch: masked where
  /// the block crosses the key length or the causal diagonal (for this
  /// warp's rows), unmasked elsewhere; plain when nothing is masked.
  SmallVector<Value>
  emitMaskedOrNot(const struct TileStorage &scores, int64_t n,
                  TypeRange resultTypes,
                  function_ref<SmallVector<Value>(bool masked)> emitStep);

  bool mmaSync = false;
  bool qInRegisters = true;
  // Split K/V loop (kv_splits > 1): the workspace arguments, this program's
  // split, the loop's row max (the combine needs it), and the condition
  // under which a warp stores O (it finished its rows last).
  int64_t kvSplits = 1;
  Value partials, counters, split, storeGuard;
  SmallVector<Value> maxRows;
  IRMapping mapping;
  Block *entryBlock = nullptr;
  struct ValueHash {
    size_t operator()(Value v) const { return hash_value(v); }
  };
  // Node-based, so that references stay valid while entries are added.
  std::unordered_map<Value, TileStorage, ValueHash> tiles;
  Value warpRow, lane, tid, heads, q, k, v, o;
  Value sharedBytes; // the one dynamic shared-memory buffer
  Value qBuf, kBuf, vBuf, sBuf, pBuf, rBuf;
  // Q, K and V buffers as flat element arrays: the cp.async destinations;
  // and the q, k, v arguments as flat arrays: their sources.
  Value qFlat, kFlat, vFlat, qSource, kSource, vSource;
  Value anyToken; // a token to hang nvgpu.device_async_wait on
  int64_t ldQKV = 0, ldS = 0, ldP = 0;
};

} // namespace

Value KernelBuilder::sharedView(int64_t &offset, ArrayRef<int64_t> shape,
                                Type type) {
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                              gpu::AddressSpace::Workgroup);
  if (!sharedBytes) {
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                     MemRefLayoutAttrInterface(), workgroup);
    sharedBytes = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
  }
  auto viewType =
      MemRefType::get(shape, type, MemRefLayoutAttrInterface(), workgroup);
  Value view = memref::ViewOp::create(b, loc, viewType, sharedBytes,
                                      idx(offset), ValueRange{});
  int64_t bytes = type.getIntOrFloatBitWidth() / 8;
  for (int64_t s : shape)
    bytes *= s;
  offset += (bytes + 127) / 128 * 128;
  return view;
}

Value KernelBuilder::scalar(Value value) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  Operation *def = value.getDefiningOp();
  assert(def && def->hasTrait<OpTrait::ConstantLike>() &&
         "verified tile programs use only constants from above");
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(entryBlock);
  return b.clone(*def, mapping)->getResult(0);
}

SmallVector<Value> KernelBuilder::rowValuesAs(ArrayRef<Value> values,
                                              bool fromPartial,
                                              bool toPartial) {
  SmallVector<Value> out(values);
  if (fromPartial == toPartial)
    return out;
  if (toPartial) {
    Value first = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(b, loc, lane, idx(4)), idx(0));
    for (Value &value : out)
      value = arith::SelectOp::create(b, loc, first, value, f32(0.0f));
    return out;
  }
  for (Value &value : out) {
    value = arith::AddFOp::create(b, loc, value, shuffleXor(value, 1));
    value = arith::AddFOp::create(b, loc, value, shuffleXor(value, 2));
  }
  return out;
}

TileStorage *KernelBuilder::findTile(Value value) {
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

LogicalResult KernelBuilder::emit(ValueRange kernelArgs) {
  entryBlock = b.getInsertionBlock();
  q = kernelArgs[0];
  k = kernelArgs[1];
  v = kernelArgs[2];
  o = kernelArgs[3];
  for (auto [arg, flat] : {std::pair<Value, Value &>{q, qSource},
                           {k, kSource},
                           {v, vSource}})
    flat = memref::CollapseShapeOp::create(
        b, loc, arg, ArrayRef<ReassociationIndices>{{0, 1, 2, 3}});
  if (kvSplits > 1) {
    partials = kernelArgs[4];
    counters = kernelArgs[5];
    split = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  }
  mapping.map(tiled.getQ(), q);
  mapping.map(tiled.getK(), k);
  mapping.map(tiled.getV(), v);
  mapping.map(tiled.getO(), o);

  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value warp = arith::DivUIOp::create(b, loc, tid, idx(32));
  lane = arith::RemUIOp::create(b, loc, tid, idx(32));
  warpRow = mul(warp, idx(rowsPerWarp));
  Value queryBlock = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  if (tiled.isCausal()) {
    // Causal query block i has about i + 1 key blocks of work. The hardware
    // starts blocks in x order, so x = 0 takes the last (longest) query
    // block: the longest jobs go first and the last wave is short ones,
    // instead of a tail of long ones on a few SMs.
    Value last = arith::SubIOp::create(
        b, loc, gpu::GridDimOp::create(b, loc, gpu::Dimension::x), idx(1));
    queryBlock = arith::SubIOp::create(b, loc, last, queryBlock);
  }
  mapping.map(tiled.getQueryBlock(), queryBlock);
  mapping.map(tiled.getBatchHead(),
              gpu::BlockIdOp::create(b, loc, gpu::Dimension::y));
  heads = memref::DimOp::create(b, loc, q, 1);

  int64_t offset = 0;
  // Q, K and V rows avoid bank conflicts in two ways. WMMA loads take a
  // leading dimension, so their rows are padded by 8 elements (16 bytes):
  // the 8 rows an access touches start in 8 different bank groups. ldmatrix
  // takes one address per row, so mma_sync keeps rows unpadded and XORs
  // each 16-byte chunk's index with row % 8 instead (docs/Pipeline.md):
  // the same spread without the padding, which lets 128x64 tiles at
  // head_dim 128 fit in 99 KiB.
  ldQKV = mmaSync ? headDim : headDim + 8;
  ldS = std::max(blockN, headDim) + 4;
  ldP = blockN + 8;
  // Each buffer also gets a flat view for cp.async: a copy's destination
  // is then stage offset + a loop-invariant part, one add per stage, where
  // 2-D indices let LLVM fold the stage into the row and redo the whole
  // address for every copy of every block.
  for (auto [buf, flat, rows] :
       {std::tuple<Value &, Value &, int64_t>{qBuf, qFlat, blockM},
        {kBuf, kFlat, stages * blockN},
        {vBuf, vFlat, stages * blockN}}) {
    int64_t start = offset;
    flat = sharedView(start, {rows * ldQKV}, element);
    buf = sharedView(offset, {rows, ldQKV}, element);
  }
  if (!mmaSync) {
    sBuf = sharedView(offset, {blockM, ldS}, b.getF32Type());
    pBuf = sharedView(offset, {blockM, ldP}, element);
    rBuf = sharedView(offset, {blockM, 16}, b.getF32Type());
  }
  int64_t expected =
      config.getSharedMemoryBytes(headDim, element.getIntOrFloatBitWidth() / 8);
  if (offset != expected)
    return tiled.emitOpError() << "internal error: shared memory layout ("
                               << offset << " bytes) disagrees with the tile "
                               << "config (" << expected << " bytes)";
  return lowerBlock(tiled.getBody().front());
}

LogicalResult KernelBuilder::lowerBlock(Block &block,
                                        function_ref<void()> afterFirstDot) {
  for (Operation &op : block.without_terminator()) {
    if (failed(lowerOp(&op)))
      return failure();
    if (afterFirstDot && isa<DotOp>(op)) {
      afterFirstDot();
      afterFirstDot = nullptr;
    }
  }
  if (afterFirstDot)
    afterFirstDot();
  return success();
}

static bool hasTensorTypes(Operation *op) {
  auto isTensor = [](Type t) { return isa<TensorType>(t); };
  return llvm::any_of(op->getResultTypes(), isTensor) ||
         llvm::any_of(op->getOperandTypes(), isTensor);
}

LogicalResult KernelBuilder::lowerOp(Operation *op) {
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
  if (auto mask = dyn_cast<MaskOp>(op)) {
    TileStorage *it = findTile(mask.getScores());
    if (!it || it->kind != TileStorage::Kind::Scores)
      return mask.emitOpError("flash-to-gpu: scores must come from a "
                              "flash.dot without acc");
    TileStorage storage = *it;
    storage.kind = TileStorage::Kind::MaskedScores;
    storage.maskRow = scalar(mask.getRow());
    storage.maskCol = scalar(mask.getCol());
    storage.maskLimit = scalar(mask.getLimit());
    storage.causal = mask.getCausal();
    tiles[mask.getResult()] = storage;
    return success();
  }
  if (auto softmax = dyn_cast<SoftmaxStepOp>(op))
    return lowerSoftmax(softmax);
  if (auto rescale = dyn_cast<RescaleOp>(op))
    return lowerRescale(rescale);
  if (auto normalize = dyn_cast<NormalizeOp>(op))
    return lowerNormalize(normalize);
  if (auto store = dyn_cast<StoreTileOp>(op))
    return lowerStore(store);
  if (hasTensorTypes(op) || op->getNumRegions() != 0)
    return op->emitOpError("flash-to-gpu: not supported inside flash.tiled");
  // Scalar index arithmetic and memref.dim: the same in the kernel.
  for (Value operand : op->getOperands())
    (void)scalar(operand);
  b.clone(*op, mapping);
  return success();
}

SmallVector<Value> KernelBuilder::issueRowCopies(Value source,
                                                 Value flatSource, Value bh,
                                                 Value row0, int64_t rows,
                                                 Value dstFlat, Value dstBase,
                                                 bool bounded) {
  // 16-byte chunks of 8 elements; a round of copies (one per thread) moves
  // rowsPerRound whole rows (threads is a multiple of 32, chunksPerRow is 8
  // or 16): a multiple of 8 rows with 4 or 8 warps, 2 or 4 rows with 1 or
  // 2 warps.
  int64_t chunksPerRow = headDim / 8;
  int64_t threads = 32 * warps;
  int64_t rowsPerRound = threads / chunksPerRow;
  assert(threads % chunksPerRow == 0 && "rounds of whole rows");
  // Addresses are formed on flat views, as a per-thread part plus a
  // per-round constant: the rounds then differ by immediate offsets. (2-D
  // indices hide that: LLVM folds the round into the row, and cannot split
  // (tid + c) / chunksPerRow for want of a no-wrap flag.) The swizzle
  // depends on row % 8, which is the same in every round only when a round
  // is a whole number of 8-row groups; otherwise each round swizzles its
  // own row.
  Value seq = memref::DimOp::create(b, loc, source, 2);
  Value laneRow = arith::DivUIOp::create(b, loc, tid, idx(chunksPerRow));
  Value col = mul(arith::RemUIOp::create(b, loc, tid, idx(chunksPerRow)),
                  idx(8));
  Value dstLane =
      add(dstBase, add(mul(laneRow, idx(ldQKV)), swizzle(laneRow, col)));
  // Row 0 of this (batch, head) among the B·H·S rows of the flat source.
  Value headRow0 = mul(bh, seq);
  Value srcLane =
      add(mul(add(headRow0, add(row0, laneRow)), idx(headDim)), col);
  Value lastRow = arith::SubIOp::create(b, loc, seq, idx(1));
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> tokens;
  for (int64_t firstRow = 0; firstRow < rows; firstRow += rowsPerRound) {
    auto emitCopy = [&]() {
      Value srcIndex = add(srcLane, idx(firstRow * headDim));
      Value srcElements;
      if (bounded) {
        // Rows past seq copy 0 bytes (zero-fill) from a clamped, valid
        // address.
        Value srcRow = add(row0, add(laneRow, idx(firstRow)));
        Value inside = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult, srcRow, seq);
        Value clamped = arith::MinUIOp::create(b, loc, srcRow, lastRow);
        srcIndex = add(mul(add(headRow0, clamped), idx(headDim)), col);
        srcElements = arith::SelectOp::create(b, loc, inside, idx(8), idx(0));
      }
      Value dstIndex = add(dstLane, idx(firstRow * ldQKV));
      if (rowsPerRound % 8 != 0) {
        Value row = add(laneRow, idx(firstRow));
        dstIndex = add(dstBase, add(mul(row, idx(ldQKV)), swizzle(row, col)));
      }
      return nvgpu::DeviceAsyncCopyOp::create(
                 b, loc, tokenType, dstFlat, ValueRange{dstIndex}, flatSource,
                 ValueRange{srcIndex}, b.getIndexAttr(8), srcElements,
                 b.getUnitAttr())
          .getResult();
    };
    if (firstRow + rowsPerRound <= rows) {
      tokens.push_back(emitCopy());
      continue;
    }
    // A partial last round: only the threads with a row copy.
    Value has = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                      add(laneRow, idx(firstRow)), idx(rows));
    auto ifOp = scf::IfOp::create(b, loc, has, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    emitCopy();
  }
  return tokens;
}

Value KernelBuilder::commitGroup(ArrayRef<Value> tokens) {
  if (tokens.empty()) {
    // An empty group keeps wait_group counts uniform. nvgpu's
    // device_async_create_group with no tokens prints in a form its parser
    // rejects, so the empty commit is the NVVM op itself.
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    return anyToken;
  }
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  Value group =
      nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, tokens);
  if (!anyToken)
    anyToken = group;
  return group;
}

LogicalResult KernelBuilder::lowerLoadTile(LoadTileOp op) {
  if (op.getSource() != tiled.getQ())
    return op.emitOpError("flash-to-gpu: outside flash.kv_loop only the Q "
                          "tile is loaded (K and V come from the loop)");
  if (op.getType().getDimSize(0) != blockM)
    return op.emitOpError() << "flash-to-gpu: the Q tile must have block_m = "
                            << blockM << " rows";
  Value row0 = scalar(op.getRow());
  SmallVector<Value> tokens =
      issueRowCopies(q, qSource, scalar(op.getBatchHead()), row0, blockM,
                     qFlat, idx(0), /*bounded=*/true);
  Value group = commitGroup(tokens);
  nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b, loc);
  // Q stays in registers as A fragments for the whole K/V loop.
  TileStorage storage{TileStorage::Kind::SharedRows};
  storage.memref = qBuf;
  storage.rowBase = idx(0);
  storage.cols = headDim;
  storage.isQ = true;
  WmmaEmitter wmma(b, loc, element);
  if (qInRegisters)
    for (int64_t s = 0; s < strips; ++s)
      for (int64_t kk = 0; kk < headDim / 16; ++kk)
        storage.values.push_back(
            mmaSync ? loadQFragment(s, kk)
                    : wmma.loadA(qBuf, add(warpRow, idx(16 * s)),
                                 idx(16 * kk), ldQKV));
  tiles[op.getResult()] = storage;
  return success();
}

FailureOr<SmallVector<Value>> KernelBuilder::flatten(Value tileValue,
                                                     Operation *user) {
  TileStorage *it = findTile(tileValue);
  if (!it) {
    user->emitOpError("flash-to-gpu: a loop-carried value must be a row "
                      "vector or an accumulator");
    return failure();
  }
  const TileStorage &storage = *it;
  auto type = cast<RankedTensorType>(tileValue.getType());
  if (storage.kind == TileStorage::Kind::Splat) {
    if (type.getRank() == 1)
      return SmallVector<Value>(strips * rowsPerLane(), f32(storage.splat));
    if (mmaSync) {
      if (storage.splat != 0.0f || type.getDimSize(0) != blockM) {
        user->emitOpError("flash-to-gpu: accumulator inits must be zero");
        return failure();
      }
      return SmallVector<Value>(strips * (type.getDimSize(1) / 8), zeroAcc());
    }
    if (type.getDimSize(1) % 16 != 0 || type.getDimSize(0) != blockM) {
      user->emitOpError("flash-to-gpu: accumulator must be block_m x 16·n");
      return failure();
    }
    WmmaEmitter wmma(b, loc, element);
    SmallVector<Value> frags;
    for (int64_t i = 0; i < strips * (type.getDimSize(1) / 16); ++i)
      frags.push_back(wmma.splatC(storage.splat));
    return frags;
  }
  if (storage.kind == TileStorage::Kind::Rows ||
      storage.kind == TileStorage::Kind::Acc)
    return storage.values;
  user->emitOpError("flash-to-gpu: a loop-carried value must be a row vector "
                    "or an accumulator");
  return failure();
}

LogicalResult KernelBuilder::lowerKVLoop(KVLoopOp op) {
  Block &body = op.getBody().front();
  Value bh = scalar(op.getBatchHead());
  Value upper = scalar(op.getUpper());
  Value numBlocks = arith::CeilDivUIOp::create(b, loc, upper, idx(blockN));

  // A carried row sum of a softmax step stays quad-partial through the loop
  // (TileStorage::quadPartial).
  auto yieldOp = cast<YieldOp>(body.getTerminator());
  SmallVector<bool> carriedPartial;
  for (Value value : yieldOp.getValues()) {
    auto step = value.getDefiningOp<SoftmaxStepOp>();
    carriedPartial.push_back(mmaSync && step && value == step.getSumOut());
  }
  auto isPartial = [&](Value tileValue) {
    TileStorage *storage = findTile(tileValue);
    return storage && storage->quadPartial;
  };
  // The storage of loop-carried tile `value` (a body argument or a loop
  // result) made of the flat `values` of carried slot `index`.
  auto carriedStorage = [&](Value value, ValueRange values, size_t index) {
    auto type = cast<RankedTensorType>(value.getType());
    TileStorage storage{type.getRank() == 1 ? TileStorage::Kind::Rows
                                            : TileStorage::Kind::Acc};
    storage.quadPartial = carriedPartial[index];
    storage.values.assign(values.begin(), values.end());
    storage.cols = type.getRank() == 1 ? 1 : type.getDimSize(1);
    return storage;
  };

  // Flatten the inits; remember each one's shape to rebuild results.
  SmallVector<Value> flatInits;
  SmallVector<std::pair<Value, unsigned>> carried; // (body arg, count)
  for (auto [index, pair] : llvm::enumerate(
           llvm::zip(op.getInits(), body.getArguments().drop_front(3)))) {
    auto [init, arg] = pair;
    FailureOr<SmallVector<Value>> flat = flatten(init, op);
    if (failed(flat))
      return failure();
    if (isPartial(init) != carriedPartial[index])
      *flat = rowValuesAs(*flat, isPartial(init), carriedPartial[index]);
    carried.push_back({arg, static_cast<unsigned>(flat->size())});
    llvm::append_range(flatInits, *flat);
  }

  // Every block but a sequence's last is whole: its copies need no clamp,
  // which leaves their addresses affine in the loop counter, so that LLVM
  // strength-reduces them to pointer increments (the clamped form costs
  // about 10 integer instructions a copy). The copies' completion is
  // tracked by commit/wait groups, not by their tokens.
  auto issueBlock = [&](Value blockIndex, Value stage) {
    Value start = mul(blockIndex, idx(blockN));
    Value dstBase = mul(stage, idx(blockN * ldQKV));
    Value whole = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ule, add(start, idx(blockN)),
        memref::DimOp::create(b, loc, k, 2));
    auto ifOp = scf::IfOp::create(b, loc, whole, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    for (bool bounded : {false, true}) {
      b.setInsertionPointToStart(bounded ? &ifOp.getElseRegion().front()
                                         : &ifOp.getThenRegion().front());
      issueRowCopies(k, kSource, bh, start, blockN, kFlat, dstBase, bounded);
      issueRowCopies(v, vSource, bh, start, blockN, vFlat, dstBase, bounded);
    }
  };
  // This program's blocks [first, end): all of them, or with kv_splits > 1
  // a contiguous share of ceil(numBlocks / kv_splits) (possibly empty).
  Value first = idx(0), end = numBlocks;
  if (kvSplits > 1) {
    Value share = arith::CeilDivUIOp::create(b, loc, numBlocks, idx(kvSplits));
    first = arith::MinUIOp::create(b, loc, mul(split, share), numBlocks);
    end = arith::MinUIOp::create(b, loc, add(first, share), numBlocks);
  }
  auto issueIfInRange = [&](Value blockIndex, Value stage) {
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          blockIndex, end);
    auto ifOp = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      issueBlock(blockIndex, stage);
    }
    // Commit even when empty, so that every iteration adds one group and
    // wait_group counts stay uniform.
    commitGroup({});
  };

  // Prologue: blocks 0 .. stages-2 in flight.
  for (int64_t s = 0; s + 1 < stages; ++s)
    issueIfInRange(add(first, idx(s)), idx(s));
  if (!anyToken)
    return op.emitOpError("flash-to-gpu: the Q tile must be loaded before "
                          "the K/V loop");
  Value waitToken = anyToken;

  // Step t handles block first + t from stage t % stages.
  Value steps = arith::SubIOp::create(b, loc, end, first);
  auto loop = scf::ForOp::create(b, loc, idx(0), steps, idx(1), flatInits);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value i = add(first, t);
    Value stage = arith::RemUIOp::create(b, loc, t, idx(stages));
    Value nextStage; // of block i + stages - 1, set after the barrier
    auto prefetch = [&] {
      issueIfInRange(add(i, idx(stages - 1)), nextStage);
    };
    if (stages == 1) {
      // No prefetch: wait until every warp is done with the single buffer,
      // then load this block and wait for it.
      gpu::BarrierOp::create(b, loc);
      issueBlock(i, stage);
      commitGroup({});
      nvgpu::DeviceAsyncWaitOp::create(b, loc, waitToken,
                                       b.getI32IntegerAttr(0));
      gpu::BarrierOp::create(b, loc);
    } else {
      // Block i has landed once at most stages-2 newer groups are pending;
      // the barrier publishes it and also tells that every warp is done
      // with block i-1, whose buffer the next prefetch overwrites.
      nvgpu::DeviceAsyncWaitOp::create(b, loc, waitToken,
                                       b.getI32IntegerAttr(stages - 2));
      gpu::BarrierOp::create(b, loc);
      nextStage = arith::RemUIOp::create(b, loc, add(t, idx(stages - 1)),
                                         idx(stages));
      // With 3+ stages the block prefetched here is not needed before the
      // step after next, so its copies can wait for the first product
      // (S = Q·K^T): issued right after the barrier, all warps' copies
      // queue at once, stalling the ldmatrix reads that start the product
      // (measured on the H100, 128x32 at head_dim 128: 407-410 us against
      // 423-429). With 2 stages the copy needs all the lead it can get.
      if (stages < 3)
        prefetch();
    }

    Value rowBase = mul(stage, idx(blockN));
    mapping.map(body.getArgument(0), mul(i, idx(blockN)));
    for (auto [arg, buf] : {std::pair<Value, Value>{body.getArgument(1), kBuf},
                            {body.getArgument(2), vBuf}}) {
      TileStorage storage{TileStorage::Kind::SharedRows};
      storage.memref = buf;
      storage.rowBase = rowBase;
      storage.cols = headDim;
      tiles[arg] = storage;
    }
    ValueRange iterArgs = loop.getRegionIterArgs();
    for (auto [index, pair] : llvm::enumerate(carried)) {
      auto [arg, count] = pair;
      tiles[arg] = carriedStorage(arg, iterArgs.take_front(count), index);
      iterArgs = iterArgs.drop_front(count);
    }
    if (failed(lowerBlock(body, stages >= 3 ? function_ref<void()>(prefetch)
                                            : function_ref<void()>())))
      return failure();
    SmallVector<Value> flatYield;
    for (auto [index, value] : llvm::enumerate(yieldOp.getValues())) {
      FailureOr<SmallVector<Value>> flat = flatten(value, yieldOp);
      if (failed(flat))
        return failure();
      if (isPartial(value) != carriedPartial[index])
        *flat = rowValuesAs(*flat, isPartial(value), carriedPartial[index]);
      llvm::append_range(flatYield, *flat);
    }
    scf::YieldOp::create(b, loc, flatYield);
  }
  // Drain: nothing may still be writing shared memory after the loop.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, waitToken, b.getI32IntegerAttr(0));

  // The loop result that carries a softmax step's row max (the split
  // combine rescales partials by it).
  int64_t maxIndex = -1;
  for (auto [index, value] : llvm::enumerate(yieldOp.getValues()))
    if (auto step = value.getDefiningOp<SoftmaxStepOp>())
      if (value == step.getMaxOut())
        maxIndex = index;
  ValueRange results = loop.getResults();
  for (auto [index, pair] :
       llvm::enumerate(llvm::zip(op.getResults(), carried))) {
    auto [result, carriedArg] = pair;
    tiles[result] =
        carriedStorage(result, results.take_front(carriedArg.second), index);
    results = results.drop_front(carriedArg.second);
    if (int64_t(index) == maxIndex)
      maxRows = tiles[result].values;
  }
  return success();
}

LogicalResult KernelBuilder::lowerDot(DotOp op) {
  TileStorage *lhsIt = findTile(op.getLhs());
  TileStorage *rhsIt = findTile(op.getRhs());
  if (!lhsIt || !rhsIt || rhsIt->kind != TileStorage::Kind::SharedRows ||
      rhsIt->isQ)
    return op.emitOpError("flash-to-gpu: rhs must be a K or V tile of the "
                          "enclosing flash.kv_loop");
  const TileStorage &lhs = *lhsIt, &rhs = *rhsIt;
  bool lhsIsQ = lhs.isQ;
  if (!lhsIsQ && lhs.kind != TileStorage::Kind::Probs)
    return op.emitOpError("flash-to-gpu: lhs must be the Q tile or the "
                          "probabilities of a flash.softmax_step");
  RankedTensorType resultType = op.getType();
  int64_t n = resultType.getDimSize(1);
  int64_t kDim = op.getLhs().getType().getDimSize(1);
  if (resultType.getDimSize(0) != blockM)
    return op.emitOpError() << "flash-to-gpu: lhs must have block_m = "
                            << blockM << " rows";
  if (mmaSync)
    return lowerDotMmaSync(op, lhs, rhs);
  bool transposed = op.getTransposeRhs();
  WmmaEmitter wmma(b, loc, element);

  auto lhsFragment = [&](int64_t s, int64_t kk) -> Value {
    if (lhsIsQ)
      return lhs.values[s * (kDim / 16) + kk];
    return wmma.loadA(pBuf, add(warpRow, idx(16 * s)), idx(16 * kk), ldP);
  };
  auto rhsFragment = [&](int64_t kk, int64_t j) -> Value {
    // rhs rows are K's (or V's) rows: transposed, B(k, n) = rhs[n][k].
    if (transposed)
      return wmma.loadB(rhs.memref, add(rhs.rowBase, idx(16 * j)),
                        idx(16 * kk), ldQKV, /*transposed=*/true);
    return wmma.loadB(rhs.memref, add(rhs.rowBase, idx(16 * kk)),
                      idx(16 * j), ldQKV, /*transposed=*/false);
  };

  if (!op.getAcc()) {
    // Scores: into this warp's strip of the S buffer for the softmax.
    for (int64_t s = 0; s < strips; ++s)
      for (int64_t j = 0; j < n / 16; ++j) {
        Value acc = wmma.splatC(0.0f);
        for (int64_t kk = 0; kk < kDim / 16; ++kk)
          acc = wmma.mma(lhsFragment(s, kk), rhsFragment(kk, j), acc,
                         transposed);
        wmma.storeC(acc, sBuf, add(warpRow, idx(16 * s)), idx(16 * j), ldS);
      }
    TileStorage storage{TileStorage::Kind::Scores};
    storage.memref = sBuf;
    storage.cols = n;
    tiles[op.getResult()] = storage;
    return success();
  }
  TileStorage *accIt = findTile(op.getAcc());
  if (!accIt || accIt->kind != TileStorage::Kind::Acc)
    return op.emitOpError("flash-to-gpu: acc must be an accumulator "
                          "(loop-carried or rescaled)");
  SmallVector<Value> frags = accIt->values;
  for (int64_t s = 0; s < strips; ++s)
    for (int64_t j = 0; j < n / 16; ++j) {
      Value &acc = frags[s * (n / 16) + j];
      for (int64_t kk = 0; kk < kDim / 16; ++kk)
        acc = wmma.mma(lhsFragment(s, kk), rhsFragment(kk, j), acc,
                       transposed);
    }
  TileStorage storage{TileStorage::Kind::Acc};
  storage.values = frags;
  storage.cols = n;
  tiles[op.getResult()] = storage;
  return success();
}

SmallVector<Value> KernelBuilder::emitMaskedOrNot(
    const TileStorage &scores, int64_t n, TypeRange resultTypes,
    function_ref<SmallVector<Value>(bool masked)> emitStep) {
  if (scores.kind == TileStorage::Kind::Scores)
    return emitStep(false);
  // Only blocks that cross the key length or the diagonal pay for masking.
  Value blockEnd = add(scores.maskCol, idx(n));
  Value needed = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                       blockEnd, scores.maskLimit);
  if (scores.causal) {
    Value lastCol = arith::SubIOp::create(b, loc, blockEnd, idx(1));
    Value crosses =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, lastCol,
                              add(scores.maskRow, warpRow));
    needed = arith::OrIOp::create(b, loc, needed, crosses);
  }
  auto ifOp = scf::IfOp::create(b, loc, resultTypes, needed,
                                /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, loc, emitStep(true));
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, loc, emitStep(false));
  }
  return SmallVector<Value>(ifOp.getResults().begin(), ifOp.getResults().end());
}

LogicalResult KernelBuilder::lowerSoftmax(SoftmaxStepOp op) {
  TileStorage *scoresIt = findTile(op.getScores());
  TileStorage *maxIt = findTile(op.getMaxIn());
  TileStorage *sumIt = findTile(op.getSumIn());
  if (!scoresIt ||
      (scoresIt->kind != TileStorage::Kind::Scores &&
       scoresIt->kind != TileStorage::Kind::MaskedScores))
    return op.emitOpError("flash-to-gpu: scores must come from flash.dot "
                          "(optionally through flash.mask)");
  if (!maxIt || maxIt->kind != TileStorage::Kind::Rows ||
      !sumIt || sumIt->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: max and sum must be loop-carried "
                          "row vectors");
  const TileStorage scores = *scoresIt;
  SmallVector<Value> maxIn = maxIt->values,
                     sumIn = sumIt->values;
  if (mmaSync)
    return lowerSoftmaxMmaSync(
        op, scores, maxIn,
        rowValuesAs(sumIn, sumIt->quadPartial, /*toPartial=*/true));
  int64_t n = scores.cols;
  float c = op.getScaleLog2e().convertToFloat();
  Type f32Type = b.getF32Type();

  // Two lanes per row: lane = 2·r + h reads columns h, h+2, h+4, ...
  Value r = arith::DivUIOp::create(b, loc, lane, idx(2));
  Value h = arith::RemUIOp::create(b, loc, lane, idx(2));
  warpSync(); // the strip was written by this warp's WMMA stores

  auto emitStep = [&](bool masked) {
    SmallVector<Value> results; // per strip: max, sum, alpha
    Value scale = f32(c);
    Value negInf = f32(-INFINITY);
    for (int64_t s = 0; s < strips; ++s) {
      Value row = add(add(warpRow, idx(16 * s)), r);
      // Scores are read twice (max, then exp) rather than held in 2·n/2
      // registers: shared loads are cheaper than spills.
      auto loadScore = [&](int64_t j) -> std::pair<Value, Value> {
        Value col = add(h, idx(2 * j));
        Value value =
            memref::LoadOp::create(b, loc, sBuf, ValueRange{row, col});
        if (masked) {
          Value keyCol = add(scores.maskCol, col);
          Value bad = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                            keyCol, scores.maskLimit);
          if (scores.causal) {
            Value queryRow = add(scores.maskRow, row);
            Value above = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::ugt, keyCol, queryRow);
            bad = arith::OrIOp::create(b, loc, bad, above);
          }
          value = arith::SelectOp::create(b, loc, bad, negInf, value);
        }
        return {value, col};
      };
      Value rowMax = negInf;
      for (int64_t j = 0; j < n / 2; ++j)
        rowMax =
            arith::MaximumFOp::create(b, loc, rowMax, loadScore(j).first);
      rowMax = arith::MaximumFOp::create(b, loc, rowMax, shuffleXor(rowMax, 1));
      Value newMax = arith::MaximumFOp::create(
          b, loc, maxIn[s], arith::MulFOp::create(b, loc, rowMax, scale));
      // A row with nothing unmasked yet keeps p = 0 instead of NaN.
      Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                            newMax, negInf);
      Value useMax = arith::SelectOp::create(b, loc, isEmpty, f32(0.0f), newMax);
      Value negMax = arith::NegFOp::create(b, loc, useMax);
      Value sum = f32(0.0f);
      for (int64_t j = 0; j < n / 2; ++j) {
        auto [x, col] = loadScore(j);
        Value p = exp2(LLVM::FMAOp::create(b, loc, x, scale, negMax));
        Value rounded = arith::TruncFOp::create(b, loc, element, p);
        memref::StoreOp::create(b, loc, rounded, pBuf, ValueRange{row, col});
        sum = arith::AddFOp::create(b, loc, sum, p);
      }
      sum = arith::AddFOp::create(b, loc, sum, shuffleXor(sum, 1));
      Value alpha =
          exp2(arith::SubFOp::create(b, loc, maxIn[s], useMax));
      Value newSum = arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, sumIn[s], alpha), sum);
      results.append({newMax, newSum, alpha});
    }
    return results;
  };

  SmallVector<Type> types(3 * strips, f32Type);
  SmallVector<Value> results = emitMaskedOrNot(scores, n, types, emitStep);
  warpSync(); // P is read as WMMA fragments by the whole warp

  TileStorage probs{TileStorage::Kind::Probs};
  probs.memref = pBuf;
  probs.cols = n;
  bindSoftmaxResults(op, probs, results);
  return success();
}

void KernelBuilder::bindSoftmaxResults(SoftmaxStepOp op,
                                       const TileStorage &probs,
                                       ArrayRef<Value> rowValues) {
  tiles[op.getProbs()] = probs;
  SmallVector<Value> rowResults = {op.getMaxOut(), op.getSumOut(),
                                   op.getAlpha()};
  for (auto [index, value] : llvm::enumerate(rowResults)) {
    TileStorage rows{TileStorage::Kind::Rows};
    rows.cols = 1;
    rows.quadPartial = mmaSync && value == op.getSumOut();
    for (int64_t k = 0; k < strips * rowsPerLane(); ++k)
      rows.values.push_back(rowValues[3 * k + index]);
    tiles[value] = rows;
  }
}

SmallVector<Value> KernelBuilder::broadcastRows(ArrayRef<Value> rowValues) {
  // Lane 2·r + h writes row r, columns 8h .. 8h+7 of the strip's 16x16
  // tile; read back as an accumulator fragment, element (i, j) = value[i]
  // in whatever lane owns it, so that an element-wise multiply scales rows.
  Value r = arith::DivUIOp::create(b, loc, lane, idx(2));
  Value h = arith::RemUIOp::create(b, loc, lane, idx(2));
  auto vecType = VectorType::get({4}, b.getF32Type());
  WmmaEmitter wmma(b, loc, element);
  warpSync(); // the previous fragment loads of these tiles are done
  for (int64_t s = 0; s < strips; ++s) {
    Value row = add(add(warpRow, idx(16 * s)), r);
    Value vec = vector::BroadcastOp::create(b, loc, vecType, rowValues[s]);
    Value col = mul(h, idx(8));
    vector::StoreOp::create(b, loc, vec, rBuf, ValueRange{row, col});
    vector::StoreOp::create(b, loc, vec, rBuf,
                            ValueRange{row, add(col, idx(4))});
  }
  warpSync();
  SmallVector<Value> frags;
  for (int64_t s = 0; s < strips; ++s)
    frags.push_back(
        wmma.loadC(rBuf, add(warpRow, idx(16 * s)), idx(0), 16));
  return frags;
}

LogicalResult KernelBuilder::lowerRescale(RescaleOp op) {
  TileStorage *accIt = findTile(op.getAcc());
  TileStorage *factorIt = findTile(op.getFactor());
  if (!accIt || accIt->kind != TileStorage::Kind::Acc ||
      !factorIt ||
      factorIt->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: rescale needs an accumulator and "
                          "row factors");
  TileStorage storage = *accIt;
  if (!staleMax()) {
    storage.values = scaleAccumulator(storage.values, factorIt->values);
    tiles[op.getResult()] = storage;
    return success();
  }
  // Skip the multiplies when every factor of the warp is exactly 1, the
  // common case under the stale-max rule: a warp-uniform branch on a vote
  // (every lane of the warp runs the loop body).
  Value needed;
  for (Value factor : factorIt->values) {
    Value notOne = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE,
                                         factor, f32(1.0f));
    needed = needed ? arith::OrIOp::create(b, loc, needed, notOne).getResult()
                    : notOne;
  }
  Value anyNeeded = NVVM::VoteSyncOp::create(
      b, loc, b.getI1Type(), arith::ConstantIntOp::create(b, loc, -1, 32),
      needed, NVVM::VoteSyncKind::any);
  SmallVector<Type> types;
  for (Value value : storage.values)
    types.push_back(value.getType());
  auto ifOp = scf::IfOp::create(b, loc, types, anyNeeded, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, loc,
                         scaleAccumulator(storage.values, factorIt->values));
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, loc, storage.values);
  }
  storage.values.assign(ifOp.getResults().begin(), ifOp.getResults().end());
  tiles[op.getResult()] = storage;
  return success();
}

SmallVector<Value> KernelBuilder::scaleAccumulator(ArrayRef<Value> acc,
                                                   ArrayRef<Value> rows) {
  if (mmaSync)
    return scaleAccRows(acc, rows);
  SmallVector<Value> factors = broadcastRows(rows);
  WmmaEmitter wmma(b, loc, element);
  int64_t tilesPerStrip = acc.size() / strips;
  SmallVector<Value> out;
  for (auto [i, frag] : llvm::enumerate(acc))
    out.push_back(wmma.mulC(frag, factors[i / tilesPerStrip]));
  return out;
}

LogicalResult KernelBuilder::lowerNormalize(NormalizeOp op) {
  TileStorage *accIt = findTile(op.getAcc());
  TileStorage *sumIt = findTile(op.getSum());
  if (!accIt || accIt->kind != TileStorage::Kind::Acc ||
      !sumIt || sumIt->kind != TileStorage::Kind::Rows)
    return op.emitOpError("flash-to-gpu: normalize needs an accumulator and "
                          "row sums");
  SmallVector<Value> acc = accIt->values;
  SmallVector<Value> sums =
      rowValuesAs(sumIt->values, sumIt->quadPartial, /*toPartial=*/false);
  if (kvSplits > 1) {
    if (maxRows.size() != sums.size())
      return op.emitOpError("flash-to-gpu: kv_splits > 1 needs the row max "
                            "of a flash.softmax_step carried by the K/V loop");
    // The workspace size the runtime allocates assumes a block_m x head_dim
    // accumulator (KernelBundle::partialFloats).
    if (!mmaSync || acc.size() != size_t(strips * (headDim / 8)))
      return op.emitOpError("flash-to-gpu: kv_splits > 1 needs a block_m x "
                            "head_dim mma_sync accumulator");
    std::tie(acc, sums) = combineSplits(acc, sums);
  }
  SmallVector<Value> inverse;
  for (Value sum : sums) {
    Value isZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                         sum, f32(0.0f));
    Value inv = arith::DivFOp::create(b, loc, f32(1.0f), sum);
    inverse.push_back(
        arith::SelectOp::create(b, loc, isZero, f32(0.0f), inv));
  }
  TileStorage storage = *accIt;
  storage.values = scaleAccumulator(acc, inverse);
  tiles[op.getResult()] = storage; // rounded to T when stored
  return success();
}

LogicalResult KernelBuilder::lowerStore(StoreTileOp op) {
  TileStorage *it = findTile(op.getValue());
  if (!it || it->kind != TileStorage::Kind::Acc)
    return op.emitOpError("flash-to-gpu: the stored tile must come from "
                          "flash.normalize");
  if (op.getDest() != tiled.getO())
    return op.emitOpError("flash-to-gpu: only O is stored");
  const TileStorage &storage = *it;
  if (mmaSync)
    return lowerStoreMmaSync(op, storage);
  WmmaEmitter wmma(b, loc, element);
  int64_t tilesPerStrip = headDim / 16;
  // Stage the warp's f32 strip in the S buffer (free after the loop), then
  // write 16-byte chunks of T to global memory, skipping rows past seq.
  for (int64_t s = 0; s < strips; ++s)
    for (int64_t j = 0; j < tilesPerStrip; ++j)
      wmma.storeC(storage.values[s * tilesPerStrip + j], sBuf,
                  add(warpRow, idx(16 * s)), idx(16 * j), ldS);
  warpSync();
  Value row0 = scalar(op.getRow());
  Value bh = scalar(op.getBatchHead());
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value seq = memref::DimOp::create(b, loc, o, 2);
  int64_t chunksPerRow = headDim / 8;
  int64_t chunks = rowsPerWarp * chunksPerRow;
  auto f32x4 = VectorType::get({4}, b.getF32Type());
  auto outType = VectorType::get({8}, element);
  for (int64_t first = 0; first < chunks; first += 32) {
    Value chunk = add(lane, idx(first));
    Value localRow = add(warpRow, arith::DivUIOp::create(b, loc, chunk,
                                                         idx(chunksPerRow)));
    Value col = mul(arith::RemUIOp::create(b, loc, chunk, idx(chunksPerRow)),
                    idx(8));
    Value globalRow = add(row0, localRow);
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         globalRow, seq);
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value lo = vector::LoadOp::create(b, loc, f32x4, sBuf,
                                      ValueRange{localRow, col});
    Value hi = vector::LoadOp::create(b, loc, f32x4, sBuf,
                                      ValueRange{localRow, add(col, idx(4))});
    Value both = vector::ShuffleOp::create(
        b, loc, lo, hi, ArrayRef<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
    Value rounded = arith::TruncFOp::create(b, loc, outType, both);
    vector::StoreOp::create(b, loc, rounded, o,
                            ValueRange{batch, head, globalRow, col},
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
  return success();
}


//===----------------------------------------------------------------------===//
// mma.sync (m16n8k16): S and P stay in registers.
//===----------------------------------------------------------------------===//

static Value buildVector(OpBuilder &b, Location loc, VectorType type,
                         ArrayRef<Value> elements);

Value KernelBuilder::ldmatrix(Value memref, Value row, Value laneCol,
                              int64_t constCol, bool transpose) {
  auto type = VectorType::get({4, 2}, element);
  return nvgpu::LdMatrixOp::create(b, loc, type, memref,
                                   ValueRange{row, swizzle(row, laneCol,
                                                           constCol)},
                                   b.getBoolAttr(transpose),
                                   b.getI32IntegerAttr(4));
}

Value KernelBuilder::swizzle(Value row, Value laneCol, int64_t constCol) {
  if (!mmaSync)
    return add(laneCol, idx(constCol));
  // head_dim is 64 or 128 (verified): 8 or 16 chunks a row, so the XOR
  // stays inside the row.
  assert(headDim / 8 >= 8 && "swizzle needs at least 8 chunks per row");
  // The column is split into a lane-dependent part d and a constant part c
  // (in chunks), whose bits callers keep apart (d < 2 and c even, or c = 0):
  // then (c + d) ^ r = (c & ~7) + ((c & 7) ^ (d ^ r)) with r = row % 8.
  // d ^ r is the same for every c, so LLVM computes it once and each
  // access costs at most one XOR, and accesses 8 chunks apart share it
  // with an immediate offset (a plain (c + d) ^ r kept a register per
  // address, 13 for the Q fragments alone).
  assert(constCol % 8 == 0 && "swizzle: constant column in whole chunks");
  int64_t c = constCol / 8;
  Value laneBits = arith::XOrIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, laneCol, idx(8)),
      arith::RemUIOp::create(b, loc, row, idx(8)));
  Value low = c & 7 ? arith::XOrIOp::create(b, loc, laneBits, idx(c & 7))
                          .getResult()
                    : laneBits;
  return add(mul(low, idx(8)), idx((c & ~int64_t(7)) * 8));
}

Value KernelBuilder::loadQFragment(int64_t strip, int64_t kk) {
  // ldmatrix.x4: lane l addresses row l%16, column half l/16.
  Value row = add(add(warpRow, idx(16 * strip)),
                  arith::RemUIOp::create(b, loc, lane, idx(16)));
  Value laneCol = mul(arith::DivUIOp::create(b, loc, lane, idx(16)), idx(8));
  return ldmatrix(qBuf, row, laneCol, 16 * kk, false);
}

Value KernelBuilder::mmaSyncOp(Value a, Value bFrag, Value acc) {
  if (element.isF16())
    return nvgpu::MmaSyncOp::create(b, loc, a, bFrag, acc,
                                    ArrayRef<int64_t>{16, 8, 16});
  // bf16: MLIR 22's nvgpu.mma.sync lowering cannot deduce bf16 PTX types,
  // so the same instruction is written as inline PTX over the fragments'
  // 32-bit registers (the layout is the one nvgpu.ldmatrix produces).
  Type i32 = b.getI32Type(), f32Type = b.getF32Type();
  auto packedRows = [&](Value frag, int64_t rows) {
    SmallVector<Value> regs;
    for (int64_t r = 0; r < rows; ++r) {
      Value row = vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{r});
      Value asInt = vector::BitCastOp::create(
          b, loc, VectorType::get({1}, i32), row);
      regs.push_back(
          vector::ExtractOp::create(b, loc, asInt, ArrayRef<int64_t>{0}));
    }
    return regs;
  };
  SmallVector<Value> operands = packedRows(a, 4);
  llvm::append_range(operands, packedRows(bFrag, 2));
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t e = 0; e < 2; ++e)
      operands.push_back(
          vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{h, e}));
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, f32Type));
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, resultType, operands,
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {$0,$1,$2,$3}, "
      "{$4,$5,$6,$7}, {$8,$9}, {$10,$11,$12,$13};",
      "=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f", /*has_side_effects=*/false,
      /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr(), ArrayAttr());
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(
        LLVM::ExtractValueOp::create(b, loc, f32Type, asmOp.getResult(0), i));
  return buildVector(b, loc, VectorType::get({2, 2}, f32Type), out);
}

/// A 2-d vector from its elements in row-major order, as a chain of
/// vector.insert (what convert-gpu-to-nvvm lowers for n-d vectors; it has no
/// pattern for n-d extract_strided_slice).
static Value buildVector(OpBuilder &b, Location loc, VectorType type,
                         ArrayRef<Value> elements) {
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
  int64_t cols = type.getDimSize(1);
  Value v = zero;
  for (auto [i, e] : llvm::enumerate(elements))
    v = vector::InsertOp::create(b, loc, e, v,
                                 ArrayRef<int64_t>{int64_t(i) / cols,
                                                   int64_t(i) % cols});
  return v;
}

Value KernelBuilder::sliceB(Value x4, int64_t which) {
  SmallVector<Value> elems;
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t e = 0; e < 2; ++e)
      elems.push_back(vector::ExtractOp::create(
          b, loc, x4, ArrayRef<int64_t>{2 * which + r, e}));
  return buildVector(b, loc, VectorType::get({2, 2}, element), elems);
}

Value KernelBuilder::zeroAcc() {
  auto type = VectorType::get({2, 2}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0f)));
}

LogicalResult KernelBuilder::lowerDotMmaSync(DotOp op, const TileStorage &lhs,
                                             const TileStorage &rhs) {
  int64_t n = op.getType().getDimSize(1);
  int64_t kDim = op.getLhs().getType().getDimSize(1);
  bool transposed = op.getTransposeRhs();
  bool lhsFromShared = lhs.isQ && !qInRegisters;
  if (!lhsFromShared && lhs.values.size() != size_t(strips * (kDim / 16)))
    return op.emitOpError("flash-to-gpu: lhs fragments do not match the tile");
  Value laneMod8 = arith::RemUIOp::create(b, loc, lane, idx(8));
  Value laneMod16 = arith::RemUIOp::create(b, loc, lane, idx(16));
  Value laneDiv8Mod2 = arith::RemUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, lane, idx(8)), idx(2));
  Value laneDiv16 = arith::DivUIOp::create(b, loc, lane, idx(16));
  // B fragments for n8 tiles j and j+1 and k16 slice kk, by one ldmatrix.x4.
  auto rhsPair = [&](int64_t j, int64_t kk) -> Value {
    if (transposed) {
      // K rows are the n index: no transpose; lanes 16-31 take rows +8.
      Value row = add(add(rhs.rowBase, idx(8 * j)),
                      add(laneMod8, mul(laneDiv16, idx(8))));
      return ldmatrix(rhs.memref, row, mul(laneDiv8Mod2, idx(8)), 16 * kk,
                      false);
    }
    // V rows are the k index: transpose; lanes 16-31 take columns +8.
    Value row = add(add(rhs.rowBase, idx(16 * kk)), laneMod16);
    return ldmatrix(rhs.memref, row, mul(laneDiv16, idx(8)), 8 * j, true);
  };
  SmallVector<Value> acc;
  if (op.getAcc()) {
    TileStorage *accIt = findTile(op.getAcc());
    if (!accIt || accIt->kind != TileStorage::Kind::Acc)
      return op.emitOpError("flash-to-gpu: acc must be an accumulator "
                            "(loop-carried or rescaled)");
    acc = accIt->values;
  } else {
    acc.assign(strips * (n / 8), Value());
    for (Value &v : acc)
      v = zeroAcc();
  }
  // k slices outermost: an A fragment read from shared memory is read once
  // per step and used for every n tile; each B pair serves every strip.
  // (Loading slice kk + 1 before the products of slice kk, as software
  // pipelining would, gives the same SASS: ptxas schedules them itself.)
  for (int64_t kk = 0; kk < kDim / 16; ++kk) {
    SmallVector<Value> a;
    for (int64_t s = 0; s < strips; ++s)
      a.push_back(lhsFromShared ? loadQFragment(s, kk)
                                : lhs.values[s * (kDim / 16) + kk]);
    for (int64_t j = 0; j < n / 8; j += 2) {
      Value pair = rhsPair(j, kk);
      Value b0 = sliceB(pair, 0), b1 = sliceB(pair, 1);
      for (int64_t s = 0; s < strips; ++s) {
        acc[s * (n / 8) + j] = mmaSyncOp(a[s], b0, acc[s * (n / 8) + j]);
        acc[s * (n / 8) + j + 1] =
            mmaSyncOp(a[s], b1, acc[s * (n / 8) + j + 1]);
      }
    }
  }
  TileStorage storage{op.getAcc() ? TileStorage::Kind::Acc
                                  : TileStorage::Kind::Scores};
  storage.values = acc;
  storage.cols = n;
  tiles[op.getResult()] = storage;
  return success();
}

LogicalResult KernelBuilder::lowerSoftmaxMmaSync(SoftmaxStepOp op,
                                                 const TileStorage &scores,
                                                 ArrayRef<Value> maxIn,
                                                 ArrayRef<Value> sumIn) {
  int64_t n = scores.cols;
  float c = op.getScaleLog2e().convertToFloat();
  Type f32Type = b.getF32Type();
  Value quad = arith::DivUIOp::create(b, loc, lane, idx(4));
  Value pairCol = mul(arith::RemUIOp::create(b, loc, lane, idx(4)), idx(2));
  int64_t pFrags = n / 16;

  auto emitStep = [&](bool masked) {
    SmallVector<Value> results; // per strip and half: max, sum, alpha
    SmallVector<Value> probs;   // per strip: pFrags A fragments
    Value scale = f32(c);
    Value negInf = f32(-INFINITY);
    for (int64_t s = 0; s < strips; ++s) {
      // x[half][j][e]
      SmallVector<SmallVector<Value>> x(2);
      for (int64_t half = 0; half < 2; ++half) {
        Value row = add(add(warpRow, idx(16 * s + 8 * half)), quad);
        for (int64_t j = 0; j < n / 8; ++j)
          for (int64_t e = 0; e < 2; ++e) {
            Value value = vector::ExtractOp::create(
                b, loc, scores.values[s * (n / 8) + j],
                ArrayRef<int64_t>{half, e});
            if (masked) {
              Value keyCol = add(scores.maskCol,
                                 add(idx(8 * j + e), pairCol));
              Value bad = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::uge, keyCol, scores.maskLimit);
              if (scores.causal) {
                Value above = arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::ugt, keyCol,
                    add(scores.maskRow, row));
                bad = arith::OrIOp::create(b, loc, bad, above);
              }
              value = arith::SelectOp::create(b, loc, bad, negInf, value);
            }
            x[half].push_back(value);
          }
      }
      SmallVector<SmallVector<Value>> p(2);
      for (int64_t half = 0; half < 2; ++half) {
        Value rowMax = negInf;
        for (Value v : x[half])
          rowMax = arith::MaximumFOp::create(b, loc, rowMax, v);
        // The four lanes of a quad share a row.
        rowMax = arith::MaximumFOp::create(b, loc, rowMax,
                                           shuffleXor(rowMax, 1));
        rowMax = arith::MaximumFOp::create(b, loc, rowMax,
                                           shuffleXor(rowMax, 2));
        Value mOld = maxIn[2 * s + half];
        Value newMax = arith::MaximumFOp::create(
            b, loc, mOld, arith::MulFOp::create(b, loc, rowMax, scale));
        if (staleMax()) {
          // The max is only a stabiliser: keep the old one while the new
          // one exceeds it by at most kStaleMaxLog2, so that alpha is
          // exactly 1 and lowerRescale can skip the accumulator. p then
          // reaches 2^kStaleMaxLog2 at most, far inside f16/bf16 and f32
          // range. (mOld = -inf gives +inf or NaN here: not stale.)
          Value growth = arith::SubFOp::create(b, loc, newMax, mOld);
          Value stale = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OLE, growth, f32(kStaleMaxLog2));
          newMax = arith::SelectOp::create(b, loc, stale, mOld, newMax);
        }
        Value isEmpty = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OEQ, newMax, negInf);
        Value useMax =
            arith::SelectOp::create(b, loc, isEmpty, f32(0.0f), newMax);
        Value negMax = arith::NegFOp::create(b, loc, useMax);
        Value sum = f32(0.0f);
        for (Value v : x[half]) {
          Value e = exp2(LLVM::FMAOp::create(b, loc, v, scale, negMax));
          p[half].push_back(e);
          sum = arith::AddFOp::create(b, loc, sum, e);
        }
        // The sum stays quad-partial (see TileStorage::quadPartial): the
        // quad's lanes share alpha, so their parts add up only once, after
        // the loop, instead of two shuffles a row on every step.
        Value alpha = exp2(arith::SubFOp::create(b, loc, mOld, useMax));
        Value newSum = arith::AddFOp::create(
            b, loc, arith::MulFOp::create(b, loc, sumIn[2 * s + half], alpha),
            sum);
        results.append({newMax, newSum, alpha});
      }
      // Two adjacent n8 tiles of P are one A fragment (k16) of P·V:
      // [row r: tile 2kk] [row r+8: tile 2kk] [row r: 2kk+1] [row r+8: 2kk+1].
      auto fragType = VectorType::get({4, 2}, element);
      for (int64_t kk = 0; kk < pFrags; ++kk) {
        SmallVector<Value> elems;
        for (int64_t t = 0; t < 2; ++t)
          for (int64_t half = 0; half < 2; ++half)
            for (int64_t e = 0; e < 2; ++e)
              elems.push_back(arith::TruncFOp::create(
                  b, loc, element, p[half][(2 * kk + t) * 2 + e]));
        probs.push_back(buildVector(b, loc, fragType, elems));
      }
    }
    SmallVector<Value> all = results;
    llvm::append_range(all, probs);
    return all;
  };

  SmallVector<Type> types(6 * strips, f32Type);
  types.append(strips * pFrags, VectorType::get({4, 2}, element));
  SmallVector<Value> all = emitMaskedOrNot(scores, n, types, emitStep);
  TileStorage probs{TileStorage::Kind::Probs};
  probs.cols = n;
  probs.values.assign(all.begin() + 6 * strips, all.end());
  bindSoftmaxResults(op, probs, ArrayRef<Value>(all).take_front(6 * strips));
  return success();
}

SmallVector<Value> KernelBuilder::scaleAccRows(ArrayRef<Value> acc,
                                               ArrayRef<Value> rows) {
  SmallVector<Value> out;
  int64_t perStrip = acc.size() / strips;
  auto type = VectorType::get({2, 2}, b.getF32Type());
  for (int64_t s = 0; s < strips; ++s) {
    Value r0 = rows[2 * s], r1 = rows[2 * s + 1];
    Value factor = buildVector(b, loc, type, {r0, r0, r1, r1});
    for (int64_t j = 0; j < perStrip; ++j)
      out.push_back(
          arith::MulFOp::create(b, loc, acc[s * perStrip + j], factor));
  }
  return out;
}

std::pair<SmallVector<Value>, SmallVector<Value>>
KernelBuilder::combineSplits(ArrayRef<Value> acc, ArrayRef<Value> sums) {
  // The workspace holds one slot per (split, batch·head, query block); a
  // slot is the lanes' registers interleaved so that a warp's accesses are
  // contiguous: acc half h of fragment e of thread t as 2 floats at
  // ((2e + h)·threads + t)·2, then the (max, sum) of row r at
  // base + (r·threads + t)·2. That is block_m · (head_dim + 8) floats.
  int64_t threads = 32 * warps;
  int64_t rowsBase = int64_t(acc.size()) * 2 * threads * 2;
  int64_t slotFloats = rowsBase + int64_t(sums.size()) * threads * 2;
  assert(slotFloats == blockM * (headDim + 8) && "slot layout drifted");
  Value queryBlocks = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  Value batchHeads = gpu::GridDimOp::create(b, loc, gpu::Dimension::y);
  Value queryBlock = mapping.lookup(tiled.getQueryBlock());
  Value bh = mapping.lookup(tiled.getBatchHead());
  Value tile = add(mul(bh, queryBlocks), queryBlock);
  auto slotBase = [&](Value splitIndex) {
    return mul(add(mul(splitIndex, mul(batchHeads, queryBlocks)), tile),
               idx(slotFloats));
  };
  auto pairType = VectorType::get({2}, b.getF32Type());
  auto accIndex = [&](Value base, int64_t e, int64_t h) {
    return add(base, mul(add(idx((2 * e + h) * threads), tid), idx(2)));
  };
  auto rowIndex = [&](Value base, int64_t r) {
    return add(base, add(idx(rowsBase), mul(add(idx(r * threads), tid),
                                            idx(2))));
  };

  // Publish this warp's partial.
  Value mine = slotBase(split);
  for (auto [e, frag] : llvm::enumerate(acc))
    for (int64_t h = 0; h < 2; ++h)
      vector::StoreOp::create(
          b, loc, vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{h}),
          partials, ValueRange{accIndex(mine, e, h)});
  for (auto [r, pair] : llvm::enumerate(llvm::zip(maxRows, sums))) {
    auto [m, l] = pair;
    Value stats = vector::FromElementsOp::create(b, loc, pairType,
                                                 ValueRange{m, l});
    vector::StoreOp::create(b, loc, stats, partials,
                            ValueRange{rowIndex(mine, r)});
  }
  // Count the warp's arrival for its rows: the release fence makes the
  // partial visible GPU-wide before the count, lane 0 counts, and the count
  // is broadcast to the warp. The last of kv_splits arrivals combines.
  auto gpuScope = NVVM::MemScopeKindAttr::get(b.getContext(),
                                              NVVM::MemScopeKind::GPU);
  NVVM::MembarOp::create(b, loc, gpuScope);
  warpSync();
  Value warp = arith::DivUIOp::create(b, loc, tid, idx(32));
  Value counter = add(mul(tile, idx(warps)), warp);
  Value isLane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        lane, idx(0));
  auto count = scf::IfOp::create(b, loc, TypeRange{b.getI32Type()}, isLane0,
                                 /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&count.getThenRegion().front());
    Value before = memref::AtomicRMWOp::create(
        b, loc, arith::AtomicRMWKind::addi, i32(1), counters,
        ValueRange{counter});
    scf::YieldOp::create(b, loc, before);
    b.setInsertionPointToStart(&count.getElseRegion().front());
    scf::YieldOp::create(b, loc, i32(0));
  }
  Value arrivals = gpu::ShuffleOp::create(b, loc, count.getResult(0), 0, 32,
                                          gpu::ShuffleMode::IDX)
                       .getShuffleResult();
  storeGuard = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                     arrivals, i32(kvSplits - 1));

  SmallVector<Type> types(acc.size(), acc.front().getType());
  types.append(sums.size(), b.getF32Type());
  auto last = scf::IfOp::create(b, loc, types, storeGuard, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&last.getElseRegion().front());
    SmallVector<Value> unchanged(acc.begin(), acc.end());
    llvm::append_range(unchanged, sums);
    scf::YieldOp::create(b, loc, unchanged);

    b.setInsertionPointToStart(&last.getThenRegion().front());
    // Every arrival is in: reset the counter for the next launch, and
    // acquire the other splits' partials.
    auto reset = scf::IfOp::create(b, loc, isLane0, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard resetGuard(b);
      b.setInsertionPointToStart(&reset.getThenRegion().front());
      memref::StoreOp::create(b, loc, i32(0), counters, ValueRange{counter});
    }
    NVVM::MembarOp::create(b, loc, gpuScope);
    // Online merge over the splits: running max M, sum L and acc O.
    SmallVector<Value> inits(acc.size(), zeroAcc());
    inits.append(sums.size(), f32(-INFINITY)); // M
    inits.append(sums.size(), f32(0.0f));      // L
    auto merge = scf::ForOp::create(b, loc, idx(0), idx(kvSplits), idx(1),
                                    inits);
    {
      OpBuilder::InsertionGuard mergeGuard(b);
      b.setInsertionPointToStart(merge.getBody());
      ValueRange carried = merge.getRegionIterArgs();
      int64_t nAcc = acc.size(), nRows = sums.size();
      Value base = slotBase(merge.getInductionVar());
      SmallVector<Value> keep, take, newMax, newSum;
      for (int64_t r = 0; r < nRows; ++r) {
        Value stats = vector::LoadOp::create(b, loc, pairType, partials,
                                             ValueRange{rowIndex(base, r)});
        Value m = vector::ExtractOp::create(b, loc, stats, ArrayRef<int64_t>{0});
        Value l = vector::ExtractOp::create(b, loc, stats, ArrayRef<int64_t>{1});
        Value runMax = carried[nAcc + r], runSum = carried[nAcc + nRows + r];
        Value both = arith::MaximumFOp::create(b, loc, runMax, m);
        // Rows no split has seen yet stay at -inf: scale by 0, not NaN.
        Value isEmpty = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OEQ, both, f32(-INFINITY));
        Value use = arith::SelectOp::create(b, loc, isEmpty, f32(0.0f), both);
        Value keepFactor = exp2(arith::SubFOp::create(b, loc, runMax, use));
        Value takeFactor = exp2(arith::SubFOp::create(b, loc, m, use));
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
          Value pair = vector::LoadOp::create(b, loc, pairType, partials,
                                              ValueRange{accIndex(base, e, h)});
          for (int64_t i = 0; i < 2; ++i)
            elements.push_back(
                vector::ExtractOp::create(b, loc, pair, ArrayRef<int64_t>{i}));
        }
        theirs.push_back(
            buildVector(b, loc, VectorType::get({2, 2}, b.getF32Type()),
                        elements));
      }
      SmallVector<Value> runAcc(carried.take_front(nAcc));
      SmallVector<Value> kept = scaleAccRows(runAcc, keep);
      SmallVector<Value> taken = scaleAccRows(theirs, take);
      SmallVector<Value> next;
      for (int64_t e = 0; e < nAcc; ++e)
        next.push_back(arith::AddFOp::create(b, loc, kept[e], taken[e]));
      llvm::append_range(next, newMax);
      llvm::append_range(next, newSum);
      scf::YieldOp::create(b, loc, next);
    }
    SmallVector<Value> combined(merge.getResults().take_front(acc.size()));
    llvm::append_range(combined,
                       merge.getResults().take_back(sums.size()));
    scf::YieldOp::create(b, loc, combined);
  }
  SmallVector<Value> outAcc(last.getResults().take_front(acc.size()));
  SmallVector<Value> outSums(last.getResults().take_back(sums.size()));
  return {outAcc, outSums};
}

LogicalResult KernelBuilder::lowerStoreMmaSync(StoreTileOp op,
                                               const TileStorage &storage) {
  // With split K/V loops only the warp that combined its rows stores them.
  std::optional<OpBuilder::InsertionGuard> guarded;
  if (storeGuard) {
    auto ifOp = scf::IfOp::create(b, loc, storeGuard, /*withElse=*/false);
    guarded.emplace(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  Value row0 = scalar(op.getRow());
  Value bh = scalar(op.getBatchHead());
  Value batch = arith::DivUIOp::create(b, loc, bh, heads);
  Value head = arith::RemUIOp::create(b, loc, bh, heads);
  Value seq = memref::DimOp::create(b, loc, o, 2);
  Value quad = arith::DivUIOp::create(b, loc, lane, idx(4));
  Value pairCol = mul(arith::RemUIOp::create(b, loc, lane, idx(4)), idx(2));
  int64_t perStrip = headDim / 8;
  auto pairType = VectorType::get({2}, b.getF32Type());
  auto outType = VectorType::get({2}, element);
  for (int64_t s = 0; s < strips; ++s)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = add(row0, add(add(warpRow, idx(16 * s + 8 * half)), quad));
      Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           row, seq);
      auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      for (int64_t j = 0; j < perStrip; ++j) {
        Value pair = vector::ExtractOp::create(
            b, loc, storage.values[s * perStrip + j], ArrayRef<int64_t>{half});
        (void)pairType;
        Value rounded = arith::TruncFOp::create(b, loc, outType, pair);
        vector::StoreOp::create(b, loc, rounded, o,
                                ValueRange{batch, head, row,
                                           add(idx(8 * j), pairCol)},
                                /*nontemporal=*/false, llvm::MaybeAlign(4));
      }
    }
  return success();
}

namespace {
struct FlashToGPUPass : public mlir::flash::impl::FlashToGPUBase<FlashToGPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<TiledOp> programs;
    module.walk([&](TiledOp op) { programs.push_back(op); });
    if (programs.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    SymbolTable symbols(module);
    for (TiledOp tiled : programs)
      if (failed(convert(tiled, symbols)))
        return signalPassFailure();
  }

  LogicalResult convert(TiledOp tiled, SymbolTable &symbols) {
    TileConfigAttr config = tiled.getConfig();
    auto func = tiled->getParentOfType<func::FuncOp>();
    std::string base = func ? func.getSymName().str() : "flash";
    Location loc = tiled.getLoc();
    ModuleOp module = getOperation();

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, loc, base + "_kernels");
    symbols.insert(gpuModule);
    b.setInsertionPointToStart(gpuModule.getBody());
    SmallVector<Type> argTypes(tiled->getOperandTypes());
    int64_t kvSplits = config.getKvSplits();
    auto partialsType =
        MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
    auto countersType =
        MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
    if (kvSplits > 1)
      argTypes.append({partialsType, countersType});
    auto kernel = gpu::GPUFuncOp::create(
        b, loc, base + "_kernel", b.getFunctionType(argTypes, {}));
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    int32_t threads = 32 * config.getWarps();
    kernel.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({threads, 1, 1}));
    // Tell ptxas how many blocks share an SM (shared memory decides it; 100
    // KiB per SM on sm_86/sm_89): without it ptxas aims at an occupancy the
    // shared memory never allows and caps registers at 128, spilling.
    auto qTypeForSmem = cast<MemRefType>(tiled.getQ().getType());
    int64_t smemBytes = config.getSharedMemoryBytes(
        qTypeForSmem.getDimSize(3), qTypeForSmem.getElementTypeBitWidth() / 8);
    // Capped so that ptxas may still give each thread 200 registers: an
    // occupancy bought with spills is slower (at 3 blocks of 128 threads,
    // ptxas caps at 168 and two-strip kernels spill).
    int64_t blocksBySmem = (100 * 1024) / std::max<int64_t>(smemBytes, 1);
    int64_t blocksByRegisters = 65536 / (threads * 200);
    int32_t blocksPerSM = std::max<int64_t>(
        1, std::min(blocksBySmem, blocksByRegisters));
    kernel->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                    b.getI32IntegerAttr(blocksPerSM));
    Block &entry = kernel.getBody().front();
    b.setInsertionPointToStart(&entry);
    KernelBuilder builder(tiled, b);
    if (failed(builder.emit(entry.getArguments())))
      return failure();
    gpu::ReturnOp::create(b, loc);

    // The host side: one launch over (query blocks, batch·heads).
    b.setInsertionPoint(tiled);
    auto idx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    Value q = tiled.getQ();
    auto dim = [&](int64_t d) -> Value {
      return memref::DimOp::create(b, loc, q, d);
    };
    Value gridX = arith::CeilDivUIOp::create(b, loc, dim(2),
                                             idx(config.getBlockM()));
    Value gridY = arith::MulIOp::create(b, loc, dim(0), dim(1));
    auto qType = cast<MemRefType>(q.getType());
    int64_t smem = config.getSharedMemoryBytes(
        qType.getDimSize(3), qType.getElementTypeBitWidth() / 8);
    Value smemValue = arith::ConstantIntOp::create(b, loc, smem, 32);
    SmallVector<Value> args(tiled->getOperands());
    SmallVector<Value> workspace;
    if (kvSplits > 1) {
      // The split workspace (docs/Pipeline.md): block_m · (head_dim + 8)
      // floats per (split, batch·head, query block), and one arrival
      // counter per (batch·head, query block, warp), zeroed once (the
      // kernel resets the ones it uses).
      Value tilesCount = arith::MulIOp::create(b, loc, gridX, gridY);
      Value floats = arith::MulIOp::create(
          b, loc, tilesCount,
          idx(kvSplits * config.getBlockM() * (qType.getDimSize(3) + 8)));
      Value countersCount =
          arith::MulIOp::create(b, loc, tilesCount, idx(config.getWarps()));
      Value partials = gpu::AllocOp::create(b, loc, partialsType, Type(),
                                            ValueRange{}, ValueRange{floats},
                                            ValueRange{})
                           .getMemref();
      Value counters = gpu::AllocOp::create(b, loc, countersType, Type(),
                                            ValueRange{},
                                            ValueRange{countersCount},
                                            ValueRange{})
                           .getMemref();
      gpu::MemsetOp::create(b, loc, Type(), ValueRange{}, counters,
                            arith::ConstantIntOp::create(b, loc, 0, 32));
      workspace = {partials, counters};
      llvm::append_range(args, workspace);
    }
    gpu::LaunchFuncOp::create(
        b, loc, kernel, gpu::KernelDim3{gridX, gridY, idx(kvSplits)},
        gpu::KernelDim3{idx(threads), idx(1), idx(1)}, smemValue, args);
    for (Value buffer : workspace)
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, buffer);
    tiled.erase();
    return success();
  }
};
} // namespace
