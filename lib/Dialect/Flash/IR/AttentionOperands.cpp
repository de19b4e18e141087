//===- AttentionOperands.cpp - what an attention's operands must be ------===//
//
// The operand rules flash.attention and flash.tiled share, stated once:
// Q, K, V and O (layouts, shapes, grouped-query heads), the LSE, the
// captures, varlen's sequence bounds and a paged cache's tables. Every
// message names the operand and the rule it breaks.
//
//===----------------------------------------------------------------------===//

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

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
static FailureOr<int64_t> verifyTensorOperands(Operation *op, Value q, Value k,
                                               Value v, Value o, bool paged) {
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

FailureOr<int64_t>
flash::verifyAttentionOperands(Operation *op, const AttentionOperands &operands,
                               TileConfigAttr config) {
  const AttentionOperands &a = operands;
  FailureOr<int64_t> headDim =
      verifyTensorOperands(op, a.q, a.k, a.v, a.o,
                           /*paged=*/static_cast<bool>(a.blockTable));
  if (failed(headDim) || failed(verifyLse(op, a.lse, a.q)) ||
      failed(verifyCaptures(op, a.captures)) ||
      failed(verifyVarlen(
          op, a.cuSeqlensQ, a.cuSeqlensK,
          {{"Q", a.q}, {"K", a.k}, {"V", a.v}, {"O", a.o}, {"lse", a.lse}},
          config)) ||
      failed(verifyPaged(op, a.blockTable, a.seqlensK, a.q, a.k, a.v, a.o,
                         a.cuSeqlensQ)))
    return failure();
  return headDim;
}
