//===- ScalarProgram.cpp - modifier regions evaluated on the CPU ----------===//

#include "flashc/Interpreter/ScalarProgram.h"

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <utility>

using namespace mlir;
using namespace mlir::flash;

/// Bits of an integer or index type.
static unsigned widthOf(Type type) {
  if (auto integer = dyn_cast<IntegerType>(type))
    return integer.getWidth();
  return 64;
}

/// `value` as a `width`-bit integer, sign-extended (i1: 0 or 1).
static int64_t wrap(int64_t value, unsigned width) {
  if (width == 1)
    return value & 1;
  if (width >= 64)
    return value;
  uint64_t mask = (uint64_t(1) << width) - 1;
  uint64_t bits = uint64_t(value) & mask;
  if (bits >> (width - 1))
    bits |= ~mask;
  return static_cast<int64_t>(bits);
}

/// The unsigned reading of a `width`-bit integer.
static uint64_t unsignedOf(int64_t value, unsigned width) {
  if (width >= 64)
    return uint64_t(value);
  return uint64_t(value) & ((uint64_t(1) << width) - 1);
}

static bool compareFloats(arith::CmpFPredicate p, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  using P = arith::CmpFPredicate;
  switch (p) {
  case P::AlwaysFalse:
    return false;
  case P::AlwaysTrue:
    return true;
  case P::OEQ:
    return !unordered && a == b;
  case P::OGT:
    return !unordered && a > b;
  case P::OGE:
    return !unordered && a >= b;
  case P::OLT:
    return !unordered && a < b;
  case P::OLE:
    return !unordered && a <= b;
  case P::ONE:
    return !unordered && a != b;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || a == b;
  case P::UGT:
    return unordered || a > b;
  case P::UGE:
    return unordered || a >= b;
  case P::ULT:
    return unordered || a < b;
  case P::ULE:
    return unordered || a <= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  }
  return false;
}

static bool compareIntegers(arith::CmpIPredicate p, int64_t a, int64_t b,
                            unsigned width) {
  uint64_t ua = unsignedOf(a, width), ub = unsignedOf(b, width);
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::eq:
    return a == b;
  case P::ne:
    return a != b;
  case P::slt:
    return a < b;
  case P::sle:
    return a <= b;
  case P::sgt:
    return a > b;
  case P::sge:
    return a >= b;
  case P::ult:
    return ua < ub;
  case P::ule:
    return ua <= ub;
  case P::ugt:
    return ua > ub;
  case P::uge:
    return ua >= ub;
  }
  return false;
}

namespace mlir::flash {
/// Builds the steps of a ScalarProgram, one op at a time.
class ScalarProgramBuilder {
public:
  ScalarProgramBuilder(ScalarProgram &program) : program(program) {}

  unsigned newSlot(Scalar initial = {}) {
    program.initial.push_back(initial);
    return program.initial.size() - 1;
  }

  LogicalResult addOp(Operation *op,
                      const std::vector<flashc::HostCapture> *captures,
                      const DenseMap<Value, unsigned> &captureOf);

  DenseMap<Value, unsigned> slots;

private:
  using Fn = std::function<Scalar(const std::vector<Scalar> &)>;
  void emit(Operation *op, Fn fn) {
    unsigned slot = newSlot();
    slots[op->getResult(0)] = slot;
    program.steps.emplace_back(slot, std::move(fn));
  }
  template <typename F> void floatUnary(Operation *op, F f) {
    unsigned a = slots.lookup(op->getOperand(0));
    emit(op, [=](const std::vector<Scalar> &v) {
      Scalar r;
      r.f = f(v[a].f);
      return r;
    });
  }
  template <typename F> void floatBinary(Operation *op, F f) {
    unsigned a = slots.lookup(op->getOperand(0)),
             b = slots.lookup(op->getOperand(1));
    emit(op, [=](const std::vector<Scalar> &v) {
      Scalar r;
      r.f = f(v[a].f, v[b].f);
      return r;
    });
  }
  /// An integer op on the signed (`s`) values of `width` bits, result
  /// wrapped to the result's width.
  template <typename F> void intBinary(Operation *op, F f) {
    unsigned a = slots.lookup(op->getOperand(0)),
             b = slots.lookup(op->getOperand(1));
    unsigned width = widthOf(op->getResult(0).getType());
    emit(op, [=](const std::vector<Scalar> &v) {
      Scalar r;
      r.i = wrap(f(v[a].i, v[b].i, width), width);
      return r;
    });
  }
  LogicalResult addArith(Operation *op);
  LogicalResult addMath(Operation *op);

  ScalarProgram &program;
};
} // namespace mlir::flash

LogicalResult ScalarProgramBuilder::addArith(Operation *op) {
  using V = const std::vector<Scalar> &;
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    Scalar value;
    if (auto f = dyn_cast<FloatAttr>(constant.getValue()))
      value.f = f.getValueAsDouble();
    else if (auto i = dyn_cast<IntegerAttr>(constant.getValue()))
      value.i = wrap(i.getValue().getSExtValue(), widthOf(i.getType()));
    else
      return op->emitOpError("interpreter: a non-scalar constant");
    slots[constant] = newSlot(value);
    return success();
  }
  // clang-format off
  if (isa<arith::AddFOp>(op)) { floatBinary(op, [](double a, double b) { return a + b; }); return success(); }
  if (isa<arith::SubFOp>(op)) { floatBinary(op, [](double a, double b) { return a - b; }); return success(); }
  if (isa<arith::MulFOp>(op)) { floatBinary(op, [](double a, double b) { return a * b; }); return success(); }
  if (isa<arith::DivFOp>(op)) { floatBinary(op, [](double a, double b) { return a / b; }); return success(); }
  if (isa<arith::RemFOp>(op)) { floatBinary(op, [](double a, double b) { return std::fmod(a, b); }); return success(); }
  if (isa<arith::MaximumFOp>(op)) { floatBinary(op, [](double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }); return success(); }
  if (isa<arith::MinimumFOp>(op)) { floatBinary(op, [](double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }); return success(); }
  if (isa<arith::MaxNumFOp>(op)) { floatBinary(op, [](double a, double b) { return std::fmax(a, b); }); return success(); }
  if (isa<arith::MinNumFOp>(op)) { floatBinary(op, [](double a, double b) { return std::fmin(a, b); }); return success(); }
  if (isa<arith::NegFOp>(op)) { floatUnary(op, [](double a) { return -a; }); return success(); }
  if (isa<arith::AddIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return int64_t(uint64_t(a) + uint64_t(b)); }); return success(); }
  if (isa<arith::SubIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return int64_t(uint64_t(a) - uint64_t(b)); }); return success(); }
  if (isa<arith::MulIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return int64_t(uint64_t(a) * uint64_t(b)); }); return success(); }
  // b == -1 apart: INT64_MIN / -1 overflows (wrapping, as the GPU's).
  if (isa<arith::DivSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return b == -1 ? int64_t(0 - uint64_t(a)) : b ? a / b : 0; }); return success(); }
  if (isa<arith::RemSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return b == -1 || !b ? int64_t(0) : a % b; }); return success(); }
  if (isa<arith::DivUIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { uint64_t d = unsignedOf(b, w); return d ? int64_t(unsignedOf(a, w) / d) : 0; }); return success(); }
  if (isa<arith::RemUIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { uint64_t d = unsignedOf(b, w); return d ? int64_t(unsignedOf(a, w) % d) : 0; }); return success(); }
  if (isa<arith::CeilDivSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { if (!b) return int64_t(0); if (b == -1) return int64_t(0 - uint64_t(a)); int64_t q = a / b; return (a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q; }); return success(); }
  if (isa<arith::FloorDivSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { if (!b) return int64_t(0); if (b == -1) return int64_t(0 - uint64_t(a)); int64_t q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q; }); return success(); }
  if (isa<arith::CeilDivUIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { uint64_t d = unsignedOf(b, w); return d ? int64_t((unsignedOf(a, w) + d - 1) / d) : 0; }); return success(); }
  if (isa<arith::AndIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return a & b; }); return success(); }
  if (isa<arith::OrIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return a | b; }); return success(); }
  if (isa<arith::XOrIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return a ^ b; }); return success(); }
  if (isa<arith::ShLIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { return b < 0 || b >= w ? 0 : int64_t(uint64_t(a) << b); }); return success(); }
  if (isa<arith::ShRSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { return b < 0 || b >= w ? 0 : a >> b; }); return success(); }
  if (isa<arith::ShRUIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { return b < 0 || b >= w ? 0 : int64_t(unsignedOf(a, w) >> b); }); return success(); }
  if (isa<arith::MaxSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return std::max(a, b); }); return success(); }
  if (isa<arith::MinSIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned) { return std::min(a, b); }); return success(); }
  if (isa<arith::MaxUIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { return unsignedOf(a, w) > unsignedOf(b, w) ? a : b; }); return success(); }
  if (isa<arith::MinUIOp>(op)) { intBinary(op, [](int64_t a, int64_t b, unsigned w) { return unsignedOf(a, w) < unsignedOf(b, w) ? a : b; }); return success(); }
  // clang-format on
  if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    unsigned a = slots.lookup(cmp.getLhs()), b = slots.lookup(cmp.getRhs());
    arith::CmpFPredicate p = cmp.getPredicate();
    emit(op, [=](V v) {
      Scalar r;
      r.i = compareFloats(p, v[a].f, v[b].f);
      return r;
    });
    return success();
  }
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    unsigned a = slots.lookup(cmp.getLhs()), b = slots.lookup(cmp.getRhs());
    arith::CmpIPredicate p = cmp.getPredicate();
    unsigned width = widthOf(cmp.getLhs().getType());
    emit(op, [=](V v) {
      Scalar r;
      r.i = compareIntegers(p, v[a].i, v[b].i, width);
      return r;
    });
    return success();
  }
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    unsigned c = slots.lookup(select.getCondition()),
             t = slots.lookup(select.getTrueValue()),
             f = slots.lookup(select.getFalseValue());
    emit(op, [=](V v) { return v[c].i ? v[t] : v[f]; });
    return success();
  }
  // Casts.
  unsigned a = op->getNumOperands() ? slots.lookup(op->getOperand(0)) : 0;
  Type from = op->getNumOperands() ? op->getOperand(0).getType() : Type();
  Type to = op->getResult(0).getType();
  unsigned fromWidth = from ? widthOf(from) : 64, toWidth = widthOf(to);
  auto roundTo = [](Type type, double value) {
    if (type.isF32())
      return double(float(value));
    return value; // f64; f16/bf16 results are rare in modifiers
  };
  if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp>(op)) {
    emit(op, [=](V v) {
      Scalar r;
      r.i = wrap(v[a].i, toWidth);
      return r;
    });
    return success();
  }
  if (isa<arith::IndexCastUIOp, arith::ExtUIOp>(op)) {
    emit(op, [=](V v) {
      Scalar r;
      r.i = wrap(int64_t(unsignedOf(v[a].i, fromWidth)), toWidth);
      return r;
    });
    return success();
  }
  if (isa<arith::SIToFPOp, arith::UIToFPOp>(op)) {
    bool isUnsigned = isa<arith::UIToFPOp>(op);
    emit(op, [=](V v) {
      Scalar r;
      r.f = roundTo(to, isUnsigned ? double(unsignedOf(v[a].i, fromWidth))
                                   : double(v[a].i));
      return r;
    });
    return success();
  }
  if (isa<arith::FPToSIOp, arith::FPToUIOp>(op)) {
    emit(op, [=](V v) {
      // NaN and values past int64 have no integer: 0 (C++ leaves it
      // undefined).
      double t = std::trunc(v[a].f);
      Scalar r;
      r.i = std::fabs(t) < 9.2e18 ? wrap(int64_t(t), toWidth) : 0;
      return r;
    });
    return success();
  }
  if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
    emit(op, [=](V v) {
      Scalar r;
      r.f = roundTo(to, v[a].f);
      return r;
    });
    return success();
  }
  return op->emitOpError("interpreter: not supported in a modifier");
}

LogicalResult ScalarProgramBuilder::addMath(Operation *op) {
  // clang-format off
  using D = double;
  if (isa<math::AbsFOp>(op)) { floatUnary(op, [](D a) { return std::fabs(a); }); return success(); }
  if (isa<math::TanhOp>(op)) { floatUnary(op, [](D a) { return std::tanh(a); }); return success(); }
  if (isa<math::ExpOp>(op)) { floatUnary(op, [](D a) { return std::exp(a); }); return success(); }
  if (isa<math::Exp2Op>(op)) { floatUnary(op, [](D a) { return std::exp2(a); }); return success(); }
  if (isa<math::ExpM1Op>(op)) { floatUnary(op, [](D a) { return std::expm1(a); }); return success(); }
  if (isa<math::LogOp>(op)) { floatUnary(op, [](D a) { return std::log(a); }); return success(); }
  if (isa<math::Log2Op>(op)) { floatUnary(op, [](D a) { return std::log2(a); }); return success(); }
  if (isa<math::Log10Op>(op)) { floatUnary(op, [](D a) { return std::log10(a); }); return success(); }
  if (isa<math::Log1pOp>(op)) { floatUnary(op, [](D a) { return std::log1p(a); }); return success(); }
  if (isa<math::SqrtOp>(op)) { floatUnary(op, [](D a) { return std::sqrt(a); }); return success(); }
  if (isa<math::RsqrtOp>(op)) { floatUnary(op, [](D a) { return 1.0 / std::sqrt(a); }); return success(); }
  if (isa<math::ErfOp>(op)) { floatUnary(op, [](D a) { return std::erf(a); }); return success(); }
  if (isa<math::SinOp>(op)) { floatUnary(op, [](D a) { return std::sin(a); }); return success(); }
  if (isa<math::CosOp>(op)) { floatUnary(op, [](D a) { return std::cos(a); }); return success(); }
  if (isa<math::AtanOp>(op)) { floatUnary(op, [](D a) { return std::atan(a); }); return success(); }
  if (isa<math::FloorOp>(op)) { floatUnary(op, [](D a) { return std::floor(a); }); return success(); }
  if (isa<math::CeilOp>(op)) { floatUnary(op, [](D a) { return std::ceil(a); }); return success(); }
  if (isa<math::RoundOp>(op)) { floatUnary(op, [](D a) { return std::round(a); }); return success(); }
  if (isa<math::TruncOp>(op)) { floatUnary(op, [](D a) { return std::trunc(a); }); return success(); }
  if (isa<math::PowFOp>(op)) { floatBinary(op, [](D a, D b) { return std::pow(a, b); }); return success(); }
  if (isa<math::Atan2Op>(op)) { floatBinary(op, [](D a, D b) { return std::atan2(a, b); }); return success(); }
  if (isa<math::CopySignOp>(op)) { floatBinary(op, [](D a, D b) { return std::copysign(a, b); }); return success(); }
  if (isa<math::AbsIOp>(op)) { intBinary(op, [](int64_t a, int64_t, unsigned) { return a < 0 ? int64_t(0 - uint64_t(a)) : a; }); return success(); }
  // clang-format on
  if (auto fma = dyn_cast<math::FmaOp>(op)) {
    unsigned a = slots.lookup(fma.getA()), b = slots.lookup(fma.getB()),
             c = slots.lookup(fma.getC());
    emit(op, [=](const std::vector<Scalar> &v) {
      Scalar r;
      r.f = v[a].f * v[b].f + v[c].f;
      return r;
    });
    return success();
  }
  return op->emitOpError("interpreter: not supported in a modifier");
}

LogicalResult
ScalarProgramBuilder::addOp(Operation *op,
                            const std::vector<flashc::HostCapture> *captures,
                            const DenseMap<Value, unsigned> &captureOf) {
  if (auto load = dyn_cast<memref::LoadOp>(op)) {
    auto it = captureOf.find(load.getMemRef());
    if (it == captureOf.end() || !captures)
      return op->emitOpError("interpreter: loads only from captures");
    const flashc::HostCapture *capture = &(*captures)[it->second];
    SmallVector<unsigned> indices;
    for (Value index : load.getIndices())
      indices.push_back(slots.lookup(index));
    bool isFloat = isa<FloatType>(load.getType());
    emit(op, [=](const std::vector<Scalar> &v) {
      // Row-major; an index out of bounds reads NaN (or 0): the checks
      // then fail instead of reading past the data.
      int64_t flat = 0;
      bool inside = true;
      for (size_t d = 0; d < indices.size(); ++d) {
        int64_t index = v[indices[d]].i;
        inside &= index >= 0 && index < capture->sizes[d];
        flat = flat * capture->sizes[d] + index;
      }
      Scalar r;
      double value = inside ? capture->values[flat] : NAN;
      if (isFloat)
        r.f = value;
      else
        r.i = inside ? int64_t(value) : 0;
      return r;
    });
    return success();
  }
  if (isa<arith::ArithDialect>(op->getDialect()))
    return addArith(op);
  if (isa<math::MathDialect>(op->getDialect()))
    return addMath(op);
  return op->emitOpError("interpreter: not supported in a modifier");
}

FailureOr<ScalarProgram>
ScalarProgram::fromRegion(Region &region, unsigned firstCapture,
                          const std::vector<flashc::HostCapture> *captures) {
  ScalarProgram program;
  ScalarProgramBuilder builder(program);
  DenseMap<Value, unsigned> captureOf;
  Block &body = region.front();
  for (BlockArgument arg : body.getArguments()) {
    if (isa<MemRefType>(arg.getType())) {
      captureOf[arg] = arg.getArgNumber() - firstCapture;
      continue;
    }
    builder.slots[arg] = builder.newSlot();
    ++program.numInputs;
  }
  for (Operation &op : body.without_terminator())
    if (failed(builder.addOp(&op, captures, captureOf)))
      return failure();
  program.result = builder.slots.lookup(body.getTerminator()->getOperand(0));
  return program;
}

FailureOr<ScalarProgram> ScalarProgram::fromElementwise(Operation *op,
                                                        unsigned scoreOperand) {
  ScalarProgram program;
  ScalarProgramBuilder builder(program);
  Value score = op->getOperand(scoreOperand);
  builder.slots[score] = builder.newSlot();
  program.numInputs = 1;
  for (Value operand : op->getOperands()) {
    if (operand == score)
      continue;
    auto constant = operand.getDefiningOp<arith::ConstantOp>();
    auto splat = constant ? dyn_cast<SplatElementsAttr>(constant.getValue())
                          : SplatElementsAttr();
    if (!splat || !isa<FloatType>(splat.getElementType()))
      return op->emitOpError("interpreter: an elementwise op on scores takes "
                             "float splat constants besides them");
    Scalar value;
    value.f = splat.getSplatValue<FloatAttr>().getValueAsDouble();
    builder.slots[operand] = builder.newSlot(value);
  }
  // The op itself on scalars: the same semantics as in a region.
  if (failed(builder.addOp(op, /*captures=*/nullptr,
                           /*captureOf=*/DenseMap<Value, unsigned>())))
    return failure();
  program.result = builder.slots.lookup(op->getResult(0));
  return program;
}

Scalar ScalarProgram::run(ArrayRef<Scalar> inputs) const {
  std::vector<Scalar> values = initial;
  for (unsigned i = 0; i < numInputs && i < inputs.size(); ++i)
    values[i] = inputs[i];
  for (const auto &[slot, step] : steps)
    values[slot] = step(values);
  return values[result];
}

void ScalarProgram::applyToTile(bool score, std::vector<float> &scores,
                                int64_t rows, int64_t cols,
                                const TileCoordinates &at,
                                ArrayRef<Scalar> captures) const {
  std::vector<Scalar> inputs;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float &element = scores[i * cols + j];
      int64_t query = at.row + i, key = at.col + j;
      if (at.transposed)
        std::swap(query, key);
      inputs.clear();
      if (score)
        inputs.push_back(Scalar{element, 0});
      for (int64_t coordinate :
           {at.batch, at.head, query, key, at.seqQ, at.seqK})
        inputs.push_back(Scalar{0, coordinate});
      llvm::append_range(inputs, captures);
      Scalar result = run(inputs);
      if (score)
        element = static_cast<float>(result.f);
      else if (!result.i)
        element = -INFINITY;
    }
}
