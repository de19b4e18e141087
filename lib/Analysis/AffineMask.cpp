//===- AffineMask.cpp - masks that are affine in q_idx and kv_idx ---------===//

#include "flashc/Analysis/AffineMask.h"

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

using namespace mlir;
using namespace mlir::flash;

namespace {
/// The region's argument positions (mask_mod: batch, head, q, kv, seq_q,
/// seq_k).
constexpr unsigned kQueryArg = 2, kKeyArg = 3, kLeadingArgs = 6;

/// q·q + kv·kv + Σ coefficient·argument + constant, over index values.
struct Form {
  int64_t q = 0, kv = 0, constant = 0;
  SmallVector<std::pair<unsigned, int64_t>> terms; // (argument, coefficient)

  bool isConstant() const { return !q && !kv && terms.empty(); }
  /// A lone variable or a constant >= 0: its unsigned and signed readings
  /// agree, so an unsigned compare of two such forms is a signed one.
  bool isSurelyNonNegative() const {
    if (isConstant())
      return constant >= 0;
    return constant == 0 && q + kv + terms.size() == 1 && q >= 0 && kv >= 0 &&
           (terms.empty() || terms[0].second == 1);
  }
};

Form combine(const Form &a, const Form &b, int64_t sign) {
  Form r = a;
  r.q += sign * b.q;
  r.kv += sign * b.kv;
  r.constant += sign * b.constant;
  for (auto [arg, coefficient] : b.terms)
    r.terms.push_back({arg, sign * coefficient});
  return r;
}

Form scale(const Form &a, int64_t c) {
  Form r = a;
  r.q *= c;
  r.kv *= c;
  r.constant *= c;
  for (auto &term : r.terms)
    term.second *= c;
  return r;
}
} // namespace

struct AffineMask::Formula {
  enum class Kind { True, False, Atom, And, Or } kind;
  /// Atom: `d pred 0`, d the difference of the compared forms; the
  /// predicate is signed (unsigned ones are rewritten or refused).
  arith::CmpIPredicate pred = arith::CmpIPredicate::eq;
  Form d;
  SmallVector<std::shared_ptr<Formula>> children;
};

using FormulaPtr = std::shared_ptr<AffineMask::Formula>;
using Kind = AffineMask::Formula::Kind;

static FormulaPtr constantFormula(bool value) {
  auto f = std::make_shared<AffineMask::Formula>();
  f->kind = value ? Kind::True : Kind::False;
  return f;
}

static FormulaPtr negate(const FormulaPtr &f) {
  auto r = std::make_shared<AffineMask::Formula>(*f);
  switch (f->kind) {
  case Kind::True:
    r->kind = Kind::False;
    break;
  case Kind::False:
    r->kind = Kind::True;
    break;
  case Kind::Atom:
    r->pred = arith::invertPredicate(f->pred);
    break;
  case Kind::And:
  case Kind::Or:
    r->kind = f->kind == Kind::And ? Kind::Or : Kind::And;
    for (FormulaPtr &child : r->children)
      child = negate(child);
    break;
  }
  return r;
}

static FormulaPtr junction(Kind kind, FormulaPtr a, FormulaPtr b) {
  auto f = std::make_shared<AffineMask::Formula>();
  f->kind = kind;
  f->children = {std::move(a), std::move(b)};
  return f;
}

/// The signed form of an unsigned compare of `lhs` and `rhs`, if sound.
static std::optional<arith::CmpIPredicate>
signedPredicate(arith::CmpIPredicate pred, const Form &lhs, const Form &rhs) {
  using P = arith::CmpIPredicate;
  switch (pred) {
  case P::eq:
  case P::ne:
  case P::slt:
  case P::sle:
  case P::sgt:
  case P::sge:
    return pred;
  default:
    break;
  }
  if (!lhs.isSurelyNonNegative() || !rhs.isSurelyNonNegative())
    return std::nullopt;
  switch (pred) {
  case P::ult:
    return P::slt;
  case P::ule:
    return P::sle;
  case P::ugt:
    return P::sgt;
  default:
    return P::sge;
  }
}

std::optional<AffineMask> AffineMask::analyze(Region &region) {
  DenseMap<Value, Form> forms;
  DenseMap<Value, FormulaPtr> formulas;
  Block &body = region.front();
  for (BlockArgument arg : body.getArguments()) {
    // Captures (after the six coordinates) are data: a mask comparing with
    // one is not affine here (the block map handles it).
    if (!arg.getType().isIndex() || arg.getArgNumber() >= kLeadingArgs)
      continue;
    Form form;
    if (arg.getArgNumber() == kQueryArg)
      form.q = 1;
    else if (arg.getArgNumber() == kKeyArg)
      form.kv = 1;
    else
      form.terms.push_back({arg.getArgNumber(), 1});
    forms[arg] = form;
  }
  auto formOf = [&](Value v) -> const Form * {
    auto it = forms.find(v);
    return it == forms.end() ? nullptr : &it->second;
  };
  auto formulaOf = [&](Value v) -> FormulaPtr {
    auto it = formulas.find(v);
    return it == formulas.end() ? nullptr : it->second;
  };
  for (Operation &op : body.without_terminator()) {
    if (op.getNumResults() != 1)
      continue;
    Value result = op.getResult(0);
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      auto integer = dyn_cast<IntegerAttr>(constant.getValue());
      if (!integer)
        continue;
      if (result.getType().isInteger(1))
        formulas[result] = constantFormula(integer.getValue().getBoolValue());
      else
        forms[result].constant = integer.getValue().getSExtValue();
      continue;
    }
    if (isa<arith::AddIOp, arith::SubIOp>(op)) {
      const Form *a = formOf(op.getOperand(0)), *b = formOf(op.getOperand(1));
      if (a && b)
        forms[result] = combine(*a, *b, isa<arith::AddIOp>(op) ? 1 : -1);
      continue;
    }
    if (isa<arith::MulIOp>(op)) {
      const Form *a = formOf(op.getOperand(0)), *b = formOf(op.getOperand(1));
      if (a && b && b->isConstant())
        forms[result] = scale(*a, b->constant);
      else if (a && b && a->isConstant())
        forms[result] = scale(*b, a->constant);
      continue;
    }
    if (isa<arith::IndexCastOp, arith::ExtSIOp>(op)) {
      // Index sizes and coordinates fit any integer type they are cast to
      // in practice; a wrapping cast would make the mask non-affine.
      if (const Form *a = formOf(op.getOperand(0)))
        forms[result] = *a;
      continue;
    }
    if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
      const Form *lhs = formOf(cmp.getLhs()), *rhs = formOf(cmp.getRhs());
      if (!lhs || !rhs)
        continue;
      std::optional<arith::CmpIPredicate> pred =
          signedPredicate(cmp.getPredicate(), *lhs, *rhs);
      if (!pred)
        continue;
      auto atom = std::make_shared<Formula>();
      atom->kind = Kind::Atom;
      atom->pred = *pred;
      atom->d = combine(*lhs, *rhs, -1);
      formulas[result] = atom;
      continue;
    }
    if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op)) {
      FormulaPtr a = formulaOf(op.getOperand(0)),
                 b = formulaOf(op.getOperand(1));
      if (!a || !b)
        continue;
      if (isa<arith::XOrIOp>(op)) {
        // x ^ true is !x; other xors are not a junction of their sides.
        if (b->kind == Kind::True || a->kind == Kind::True)
          formulas[result] = negate(b->kind == Kind::True ? a : b);
        continue;
      }
      formulas[result] =
          junction(isa<arith::AndIOp>(op) ? Kind::And : Kind::Or, a, b);
      continue;
    }
    if (auto select = dyn_cast<arith::SelectOp>(op)) {
      FormulaPtr c = formulaOf(select.getCondition()),
                 t = formulaOf(select.getTrueValue()),
                 f = formulaOf(select.getFalseValue());
      if (c && t && f)
        formulas[result] = junction(Kind::Or, junction(Kind::And, c, t),
                                    junction(Kind::And, negate(c), f));
    }
  }
  FormulaPtr root = formulaOf(body.getTerminator()->getOperand(0));
  if (!root)
    return std::nullopt;
  return AffineMask(root);
}

namespace {
/// Emits index arithmetic for the bounds and tests.
struct Emitter {
  OpBuilder &b;
  Location loc;
  ValueRange args;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t c) {
    return c == 1 ? x : arith::MulIOp::create(b, loc, x, idx(c)).getResult();
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  /// The form's value with q = `q` and kv = `kv` (either may be null when
  /// its coefficient is 0).
  Value value(const Form &f, Value q, Value kv) {
    Value sum = idx(f.constant);
    if (f.q)
      sum = add(sum, mul(q, f.q));
    if (f.kv)
      sum = add(sum, mul(kv, f.kv));
    for (auto [arg, coefficient] : f.terms)
      sum = add(sum, mul(args[arg], coefficient));
    return sum;
  }
  Value both(Value x, Value y, bool isAnd) {
    if (isAnd)
      return arith::AndIOp::create(b, loc, x, y);
    return arith::OrIOp::create(b, loc, x, y);
  }
};

struct KeyRange {
  Value lower, upper; // [lower, upper); null: unbounded
};

/// An atom read from kv's side: `kv pred bound`, bound a form of q (and
/// the other arguments).
struct KvBound {
  Form bound;
  arith::CmpIPredicate pred;
};
} // namespace

/// The atom `f` as kv compared with a bound, or nothing where kv's
/// coefficient is not 1 or -1.
static std::optional<KvBound> kvBound(const AffineMask::Formula &f) {
  const Form &d = f.d;
  if (d.kv != 1 && d.kv != -1)
    return std::nullopt;
  // d = s·kv + E(q): kv compared with the bound -s·E(q).
  Form rest = d;
  rest.kv = 0;
  using P = arith::CmpIPredicate;
  P pred = f.pred;
  if (d.kv < 0)
    pred = pred == P::slt   ? P::sgt
           : pred == P::sle ? P::sge
           : pred == P::sgt ? P::slt
           : pred == P::sge ? P::sle
                            : pred; // eq and ne read the same
  return KvBound{scale(rest, -d.kv), pred};
}

/// The keys that queries [qLo, qHi] may see under `f`.
static KeyRange keyRange(Emitter &e, const AffineMask::Formula &f, Value qLo,
                         Value qHi) {
  switch (f.kind) {
  case Kind::True:
    return {};
  case Kind::False:
    return {Value(), e.idx(0)};
  case Kind::And:
  case Kind::Or: {
    bool isAnd = f.kind == Kind::And;
    KeyRange a = keyRange(e, *f.children[0], qLo, qHi);
    KeyRange b = keyRange(e, *f.children[1], qLo, qHi);
    // And: the tighter bound of either side; or: the looser, and none if
    // either side has none.
    auto pick = [&](Value x, Value y, bool larger) -> Value {
      if (!x || !y)
        return isAnd ? (x ? x : y) : Value();
      if (larger)
        return arith::MaxSIOp::create(e.b, e.loc, x, y);
      return arith::MinSIOp::create(e.b, e.loc, x, y);
    };
    return {pick(a.lower, b.lower, isAnd), pick(a.upper, b.upper, !isAnd)};
  }
  case Kind::Atom:
    break;
  }
  std::optional<KvBound> atom = kvBound(f);
  if (!atom)
    return {};
  const Form &bound = atom->bound;
  // The least and the largest bound over the queries.
  auto least = [&] { return e.value(bound, bound.q > 0 ? qLo : qHi, {}); };
  auto largest = [&] { return e.value(bound, bound.q > 0 ? qHi : qLo, {}); };
  auto plusOne = [&](Value v) { return e.add(v, e.idx(1)); };
  using P = arith::CmpIPredicate;
  switch (atom->pred) {
  case P::slt:
    return {Value(), largest()};
  case P::sle:
    return {Value(), plusOne(largest())};
  case P::sgt:
    return {plusOne(least()), Value()};
  case P::sge:
    return {least(), Value()};
  case P::eq:
    return {least(), plusOne(largest())};
  default:
    return {};
  }
}

namespace {
/// The keys one query q may see as [q + lower, q + upper), each side a
/// constant offset, or nothing where unbounded or not constant.
struct Offsets {
  std::optional<int64_t> lower, upper;
};
} // namespace

static Offsets offsets(const AffineMask::Formula &f) {
  switch (f.kind) {
  case Kind::True:
    return {};
  case Kind::False:
    return {0, 0}; // no key: the empty range at q
  case Kind::And:
  case Kind::Or: {
    bool isAnd = f.kind == Kind::And;
    Offsets a = offsets(*f.children[0]), b = offsets(*f.children[1]);
    // And: the tighter bound of either side; or: the looser, and none if
    // either side has none.
    auto pick = [&](std::optional<int64_t> x, std::optional<int64_t> y,
                    bool larger) -> std::optional<int64_t> {
      if (!x || !y)
        return isAnd ? (x ? x : y) : std::nullopt;
      return larger ? std::max(*x, *y) : std::min(*x, *y);
    };
    return {pick(a.lower, b.lower, isAnd), pick(a.upper, b.upper, !isAnd)};
  }
  case Kind::Atom:
    break;
  }
  // Bounds of the form q + c only.
  std::optional<KvBound> atom = kvBound(f);
  if (!atom || atom->bound.q != 1 || !atom->bound.terms.empty())
    return {};
  int64_t c = atom->bound.constant;
  using P = arith::CmpIPredicate;
  switch (atom->pred) {
  case P::slt:
    return {std::nullopt, c};
  case P::sle:
    return {std::nullopt, c + 1};
  case P::sgt:
    return {c + 1, std::nullopt};
  case P::sge:
    return {c, std::nullopt};
  case P::eq:
    return {c, c + 1};
  default:
    return {};
  }
}

std::optional<int64_t> AffineMask::keysPerQuery(bool causalTopLeft) const {
  Offsets o = offsets(*formula);
  if (causalTopLeft)
    o.upper = std::min<int64_t>(o.upper.value_or(1), 1);
  if (!o.lower || !o.upper)
    return std::nullopt;
  return std::max<int64_t>(0, *o.upper - *o.lower);
}

/// An i1: `f` holds for every query of [qLo, qHi] and key of [kvLo, kvHi].
static Value holdsOnBox(Emitter &e, const AffineMask::Formula &f, Value qLo,
                        Value qHi, Value kvLo, Value kvHi) {
  switch (f.kind) {
  case Kind::True:
    return arith::ConstantIntOp::create(e.b, e.loc, 1, 1);
  case Kind::False:
    return arith::ConstantIntOp::create(e.b, e.loc, 0, 1);
  case Kind::And:
  case Kind::Or:
    // Or: sound, not exact (each side may hold on a part of the box only).
    return e.both(holdsOnBox(e, *f.children[0], qLo, qHi, kvLo, kvHi),
                  holdsOnBox(e, *f.children[1], qLo, qHi, kvLo, kvHi),
                  f.kind == Kind::And);
  case Kind::Atom:
    break;
  }
  const Form &d = f.d;
  Value min = e.value(d, d.q > 0 ? qLo : qHi, d.kv > 0 ? kvLo : kvHi);
  Value max = e.value(d, d.q > 0 ? qHi : qLo, d.kv > 0 ? kvHi : kvLo);
  Value zero = e.idx(0);
  using P = arith::CmpIPredicate;
  switch (f.pred) {
  case P::slt:
    return e.cmp(P::slt, max, zero);
  case P::sle:
    return e.cmp(P::sle, max, zero);
  case P::sgt:
    return e.cmp(P::sgt, min, zero);
  case P::sge:
    return e.cmp(P::sge, min, zero);
  case P::eq:
    return e.both(e.cmp(P::eq, min, zero), e.cmp(P::eq, max, zero), true);
  default: // ne
    return e.both(e.cmp(P::slt, max, zero), e.cmp(P::sgt, min, zero), false);
  }
}

std::pair<Value, Value> AffineMask::emitKeyRange(OpBuilder &b, Location loc,
                                                 Value qLo, Value qHi,
                                                 ValueRange args) const {
  Emitter e{b, loc, args};
  KeyRange range = keyRange(e, *formula, qLo, qHi);
  return {range.lower, range.upper};
}

/// `f` with q and kv exchanged: what it says of the keys a query sees, the
/// result says of the queries that see a key.
static FormulaPtr exchangeQueryAndKey(const FormulaPtr &f) {
  auto r = std::make_shared<AffineMask::Formula>(*f);
  std::swap(r->d.q, r->d.kv);
  for (FormulaPtr &child : r->children)
    child = exchangeQueryAndKey(child);
  return r;
}

std::pair<Value, Value> AffineMask::emitQueryRange(OpBuilder &b, Location loc,
                                                   Value kvLo, Value kvHi,
                                                   ValueRange args) const {
  Emitter e{b, loc, args};
  KeyRange range = keyRange(e, *exchangeQueryAndKey(formula), kvLo, kvHi);
  return {range.lower, range.upper};
}

void AffineMask::narrowLoop(OpBuilder &b, Location loc, Value lo, Value hi,
                            ValueRange args, bool transposed, Value &lower,
                            Value &upper) const {
  auto [maskLower, maskUpper] = transposed
                                    ? emitQueryRange(b, loc, lo, hi, args)
                                    : emitKeyRange(b, loc, lo, hi, args);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  if (maskLower) {
    maskLower = arith::MaxSIOp::create(b, loc, maskLower, zero);
    lower = lower ? arith::MaxSIOp::create(b, loc, lower, maskLower).getResult()
                  : maskLower;
  }
  if (maskUpper)
    upper = arith::MaxSIOp::create(
        b, loc, arith::MinSIOp::create(b, loc, upper, maskUpper), zero);
}

Value AffineMask::emitAllSeen(OpBuilder &b, Location loc, Value qLo, Value qHi,
                              Value kvLo, Value kvHi, ValueRange args) const {
  Emitter e{b, loc, args};
  return holdsOnBox(e, *formula, qLo, qHi, kvLo, kvHi);
}
