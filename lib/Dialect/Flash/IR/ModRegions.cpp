//===- ModRegions.cpp - the rules of score_mod and mask_mod regions -------===//
//
// A modifier region is evaluated once per score element, on the GPU (in the
// lane that holds the element), by the CPU interpreter and by the float64
// reference; so it must be a pure scalar function of its arguments. These
// rules are stated once here and shared by flash.attention, flash.score_mod
// and flash.mask_mod (which are IsolatedFromAbove: a region uses only its
// arguments and what it defines).
//
//===----------------------------------------------------------------------===//

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

using namespace mlir;
using namespace mlir::flash;

unsigned flash::modLeadingArguments(ModKind kind) {
  return kind == ModKind::Score ? 7 : 6;
}

static StringRef modName(ModKind kind) {
  return kind == ModKind::Score ? "score_mod" : "mask_mod";
}

LogicalResult flash::verifyCaptures(Operation *op, ValueRange captures) {
  for (auto [index, value] : llvm::enumerate(captures)) {
    Type type = value.getType();
    if (type.isIntOrIndexOrFloat())
      continue;
    auto memref = dyn_cast<MemRefType>(type);
    if (!memref)
      return op->emitOpError()
             << "capture #" << index << " must be a memref or an index, "
             << "integer or float scalar, got " << type;
    if (!memref.getElementType().isIntOrIndexOrFloat())
      return op->emitOpError() << "capture #" << index
                               << " must hold index, integer or float "
                                  "elements, got "
                               << type;
    if (memref.getMemorySpace() || !memref.getLayout().isIdentity())
      return op->emitOpError()
             << "capture #" << index
             << " must be a row-major memref in global (default) memory, got "
             << type;
  }
  return success();
}

/// Whether `op` may appear in a modifier region whose captures are
/// `captureArgs`.
static bool isAllowedInMod(Operation &op, ValueRange captureArgs) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return llvm::is_contained(captureArgs, load.getMemRef());
  Dialect *dialect = op.getDialect();
  if (!isa_and_nonnull<arith::ArithDialect, math::MathDialect>(dialect))
    return false;
  return op.getNumRegions() == 0 && isMemoryEffectFree(&op) &&
         llvm::all_of(op.getResultTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); });
}

LogicalResult flash::verifyModRegion(Operation *op, Region &region,
                                     ModKind kind, ValueRange captures) {
  StringRef name = modName(kind);
  if (!region.hasOneBlock())
    return op->emitOpError() << name << " must have one block";
  Block &body = region.front();
  unsigned leading = modLeadingArguments(kind);
  const char *signature = kind == ModKind::Score
                              ? "(score: f32, batch, head, q_idx, kv_idx, "
                                "seq_q, seq_k: index)"
                              : "(batch, head, q_idx, kv_idx, seq_q, seq_k: "
                                "index)";
  if (body.getNumArguments() != leading + captures.size())
    return op->emitOpError() << name << " must take " << signature
                             << " and one argument per capture, i.e. "
                             << leading + captures.size() << " arguments, got "
                             << body.getNumArguments();
  for (auto [index, arg] : llvm::enumerate(body.getArguments())) {
    Type expected;
    if (index >= leading)
      expected = captures[index - leading].getType();
    else if (kind == ModKind::Score && index == 0)
      expected = Float32Type::get(op->getContext());
    else
      expected = IndexType::get(op->getContext());
    if (arg.getType() != expected)
      return op->emitOpError()
             << name << " argument #" << index << " must be " << expected
             << (index >= leading ? " (the capture's type)" : "") << ", got "
             << arg.getType();
  }
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  Type result = kind == ModKind::Score
                    ? Type(Float32Type::get(op->getContext()))
                    : Type(IntegerType::get(op->getContext(), 1));
  if (!yield || yield.getValues().size() != 1 ||
      yield.getValues()[0].getType() != result)
    return op->emitOpError()
           << name << " must end with flash.yield of one " << result;
  ValueRange captureArgs = body.getArguments().drop_front(leading);
  for (Operation &inner : body.without_terminator())
    if (!isAllowedInMod(inner, captureArgs))
      return inner.emitOpError()
             << "is not allowed in " << name
             << ": it may hold only pure scalar arith and math ops and "
                "memref.load from captured memrefs";
  return success();
}

bool flash::loadsAtCoordinates(Region &region, ModKind kind) {
  Block &body = region.front();
  unsigned queryArg = kind == ModKind::Score ? 3 : 2;
  Value query = body.getArgument(queryArg),
        key = body.getArgument(queryArg + 1);
  // Whether `value` is computed from q_idx or kv_idx (the region is a
  // straight line: a walk up the operands ends).
  std::function<bool(Value)> fromCoordinates = [&](Value value) {
    if (value == query || value == key)
      return true;
    Operation *def = value.getDefiningOp();
    return def && llvm::any_of(def->getOperands(), fromCoordinates);
  };
  for (auto load : region.getOps<memref::LoadOp>())
    if (llvm::any_of(load.getIndices(), fromCoordinates))
      return true;
  return false;
}
