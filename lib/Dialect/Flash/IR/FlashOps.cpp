//===- FlashOps.cpp - flash dialect operations ----------------------------===//
//
// Verifiers state each op's invariants once, so that passes can rely on
// them. Every message names the operand and the rule it breaks.
//
//===----------------------------------------------------------------------===//

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

/// The operand rules of `op`, a flash.attention or flash.tiled.
template <typename OpT>
static FailureOr<int64_t> verifyOperandsOf(OpT op, TileConfigAttr config) {
  return verifyAttentionOperands(
      op,
      AttentionOperands{op.getQ(), op.getK(), op.getV(), op.getO(), op.getLse(),
                        op.getCuSeqlensQ(), op.getCuSeqlensK(),
                        op.getBlockTable(), op.getSeqlensK(), op.getCaptures()},
      config);
}

static int64_t elementBytes(Value memref) {
  return cast<MemRefType>(memref.getType()).getElementTypeBitWidth() / 8;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

int64_t AttentionOp::getHeadDim() {
  return cast<MemRefType>(getQ().getType()).getDimSize(3);
}

float AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToFloat();
  return 1.0f / std::sqrt(static_cast<float>(getHeadDim()));
}

/// The policy's rules (PolicyAttr::verifyFor), and those that need the op:
/// a tensor map, encoded at launch, describes one strided K or V tensor,
/// which packed (varlen) and paged K/V are not, and strides fixed at
/// compile time would disagree with.
template <typename OpT>
static LogicalResult verifyPolicyOf(OpT op, PolicyAttr policy,
                                    TileConfigAttr config) {
  if (failed(policy.verifyFor([&] { return op.emitOpError(); }, config)))
    return failure();
  if (policy.getPrefetch() != Prefetch::tma)
    return success();
  switch (keyLayoutOf(op)) {
  case KeyLayout::Plain:
    return success();
  case KeyLayout::Packed:
  case KeyLayout::Paged:
    return op.emitOpError()
           << "policy: prefetch = tma needs K and V as plain tensors, not "
           << (op.isVarlen() ? "packed (varlen)" : "a paged cache")
           << " (use prefetch = producer)";
  case KeyLayout::StaticStrides:
    return op.emitOpError()
           << "policy: prefetch = tma needs K's and V's strides from the "
              "launch (row-major, or strided<[?, ?, ?, 1]>): the tensor maps "
              "are encoded then, and static strides would disagree with them "
              "(use prefetch = producer)";
  }
  llvm_unreachable("every key layout is handled");
}

LogicalResult AttentionOp::verify() {
  FailureOr<int64_t> headDim = verifyOperandsOf(*this, getConfigAttr());
  if (failed(headDim))
    return failure();
  if (getBottomRight() && !getCausal())
    return emitOpError("bottom_right is the alignment of a causal mask: it "
                       "needs causal");
  if (std::optional<APFloat> scale = getScale()) {
    float value = scale->convertToFloat();
    if (!(value > 0.0f) || std::isinf(value))
      return emitOpError() << "scale must be a positive finite number, got "
                           << value;
  }
  TileConfigAttr config = getConfigAttr();
  if (!config) {
    if (getPolicyAttr())
      return emitOpError("a policy needs a config (the policy is chosen for "
                         "one configuration)");
    return success();
  }
  if (failed(config.verifyFor([&] { return emitOpError(); }, *headDim,
                              elementBytes(getQ()))))
    return failure();
  auto qType = cast<MemRefType>(getQ().getType());
  if (!qType.isDynamicDim(0) &&
      qType.getDimSize(0) * config.getKvSplits() > kMaxGridYZ)
    return emitOpError() << "batch " << qType.getDimSize(0) << " * kv_splits "
                         << config.getKvSplits()
                         << " exceeds the grid's limit of " << kMaxGridYZ
                         << " (grid z)";
  if (PolicyAttr policy = getPolicyAttr())
    return verifyPolicyOf(*this, policy, config);
  return success();
}

LogicalResult AttentionOp::verifyRegions() {
  if (hasScoreMod() && failed(verifyModRegion(*this, getScoreMod(),
                                              ModKind::Score, getCaptures())))
    return failure();
  if (hasMaskMod() && failed(verifyModRegion(*this, getMaskMod(), ModKind::Mask,
                                             getCaptures())))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// TiledOp
//===----------------------------------------------------------------------===//

int64_t TiledOp::getHeadDim() {
  return cast<MemRefType>(getQ().getType()).getDimSize(3);
}

SmallVector<LoadTileOp> TiledOp::getResidentCaptureTiles() {
  SmallVector<LoadTileOp> tiles;
  for (auto load : getBody().front().getOps<LoadTileOp>())
    if (load.getSource() != getQ() &&
        llvm::is_contained(getCaptures(), load.getSource()))
      tiles.push_back(load);
  return tiles;
}

bool TiledOp::hasStagingTile() {
  return walk([](AtomicAddDotOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

int64_t TiledOp::getKeptTileBytes() {
  TileConfigAttr config = getConfig();
  int64_t bytes = elementBytes(getQ());
  return static_cast<int64_t>(getResidentCaptureTiles().size()) *
             config.getResidentTileBytes(getHeadDim(), bytes) +
         (hasStagingTile() ? config.getStagingTileBytes(bytes) : 0);
}

int64_t TiledOp::getSharedMemoryBytes() {
  return getConfig().getSharedMemoryBytes(getHeadDim(), elementBytes(getQ())) +
         getKeptTileBytes();
}

bool TiledOp::isCausal() {
  bool causal = false;
  walk([&](MaskOp mask) { causal |= mask.getCausal(); });
  return causal;
}

LogicalResult TiledOp::verify() {
  FailureOr<int64_t> headDim = verifyOperandsOf(*this, getConfig());
  if (failed(headDim))
    return failure();
  // The whole program's shared memory, its kept tiles included.
  if (failed(getConfig().verifyFor([&] { return emitOpError(); }, *headDim,
                                   elementBytes(getQ()), getKeptTileBytes())))
    return failure();
  if (PolicyAttr policy = getPolicyAttr())
    return verifyPolicyOf(*this, policy, getConfig());
  return success();
}

PolicyAttr TiledOp::getEffectivePolicy() {
  if (PolicyAttr policy = getPolicyAttr())
    return policy;
  return getDefaultPolicy(getConfig(), getHeadDim(), elementBytes(getQ()),
                          keyLayoutOf(*this));
}

LogicalResult TiledOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 2 ||
      !llvm::all_of(body.getArgumentTypes(),
                    [](Type t) { return t.isIndex(); }))
    return emitOpError("body must take two index arguments (query block, "
                       "batch·head)");
  return success();
}

/// The tile configuration of the flash.tiled around `op`, if any.
static TileConfigAttr enclosingConfig(Operation *op) {
  if (auto tiled = op->getParentOfType<TiledOp>())
    return tiled.getConfig();
  return {};
}

//===----------------------------------------------------------------------===//
// Load and store
//===----------------------------------------------------------------------===//

/// A tile of rows of one head: `rows x head_dim` of the memref's element type.
static LogicalResult verifyRowTile(Operation *op, StringRef tileName,
                                   RankedTensorType tile, StringRef memName,
                                   MemRefType memref) {
  if (memref.isDynamicDim(3) || !isSupportedHeadDim(memref.getDimSize(3)))
    return op->emitOpError()
           << memName << " head_dim must be static and a multiple of 16 from "
           << kMinHeadDim << " to " << kMaxHeadDim << ", got " << memref;
  if (tile.getElementType() != memref.getElementType())
    return op->emitOpError()
           << tileName << " element type " << tile.getElementType()
           << " differs from " << memName << "'s " << memref.getElementType();
  if (tile.getDimSize(1) != memref.getDimSize(3))
    return op->emitOpError()
           << tileName << " has " << tile.getDimSize(1) << " columns, but "
           << memName << " head_dim is " << memref.getDimSize(3);
  if (ShapedType::isDynamic(tile.getDimSize(0)) || tile.getDimSize(0) % 16)
    return op->emitOpError() << tileName << " rows must be a static multiple "
                             << "of 16, got " << tile;
  return success();
}

LogicalResult LoadTileOp::verify() {
  return verifyRowTile(*this, "result", getResult().getType(), "source",
                       getSource().getType());
}

LogicalResult StoreTileOp::verify() {
  return verifyRowTile(*this, "value", getValue().getType(), "dest",
                       getDest().getType());
}

//===----------------------------------------------------------------------===//
// KVLoopOp
//===----------------------------------------------------------------------===//

void KVLoopOp::build(OpBuilder &builder, OperationState &state, Value k,
                     Value v, Value batchHead, Value lower, Value upper,
                     ValueRange inits, int64_t blockN) {
  state.addOperands({k, v, batchHead});
  if (lower)
    state.addOperands(lower);
  state.addOperands(upper);
  state.addOperands(inits);
  state.getOrAddProperties<Properties>().operandSegmentSizes = {
      1, 1, 1, lower ? 1 : 0, 1, static_cast<int32_t>(inits.size())};
  state.addTypes(inits.getTypes());
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  Location loc = state.location;
  block->addArgument(builder.getIndexType(), loc);
  for (Value memref : {k, v}) {
    auto type = cast<MemRefType>(memref.getType());
    block->addArgument(RankedTensorType::get({blockN, type.getDimSize(3)},
                                             type.getElementType()),
                       loc);
  }
  for (Value init : inits)
    block->addArgument(init.getType(), loc);
}

LogicalResult KVLoopOp::verify() {
  auto kType = cast<MemRefType>(getK().getType());
  auto vType = cast<MemRefType>(getV().getType());
  if (kType.getElementType() != vType.getElementType() ||
      kType.getDimSize(3) != vType.getDimSize(3))
    return emitOpError() << "K " << kType << " and V " << vType
                         << " must have the same element type and head_dim";
  if (getInits().getTypes() != getResults().getTypes())
    return emitOpError("result types must equal the init types");
  return success();
}

LogicalResult KVLoopOp::verifyRegions() {
  Block &body = getBody().front();
  unsigned numInits = getInits().size();
  if (body.getNumArguments() != 3 + numInits)
    return emitOpError() << "body must take (start: index, K tile, V tile) "
                            "and one argument per init, i.e. "
                         << 3 + numInits << " arguments, got "
                         << body.getNumArguments();
  if (!body.getArgument(0).getType().isIndex())
    return emitOpError("body argument #0 (block start) must be index");
  TileConfigAttr config = enclosingConfig(*this);
  StringRef names[] = {"K", "V"};
  Value memrefs[] = {getK(), getV()};
  for (unsigned i = 0; i < 2; ++i) {
    auto tile = dyn_cast<RankedTensorType>(body.getArgument(1 + i).getType());
    auto memref = cast<MemRefType>(memrefs[i].getType());
    if (!tile || tile.getRank() != 2)
      return emitOpError() << names[i] << " tile argument must be a 2-d tensor";
    std::string tileName = (names[i] + " tile").str();
    if (failed(verifyRowTile(*this, tileName, tile, names[i], memref)))
      return failure();
    if (config && tile.getDimSize(0) != config.getBlockN())
      return emitOpError() << names[i] << " tile has " << tile.getDimSize(0)
                           << " rows, but the tile config's block_n is "
                           << config.getBlockN();
  }
  if (body.getArgument(1).getType() != body.getArgument(2).getType())
    return emitOpError() << "K tile " << body.getArgument(1).getType()
                         << " and V tile " << body.getArgument(2).getType()
                         << " must have the same type";
  for (unsigned i = 0; i < numInits; ++i)
    if (body.getArgument(3 + i).getType() != getInits()[i].getType())
      return emitOpError() << "body argument #" << 3 + i << " type "
                           << body.getArgument(3 + i).getType()
                           << " differs from init #" << i << " type "
                           << getInits()[i].getType();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getInits().getTypes())
    return emitOpError("flash.yield must give one value per init, of the "
                       "init's type");
  return success();
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

static bool isMmaOperandType(Type t) { return t.isF16() || t.isBF16(); }

/// Tiles and row vectors of the compute ops have static sizes, multiples of
/// 16 (the tensor-core tile).
static LogicalResult verifyStaticTiles(Operation *op) {
  for (Type type :
       llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      continue;
    for (int64_t size : tensor.getShape())
      if (ShapedType::isDynamic(size) || size % 16 != 0)
        return op->emitOpError() << "tile sizes must be static multiples of "
                                    "16 (the tensor-core tile), got "
                                 << tensor;
  }
  return success();
}

LogicalResult DotOp::verify() {
  RankedTensorType lhs = getLhs().getType(), rhs = getRhs().getType(),
                   result = getResult().getType();
  if (failed(verifyStaticTiles(*this)))
    return failure();
  if (!isMmaOperandType(lhs.getElementType()))
    return emitOpError() << "lhs element type must be f16 or bf16, got "
                         << lhs.getElementType();
  if (rhs.getElementType() != lhs.getElementType())
    return emitOpError() << "rhs element type " << rhs.getElementType()
                         << " differs from lhs's " << lhs.getElementType();
  if (!result.getElementType().isF32())
    return emitOpError() << "result element type must be f32 (accumulation "
                            "is in f32), got "
                         << result.getElementType();
  int64_t m = lhs.getDimSize(0), kLhs = lhs.getDimSize(1);
  int64_t kRhs = getTransposeRhs() ? rhs.getDimSize(1) : rhs.getDimSize(0);
  int64_t n = getTransposeRhs() ? rhs.getDimSize(0) : rhs.getDimSize(1);
  if (kLhs != kRhs)
    return emitOpError() << "contraction sizes differ: lhs has " << kLhs
                         << " columns, rhs" << (getTransposeRhs() ? "ᵀ" : "")
                         << " has " << kRhs << " rows";
  if (result.getShape() != ArrayRef<int64_t>{m, n})
    return emitOpError() << "result shape must be " << m << "x" << n << ", got "
                         << result;
  if (getAcc() && getAcc().getType() != result)
    return emitOpError() << "acc type " << getAcc().getType()
                         << " differs from the result's " << result;
  return success();
}

LogicalResult MaskOp::verify() {
  if (!getScores().getType().getElementType().isF32())
    return emitOpError("scores must be f32");
  if (getDiagonal() && !getCausal())
    return emitOpError("diagonal shifts the causal mask: it needs causal");
  return verifyStaticTiles(*this);
}

/// flash.score_mod and flash.mask_mod: f32 scores, captures that are the
/// enclosing flash.tiled's (the kernel takes them as parameters).
static LogicalResult verifyModOp(Operation *op, Value scores,
                                 ValueRange captures) {
  if (!cast<RankedTensorType>(scores.getType()).getElementType().isF32())
    return op->emitOpError("scores must be f32");
  if (failed(verifyCaptures(op, captures)) || failed(verifyStaticTiles(op)))
    return failure();
  auto tiled = op->getParentOfType<TiledOp>();
  if (!tiled)
    return success();
  for (auto [index, value] : llvm::enumerate(captures))
    if (!llvm::is_contained(tiled.getCaptures(), value))
      return op->emitOpError()
             << "capture #" << index
             << " must be one of the enclosing flash.tiled's captures";
  return success();
}

LogicalResult ScoreModOp::verify() {
  return verifyModOp(*this, getScores(), getCaptures());
}

LogicalResult ScoreModOp::verifyRegions() {
  return verifyModRegion(*this, getBody(), ModKind::Score, getCaptures());
}

LogicalResult MaskModOp::verify() {
  return verifyModOp(*this, getScores(), getCaptures());
}

LogicalResult MaskModOp::verifyRegions() {
  return verifyModRegion(*this, getBody(), ModKind::Mask, getCaptures());
}

LogicalResult StoreLseOp::verify() {
  int64_t rows = getMax().getType().getDimSize(0);
  if (ShapedType::isDynamic(rows) || rows % 16)
    return emitOpError() << "rows must be a static multiple of 16, got "
                         << getMax().getType();
  return success();
}

/// A per-row vector of `rows` f32.
static LogicalResult verifyRowVector(Operation *op, StringRef name,
                                     RankedTensorType type, int64_t rows) {
  if (type.getDimSize(0) != rows)
    return op->emitOpError() << name << " has " << type.getDimSize(0)
                             << " rows, the tile has " << rows;
  return success();
}

void SoftmaxStepOp::build(OpBuilder &builder, OperationState &state,
                          Value scores, Value max, Value sum, float scaleLog2e,
                          Type probType) {
  auto scoreType = cast<RankedTensorType>(scores.getType());
  build(builder, state, RankedTensorType::get(scoreType.getShape(), probType),
        max.getType(), max.getType(), max.getType(), scores, max, sum,
        builder.getF32FloatAttr(scaleLog2e));
}

/// A score-shaped result (probabilities, dS) that feeds a product: f16 or
/// bf16 of the scores' shape.
static LogicalResult verifyProductOperand(Operation *op, StringRef name,
                                          RankedTensorType type,
                                          RankedTensorType scores) {
  if (type.getShape() != scores.getShape() ||
      !isMmaOperandType(type.getElementType()))
    return op->emitOpError()
           << name << " must be f16 or bf16 of the scores' shape, got " << type;
  return success();
}

/// A scale attribute: a positive finite number.
static LogicalResult verifyPositiveScale(Operation *op, StringRef name,
                                         FloatAttr attr) {
  float value = attr.getValue().convertToFloat();
  if (!(value > 0.0f) || std::isinf(value))
    return op->emitOpError()
           << name << " must be a positive finite number, got " << value;
  return success();
}

LogicalResult SoftmaxStepOp::verify() {
  RankedTensorType scores = getScores().getType();
  if (!scores.getElementType().isF32())
    return emitOpError() << "scores must be f32, got " << scores;
  if (failed(verifyStaticTiles(*this)))
    return failure();
  if (failed(
          verifyProductOperand(*this, "probs", getProbs().getType(), scores)))
    return failure();
  int64_t rows = scores.getDimSize(0);
  for (auto [name, value] : {std::pair<StringRef, Value>{"max_in", getMaxIn()},
                             {"sum_in", getSumIn()},
                             {"max_out", getMaxOut()},
                             {"sum_out", getSumOut()},
                             {"alpha", getAlpha()}})
    if (failed(verifyRowVector(*this, name,
                               cast<RankedTensorType>(value.getType()), rows)))
      return failure();
  return verifyPositiveScale(*this, "scale_log2e", getScaleLog2eAttr());
}

/// flash.load_rows / flash.load_cols: a static multiple of 16 values.
static LogicalResult verifyLoadedVector(Operation *op, StringRef what,
                                        RankedTensorType type) {
  int64_t size = type.getDimSize(0);
  if (ShapedType::isDynamic(size) || size % 16)
    return op->emitOpError()
           << what << " must be a static multiple of 16, got " << type;
  return success();
}

LogicalResult LoadRowsOp::verify() {
  return verifyLoadedVector(*this, "rows", getResult().getType());
}

LogicalResult LoadColsOp::verify() {
  return verifyLoadedVector(*this, "columns", getResult().getType());
}

LogicalResult RowDotOp::verify() {
  auto lhs = cast<MemRefType>(getLhs().getType());
  auto rhs = cast<MemRefType>(getRhs().getType());
  if (lhs.getElementType() != rhs.getElementType() ||
      lhs.getDimSize(3) != rhs.getDimSize(3))
    return emitOpError() << "lhs " << lhs << " and rhs " << rhs
                         << " must have one element type and head dim";
  if (!lhs.getLayout().isIdentity() || !rhs.getLayout().isIdentity())
    return emitOpError() << "lhs " << lhs << " and rhs " << rhs
                         << " must be row-major (read in 16-byte chunks)";
  if (ShapedType::isDynamic(lhs.getDimSize(3)) || lhs.getDimSize(3) % 8)
    return emitOpError() << "the head dim must be a static multiple of 8, got "
                         << lhs;
  return verifyLoadedVector(*this, "rows", getResult().getType());
}

LogicalResult StoreRowsOp::verify() {
  return verifyLoadedVector(*this, "rows", getRows().getType());
}

LogicalResult GradScoresOp::verify() {
  RankedTensorType scores = getScores().getType();
  if (!scores.getElementType().isF32())
    return emitOpError() << "scores and dp must be f32, got " << scores;
  if (failed(verifyStaticTiles(*this)))
    return failure();
  if (failed(
          verifyProductOperand(*this, "result", getResult().getType(), scores)))
    return failure();
  if (getProbs() && getProbs().getType() != getResult().getType())
    return emitOpError() << "probs type " << getProbs().getType()
                         << " differs from the result's "
                         << getResult().getType();
  // One lse per query: per row, or per column of transposed scores.
  int64_t queries = scores.getDimSize(getTransposed() ? 1 : 0);
  if (getLse().getType().getDimSize(0) != queries)
    return emitOpError() << "lse has " << getLse().getType().getDimSize(0)
                         << " values, the tile has " << queries
                         << (getTransposed() ? " columns" : " rows");
  if (failed(verifyPositiveScale(*this, "scale_log2e", getScaleLog2eAttr())))
    return failure();
  return verifyPositiveScale(*this, "scale", getScaleAttr());
}

LogicalResult RescaleOp::verify() {
  RankedTensorType acc = getAcc().getType();
  if (!acc.getElementType().isF32())
    return emitOpError() << "acc must be f32, got " << acc;
  if (failed(verifyStaticTiles(*this)))
    return failure();
  return verifyRowVector(*this, "factor", getFactor().getType(),
                         acc.getDimSize(0));
}

LogicalResult NormalizeOp::verify() {
  RankedTensorType acc = getAcc().getType(), result = getResult().getType();
  if (!acc.getElementType().isF32())
    return emitOpError() << "acc must be f32, got " << acc;
  if (failed(verifyStaticTiles(*this)))
    return failure();
  if (result.getShape() != acc.getShape() ||
      !isMmaOperandType(result.getElementType()))
    return emitOpError() << "result must be f16 or bf16 of acc's shape, got "
                         << result;
  return verifyRowVector(*this, "sum", getSum().getType(), acc.getDimSize(0));
}

LogicalResult AtomicAddDotOp::verify() {
  RankedTensorType lhs = getLhs().getType(), rhs = getRhs().getType();
  MemRefType dest = getDest().getType();
  if (failed(verifyStaticTiles(*this)))
    return failure();
  if (!isMmaOperandType(lhs.getElementType()) ||
      rhs.getElementType() != lhs.getElementType())
    return emitOpError() << "lhs and rhs must both be f16 or both bf16, got "
                         << lhs << " and " << rhs;
  if (rhs.getDimSize(0) != lhs.getDimSize(0))
    return emitOpError() << "rhs has " << rhs.getDimSize(0) << " rows, lhs has "
                         << lhs.getDimSize(0)
                         << " (the product sums over them)";
  if (dest.isDynamicDim(3) || dest.getDimSize(3) != rhs.getDimSize(1))
    return emitOpError() << "dest head_dim must be static and equal rhs's "
                         << rhs.getDimSize(1) << " columns, got " << dest;
  return success();
}

#define GET_OP_CLASSES
#include "flashc/Dialect/Flash/IR/FlashOps.cpp.inc"
