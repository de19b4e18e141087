//===- FlashOps.cpp - flash dialect operations ----------------------------===//
//
// Verifiers state each op's invariants once, so that passes can rely on
// them. Every message names the operand and the rule it breaks.
//
//===----------------------------------------------------------------------===//

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

static StringRef dimName(unsigned dim) {
  static const char *names[] = {"batch", "heads", "seq", "head_dim"};
  return names[dim];
}

/// Q, K, V and O are row-major, or strided (any strides, static or given at
/// launch, so that [batch, seq, heads, head_dim] storage is read through a
/// permuted view) with a unit stride on head_dim and no offset. Rows are
/// copied in 16-byte chunks: static strides are multiples of 8 elements.
static LogicalResult verifyRowLayout(Operation *op, StringRef name,
                                     MemRefType type) {
  if (type.getLayout().isIdentity())
    return success();
  auto strided = dyn_cast<StridedLayoutAttr>(type.getLayout());
  if (!strided || strided.getOffset() != 0 || strided.getStrides().back() != 1)
    return op->emitOpError()
           << name
           << " must be row-major or strided<[..., 1]> (a unit stride on "
              "head_dim, offset 0), got "
           << type;
  for (unsigned dim = 0; dim < 3; ++dim) {
    int64_t stride = strided.getStrides()[dim];
    if (!ShapedType::isDynamic(stride) && stride % 8 != 0)
      return op->emitOpError()
             << name << " " << dimName(dim) << " stride " << stride
             << " is not a multiple of 8 elements (rows are copied in "
                "16-byte chunks)";
  }
  return success();
}

/// Checks what Q, K, V and O of an attention (user or tile level) must
/// satisfy; returns the head dim on success.
static FailureOr<int64_t> verifyAttentionOperands(Operation *op, Value q,
                                                  Value k, Value v, Value o,
                                                  bool paged) {
  std::pair<StringRef, MemRefType> operands[] = {
      {"Q", cast<MemRefType>(q.getType())},
      {"K", cast<MemRefType>(k.getType())},
      {"V", cast<MemRefType>(v.getType())},
      {"O", cast<MemRefType>(o.getType())}};
  for (auto [name, type] : operands) {
    if (type.getRank() != 4)
      return op->emitOpError()
             << name << " must have rank 4 [batch, heads, seq, head_dim], got "
             << type;
    Type element = type.getElementType();
    if (!element.isF16() && !element.isBF16())
      return op->emitOpError()
             << name << " element type must be f16 or bf16, got " << element;
    if (type.getMemorySpace())
      return op->emitOpError()
             << name << " must be in global (default) memory, got " << type;
    if (failed(verifyRowLayout(op, name, type)))
      return failure();
    if (type.isDynamicDim(3))
      return op->emitOpError() << name << " head_dim must be static";
  }
  MemRefType qType = operands[0].second;
  // The bundle and the runtime describe the four layouts as one: all
  // row-major, or all strided (their strides given at launch).
  for (auto [name, type] : ArrayRef(operands).drop_front())
    if (type.getLayout().isIdentity() != qType.getLayout().isIdentity())
      return op->emitOpError()
             << "Q, K, V and O must all be row-major or all strided; " << name
             << " is "
             << (type.getLayout().isIdentity() ? "row-major" : "strided")
             << " and Q is not";
  for (auto [name, type] : ArrayRef(operands).drop_front()) {
    if (type.getElementType() != qType.getElementType())
      return op->emitOpError()
             << name << " element type " << type.getElementType()
             << " differs from Q's " << qType.getElementType();
    if (type.getDimSize(3) != qType.getDimSize(3))
      return op->emitOpError() << name << " head_dim " << type.getDimSize(3)
                               << " differs from Q's " << qType.getDimSize(3);
  }
  int64_t headDim = qType.getDimSize(3);
  if (!isSupportedHeadDim(headDim))
    return op->emitOpError()
           << "head_dim " << headDim << " is not supported (supported: "
           << "multiples of 16 from " << kMinHeadDim << " to " << kMaxHeadDim
           << ")";
  for (auto [name, type] : operands)
    for (unsigned dim = 0; dim < 3; ++dim)
      if (type.getDimSize(dim) == 0)
        return op->emitOpError() << name << " " << dimName(dim)
                                 << " is 0; sizes must be at least 1";
  auto staticMismatch = [](int64_t a, int64_t b) {
    return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
  };
  MemRefType kType = operands[1].second, vType = operands[2].second;
  if (staticMismatch(kType.getDimSize(2), vType.getDimSize(2)))
    return op->emitOpError()
           << "V seq " << vType.getDimSize(2) << " differs from K's "
           << kType.getDimSize(2) << " (keys and values come in pairs)";
  // A paged cache's batch is its pages.
  for (auto [name, type] :
       {std::pair<StringRef, MemRefType>{"K", kType}, {"V", vType}})
    if (!paged && staticMismatch(type.getDimSize(0), qType.getDimSize(0)))
      return op->emitOpError() << name << " batch " << type.getDimSize(0)
                               << " differs from Q's " << qType.getDimSize(0);
  // Grouped-query attention: each K/V head serves heads / kv_heads query
  // heads (query head h reads K/V head h / (heads / kv_heads)).
  if (staticMismatch(vType.getDimSize(1), kType.getDimSize(1)))
    return op->emitOpError()
           << "V heads " << vType.getDimSize(1) << " differs from K's "
           << kType.getDimSize(1) << " (keys and values come in pairs)";
  for (auto [name, type] :
       {std::pair<StringRef, MemRefType>{"K", kType}, {"V", vType}})
    if (!qType.isDynamicDim(1) && !type.isDynamicDim(1) &&
        qType.getDimSize(1) % type.getDimSize(1) != 0)
      return op->emitOpError()
             << "Q heads " << qType.getDimSize(1) << " is not a multiple of "
             << name << "'s " << type.getDimSize(1)
             << " (grouped-query attention: each K/V head serves as many "
                "query heads)";
  MemRefType oType = operands[3].second;
  if (oType.getShape() != qType.getShape())
    return op->emitOpError()
           << "O shape must equal Q's: got " << oType << " for Q " << qType;
  // Static sizes must be launchable: a program per (query block, head,
  // batch), heads along the grid's y dimension and batches along z.
  for (unsigned dim : {0u, 1u})
    if (qType.getDimSize(dim) > kMaxGridYZ)
      return op->emitOpError()
             << "Q " << dimName(dim) << " " << qType.getDimSize(dim)
             << " exceeds the grid's limit of " << kMaxGridYZ << " (one grid "
             << (dim == 0 ? "z index per batch" : "y index per head") << ")";
  return headDim;
}

/// The log-sum-exp output, if any: f32 [batch, heads, seq_q] of Q.
static LogicalResult verifyLse(Operation *op, Value lse, Value q) {
  if (!lse)
    return success();
  auto type = cast<MemRefType>(lse.getType());
  auto qType = cast<MemRefType>(q.getType());
  if (type.getRank() != 3 || !type.getElementType().isF32())
    return op->emitOpError() << "lse must be an f32 memref [batch, heads, "
                                "seq_q], got "
                             << type;
  if (type.getMemorySpace() || !type.getLayout().isIdentity())
    return op->emitOpError()
           << "lse must be row-major in global (default) memory, got " << type;
  for (unsigned dim = 0; dim < 3; ++dim)
    if (!type.isDynamicDim(dim) && !qType.isDynamicDim(dim) &&
        type.getDimSize(dim) != qType.getDimSize(dim))
      return op->emitOpError()
             << "lse " << dimName(dim) << " " << type.getDimSize(dim)
             << " differs from Q's " << qType.getDimSize(dim);
  return success();
}

/// The sequence bounds of varlen attention, if any: both i32 [sequences +
/// 1] in global memory, with every packed operand of batch 1.
static LogicalResult verifyVarlen(Operation *op, Value cuQ, Value cuK,
                                  ArrayRef<std::pair<StringRef, Value>> packed,
                                  TileConfigAttr config) {
  if (!cuQ && !cuK)
    return success();
  if (!cuQ || !cuK)
    return op->emitOpError("varlen needs both cu_seqlens_q and cu_seqlens_k");
  for (auto [name, value] : {std::pair<StringRef, Value>{"cu_seqlens_q", cuQ},
                             {"cu_seqlens_k", cuK}}) {
    auto type = cast<MemRefType>(value.getType());
    if (type.getRank() != 1 || !type.getElementType().isInteger(32) ||
        !type.getLayout().isIdentity() || type.getMemorySpace())
      return op->emitOpError()
             << name << " must be a row-major i32 memref [sequences + 1] "
             << "in global (default) memory, got " << type;
    if (!type.isDynamicDim(0) && type.getDimSize(0) < 2)
      return op->emitOpError()
             << name << " has " << type.getDimSize(0)
             << " entries; it needs sequences + 1, at least 2";
  }
  auto qCount = cast<MemRefType>(cuQ.getType()).getDimSize(0);
  auto kCount = cast<MemRefType>(cuK.getType()).getDimSize(0);
  if (!ShapedType::isDynamic(qCount) && !ShapedType::isDynamic(kCount) &&
      qCount != kCount)
    return op->emitOpError()
           << "cu_seqlens_k has " << kCount << " entries and cu_seqlens_q "
           << qCount << " (one start per sequence, and the end)";
  for (auto [name, value] : packed) {
    if (!value)
      continue;
    auto type = cast<MemRefType>(value.getType());
    if (type.getDimSize(0) != 1)
      return op->emitOpError()
             << "with varlen, " << name << " must have batch 1 (the "
             << "sequences are packed along seq), got " << type;
  }
  // Each program views Q and O by cu_seqlens_q and K and V by
  // cu_seqlens_k: one value in both roles needs one set of bounds.
  if (cuQ != cuK)
    for (auto [queryName, query] : packed.take_front(4))
      for (auto [keyName, key] : packed.take_front(4))
        if ((queryName == "Q" || queryName == "O") &&
            (keyName == "K" || keyName == "V") && query == key)
          return op->emitOpError()
                 << "with varlen, " << queryName << " and " << keyName
                 << " are one value: give cu_seqlens_q and cu_seqlens_k as "
                    "one value too";
  if (config && config.getKvSplits() > 1)
    return op->emitOpError() << "kv_splits " << config.getKvSplits()
                             << " is not supported with varlen yet (use 1)";
  return success();
}

/// A paged K/V cache's block table (i32 [batch, max_pages]) and key
/// lengths (i32 [batch]), of Q's batch; pages of a multiple of 16 rows.
static LogicalResult verifyPaged(Operation *op, Value table, Value lengths,
                                 Value q, Value k, Value v, Value o,
                                 Value cuQ) {
  if (!table && !lengths)
    return success();
  if (!table || !lengths)
    return op->emitOpError("paged needs both block_table and seqlens_k");
  if (cuQ)
    return op->emitOpError("paged and varlen together are not supported yet");
  auto qType = cast<MemRefType>(q.getType());
  for (auto [name, value, rank] :
       {std::tuple<StringRef, Value, int64_t>{"block_table", table, 2},
        {"seqlens_k", lengths, 1}}) {
    auto type = cast<MemRefType>(value.getType());
    if (type.getRank() != rank || !type.getElementType().isInteger(32) ||
        !type.getLayout().isIdentity() || type.getMemorySpace())
      return op->emitOpError() << name << " must be a row-major i32 memref "
                               << (rank == 2 ? "[batch, max_pages]" : "[batch]")
                               << " in global (default) memory, got " << type;
    if (!type.isDynamicDim(0) && !qType.isDynamicDim(0) &&
        type.getDimSize(0) != qType.getDimSize(0))
      return op->emitOpError() << name << " batch " << type.getDimSize(0)
                               << " differs from Q's " << qType.getDimSize(0);
  }
  if (q == k || o == k || q == v || o == v)
    return op->emitOpError("with paged, K and V are the cache: Q and O must "
                           "be other values");
  int64_t pageSize = cast<MemRefType>(k.getType()).getDimSize(2);
  if (!ShapedType::isDynamic(pageSize) && pageSize % 16 != 0)
    return op->emitOpError()
           << "page size (K's seq) " << pageSize << " is not a multiple of 16";
  return success();
}

Value flash::pagedKeyLength(OpBuilder &b, Location loc, Value seqlensK,
                            Value blockTable, Value kCache, Value batch) {
  Value entry = arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      memref::LoadOp::create(b, loc, seqlensK, ValueRange{batch}));
  auto dim = [&](Value memref, int64_t d) {
    return memref::DimOp::create(b, loc, memref, d).getResult();
  };
  Value held =
      arith::MulIOp::create(b, loc, dim(blockTable, 1), dim(kCache, 2));
  return arith::MinUIOp::create(b, loc, entry, held);
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

LogicalResult AttentionOp::verify() {
  FailureOr<int64_t> headDim =
      verifyAttentionOperands(*this, getQ(), getK(), getV(), getO(), isPaged());
  if (failed(headDim) || failed(verifyLse(*this, getLse(), getQ())) ||
      failed(verifyCaptures(*this, getCaptures())) ||
      failed(verifyVarlen(*this, getCuSeqlensQ(), getCuSeqlensK(),
                          {{"Q", getQ()},
                           {"K", getK()},
                           {"V", getV()},
                           {"O", getO()},
                           {"lse", getLse()}},
                          getConfigAttr())) ||
      failed(verifyPaged(*this, getBlockTable(), getSeqlensK(), getQ(), getK(),
                         getV(), getO(), getCuSeqlensQ())))
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
    return policy.verifyFor([&] { return emitOpError(); }, config);
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

bool TiledOp::isCausal() {
  bool causal = false;
  walk([&](MaskOp mask) { causal |= mask.getCausal(); });
  return causal;
}

LogicalResult TiledOp::verify() {
  FailureOr<int64_t> headDim =
      verifyAttentionOperands(*this, getQ(), getK(), getV(), getO(), isPaged());
  if (failed(headDim) || failed(verifyLse(*this, getLse(), getQ())) ||
      failed(verifyCaptures(*this, getCaptures())) ||
      failed(verifyVarlen(*this, getCuSeqlensQ(), getCuSeqlensK(),
                          {{"Q", getQ()},
                           {"K", getK()},
                           {"V", getV()},
                           {"O", getO()},
                           {"lse", getLse()}},
                          getConfig())) ||
      failed(verifyPaged(*this, getBlockTable(), getSeqlensK(), getQ(), getK(),
                         getV(), getO(), getCuSeqlensQ())))
    return failure();
  if (failed(getConfig().verifyFor([&] { return emitOpError(); }, *headDim,
                                   elementBytes(getQ()))))
    return failure();
  if (PolicyAttr policy = getPolicyAttr())
    return policy.verifyFor([&] { return emitOpError(); }, getConfig());
  return success();
}

PolicyAttr TiledOp::getEffectivePolicy() {
  if (PolicyAttr policy = getPolicyAttr())
    return policy;
  return getDefaultPolicy(getConfig(), getHeadDim(), elementBytes(getQ()));
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

LogicalResult SoftmaxStepOp::verify() {
  RankedTensorType scores = getScores().getType();
  if (!scores.getElementType().isF32())
    return emitOpError() << "scores must be f32, got " << scores;
  if (failed(verifyStaticTiles(*this)))
    return failure();
  if (getProbs().getType().getShape() != scores.getShape() ||
      !isMmaOperandType(getProbs().getType().getElementType()))
    return emitOpError() << "probs must be f16 or bf16 of the scores' shape, "
                            "got "
                         << getProbs().getType();
  int64_t rows = scores.getDimSize(0);
  for (auto [name, value] : {std::pair<StringRef, Value>{"max_in", getMaxIn()},
                             {"sum_in", getSumIn()},
                             {"max_out", getMaxOut()},
                             {"sum_out", getSumOut()},
                             {"alpha", getAlpha()}})
    if (failed(verifyRowVector(*this, name,
                               cast<RankedTensorType>(value.getType()), rows)))
      return failure();
  float c = getScaleLog2e().convertToFloat();
  if (!(c > 0.0f) || std::isinf(c))
    return emitOpError() << "scale_log2e must be a positive finite number, got "
                         << c;
  return success();
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

#define GET_OP_CLASSES
#include "flashc/Dialect/Flash/IR/FlashOps.cpp.inc"
