"""Tracing Python score and mask modifiers into flash.attention's regions.

A modifier is a plain Python function in FlexAttention's form:

    def softcap(score, b, h, q_idx, kv_idx):
        return 50 * torch.tanh(score / 50)

    def window(b, h, q_idx, kv_idx):
        return (kv_idx <= q_idx) & (q_idx - kv_idx < 256)

It is called once with stand-in values that record what it does: Python
arithmetic and comparisons, `&`, `|`, `~`, `torch.where`, `torch.tanh`,
`exp`, `log`, `abs`, `sqrt`, `maximum`, `minimum` (or the same names from
this module, without torch), and indexing captured tensors by the index
arguments (`slopes[h]`, `doc_ids[b, q_idx]`). The record becomes the
region's MLIR text; the captured tensors become the kernel's captures. Code
that branches on a traced value (`if score > 0:`) cannot be traced and
raises TypeError: use `where`. The index arguments are below
COORDINATE_LIMIT (calls past it are refused), so that the trace can keep
index arithmetic that fits in 32 bits there when it converts to f32.

For gradients (docs/Backward.md) the same function is also called on torch
tensors of scores and broadcast index grids; this module's helpers then
act on the tensors.
"""

import builtins
import math
import numbers
import struct
import threading

__all__ = ["trace", "where", "tanh", "exp", "log", "abs", "sqrt", "maximum",
           "minimum", "TensorSpec"]

_TORCH_ELEMENTS = {"torch.float32": "f32", "torch.float16": "f16",
                   "torch.bfloat16": "bf16", "torch.int32": "i32",
                   "torch.int64": "i64"}


class _Trace:
    """The ops of one region, and the captures shared by both regions."""

    def __init__(self, captures, prefix):
        self.lines = []
        self.count = 0
        self.prefix = prefix  # the region's names: %<prefix>...
        self.captures = captures  # [(tensor, memref type)], shared

    def emit(self, text, type_, bounds=None):
        name = f"%{self.prefix}{self.count}"
        self.count += 1
        self.lines.append(f"    {name} = {text}")
        return _Value(self, name, type_, bounds)

    def constant(self, value, type_):
        if type_ == "i1":
            return self.emit(f"arith.constant {'true' if value else 'false'}", "i1")
        if type_ == "f32":
            return self.emit(f"arith.constant {_float_literal(value)} : f32",
                             "f32")
        return self.emit(f"arith.constant {int(value)} : {type_}", type_,
                         (int(value), int(value)))

    def capture(self, tensor):
        for index, (known, _) in enumerate(self.captures):
            if known is tensor:
                return index
        element = _TORCH_ELEMENTS.get(str(getattr(tensor, "dtype", None)))
        if element is None or not hasattr(tensor, "dim"):
            raise TypeError("a modifier may index only torch tensors of "
                            f"{sorted(_TORCH_ELEMENTS)}; got {type(tensor).__name__} "
                            f"{getattr(tensor, 'dtype', '')}")
        shape = "x".join("?" * tensor.dim())
        self.captures.append((tensor, f"memref<{shape}x{element}>"))
        return len(self.captures) - 1


def _float_literal(value):
    """An f32 literal MLIR parses: '%.9e' always has a '.', and inf and nan
    are written as their bits."""
    value = float(value)
    if math.isfinite(value):
        return f"{value:.9e}"
    return "0x" + struct.pack(">f", value).hex().upper()


def _lift(trace, x, like=None):
    """`x` as a traced value: Python numbers become constants."""
    if isinstance(x, _Value):
        return x
    if isinstance(x, bool):
        return trace.constant(x, "i1")
    if isinstance(x, numbers.Integral) and (like is None or like.type != "f32"):
        return trace.constant(x, "index")
    if isinstance(x, numbers.Real):
        return trace.constant(x, "f32")
    raise TypeError(f"a modifier cannot use {type(x).__name__} values")


def _to_f32(v):
    if v.type == "f32":
        return v
    if v.type in ("f16", "bf16"):
        return v.trace.emit(f"arith.extf {v.name} : {v.type} to f32", "f32")
    if v.type == "index":
        # Through i32 where the value's bounds allow: a 64-bit conversion
        # per element costs the GPU several times a 32-bit one.
        bits = "i32" if _fits(v.bounds, 32) else "i64"
        i = v.trace.emit(f"arith.index_cast {v.name} : index to {bits}", bits)
        return v.trace.emit(f"arith.sitofp {i.name} : {bits} to f32", "f32")
    if v.type in ("i32", "i64"):
        return v.trace.emit(f"arith.sitofp {v.name} : {v.type} to f32", "f32")
    raise TypeError(f"a {v.type} value cannot be used as a number")


def _to_index(v):
    if v.type == "index":
        return v
    if v.type in ("i32", "i64"):
        return v.trace.emit(f"arith.index_cast {v.name} : {v.type} to index",
                            "index", _I32_BOUNDS if v.type == "i32" else None)
    raise TypeError(f"a {v.type} value cannot be used as an index")


# Every coordinate a modifier receives (batch, head, query and key
# positions) is below COORDINATE_LIMIT: calls with larger dimensions are
# refused (flashc._check_coordinates). The padding rows and columns of a
# sequence's last block reach past its length by less than a block, hence
# the headroom. Index values carry bounds derived from these, so that a
# difference of positions converts to f32 through i32. (Positions that a
# modifier computes from loaded data, as ring attention's global ones, are
# bounded by the i32 they load.)
COORDINATE_LIMIT = 2**30
_COORDINATE_BOUNDS = (0, COORDINATE_LIMIT + 255)
_I32_BOUNDS = (-2**31, 2**31 - 1)


def _fits(bounds, bits):
    return bounds is not None and -2**(bits - 1) <= bounds[0] and \
        bounds[1] < 2**(bits - 1)


def _index_bounds(op, a, b):
    """The bounds of index a `op` b from the operands' (None: unknown)."""
    if a is None or b is None:
        return None
    if op == "+":
        return a[0] + b[0], a[1] + b[1]
    if op == "-":
        return a[0] - b[1], a[1] - b[0]
    if op == "*":
        products = [x * y for x in a for y in b]
        return min(products), max(products)
    if op in ("//", "%") and b[0] == b[1] and b[0] > 0:  # by a constant
        c = b[0]
        return (a[0] // c, a[1] // c) if op == "//" else (0, c - 1)
    return None


def _unify(a, b):
    """Both as f32, both as index, or both as i1."""
    if a.type == "i1" or b.type == "i1":
        if a.type != b.type:
            raise TypeError("a comparison result combines only with another "
                            "one (use where to choose values)")
        return a, b
    if "f32" in (a.type, b.type) or a.type in ("f16", "bf16") or \
            b.type in ("f16", "bf16"):
        return _to_f32(a), _to_f32(b)
    return _to_index(a), _to_index(b)


_FLOAT_OPS = {"+": "addf", "-": "subf", "*": "mulf", "/": "divf"}
_INT_OPS = {"+": "addi", "-": "subi", "*": "muli", "//": "floordivsi"}
_COMPARE = {"<": ("olt", "slt"), "<=": ("ole", "sle"), ">": ("ogt", "sgt"),
            ">=": ("oge", "sge"), "==": ("oeq", "eq"), "!=": ("une", "ne")}


def _binary(op, x, y):
    trace = x.trace if isinstance(x, _Value) else y.trace
    a = _lift(trace, x, y if isinstance(y, _Value) else None)
    b = _lift(trace, y, a)
    if op == "/":
        a, b = _to_f32(a), _to_f32(b)
    else:
        a, b = _unify(a, b)
    if op in _COMPARE:
        fp, ip = _COMPARE[op]
        if a.type == "f32":
            return trace.emit(f"arith.cmpf {fp}, {a.name}, {b.name} : f32", "i1")
        if a.type == "i1":
            raise TypeError("compare the values, not comparison results")
        return trace.emit(f"arith.cmpi {ip}, {a.name}, {b.name} : index", "i1")
    if a.type == "i1":
        name = {"&": "andi", "|": "ori", "^": "xori"}.get(op)
        if name is None:
            raise TypeError(f"'{op}' does not apply to comparison results")
        return trace.emit(f"arith.{name} {a.name}, {b.name} : i1", "i1")
    bounds = _index_bounds(op, a.bounds, b.bounds) if a.type == "index" \
        else None
    if op == "%" and a.type == "index":
        return _floor_mod(trace, a, b, bounds)
    table = _FLOAT_OPS if a.type == "f32" else _INT_OPS
    if op not in table:
        raise TypeError(f"'{op}' does not apply to {a.type} values")
    return trace.emit(f"arith.{table[op]} {a.name}, {b.name} : {a.type}",
                      a.type, bounds)


def _floor_mod(trace, a, b, bounds):
    """Python's (and torch's) a % b: the sign of b, not of a (remsi);
    `bounds` the result's."""
    r = trace.emit(f"arith.remsi {a.name}, {b.name} : index", "index")
    zero = trace.constant(0, "index")
    nonzero = trace.emit(f"arith.cmpi ne, {r.name}, {zero.name} : index", "i1")
    r_neg = trace.emit(f"arith.cmpi slt, {r.name}, {zero.name} : index", "i1")
    b_neg = trace.emit(f"arith.cmpi slt, {b.name}, {zero.name} : index", "i1")
    signs = trace.emit(f"arith.xori {r_neg.name}, {b_neg.name} : i1", "i1")
    fix = trace.emit(f"arith.andi {nonzero.name}, {signs.name} : i1", "i1")
    moved = trace.emit(f"arith.addi {r.name}, {b.name} : index", "index")
    return trace.emit(f"arith.select {fix.name}, {moved.name}, {r.name} : index",
                      "index", bounds)


class _Value:
    """A traced value: an SSA name of the region and its type; an index
    value's (lowest, highest) bounds, or None where unknown."""

    def __init__(self, trace, name, type_, bounds=None):
        self.trace, self.name, self.type = trace, name, type_
        self.bounds = bounds

    def __bool__(self):
        raise TypeError("a modifier cannot branch on a traced value (an `if`, "
                        "`and`, `or`, `not` or chained comparison): use "
                        "where(), &, | and ~")

    __add__ = lambda s, o: _binary("+", s, o)
    __radd__ = lambda s, o: _binary("+", o, s)
    __sub__ = lambda s, o: _binary("-", s, o)
    __rsub__ = lambda s, o: _binary("-", o, s)
    __mul__ = lambda s, o: _binary("*", s, o)
    __rmul__ = lambda s, o: _binary("*", o, s)
    __truediv__ = lambda s, o: _binary("/", s, o)
    __rtruediv__ = lambda s, o: _binary("/", o, s)
    __floordiv__ = lambda s, o: _binary("//", s, o)
    __mod__ = lambda s, o: _binary("%", s, o)
    __rmod__ = lambda s, o: _binary("%", o, s)
    __rfloordiv__ = lambda s, o: _binary("//", o, s)
    __rxor__ = lambda s, o: _binary("^", o, s)
    __lt__ = lambda s, o: _binary("<", s, o)
    __le__ = lambda s, o: _binary("<=", s, o)
    __gt__ = lambda s, o: _binary(">", s, o)
    __ge__ = lambda s, o: _binary(">=", s, o)
    __eq__ = lambda s, o: _binary("==", s, o)
    __ne__ = lambda s, o: _binary("!=", s, o)
    __and__ = lambda s, o: _binary("&", s, o)
    __rand__ = lambda s, o: _binary("&", o, s)
    __or__ = lambda s, o: _binary("|", s, o)
    __ror__ = lambda s, o: _binary("|", o, s)
    __xor__ = lambda s, o: _binary("^", s, o)
    __hash__ = object.__hash__

    def __neg__(self):
        is_float = self.type in ("f32", "f16", "bf16")
        return _binary("-", 0.0 if is_float else 0, self)

    def __invert__(self):
        if self.type != "i1":
            raise TypeError("~ applies to comparison results")
        return _binary("^", self, True)

    def __abs__(self):
        return abs(self)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """torch's functions on traced values, and indexing captured
        tensors with them."""
        import torch
        kwargs = kwargs or {}
        if func is torch.Tensor.__getitem__:
            return _load(args[0], args[1])
        names = {torch.tanh: tanh, torch.exp: exp, torch.log: log,
                 torch.abs: abs, torch.sqrt: sqrt, torch.where: where,
                 torch.maximum: maximum, torch.minimum: minimum}
        if func in names and not kwargs:
            return names[func](*args)
        raise TypeError(f"a modifier cannot use {getattr(func, '__name__', func)}")


class TensorSpec:
    """A captured tensor's stand-in, for tracing without torch (to compile
    a modifier, or warm the disk cache, on a machine without torch or a
    GPU): what the trace reads of a tensor, its dtype as torch names it
    ("torch.int32") and its rank."""

    def __init__(self, dtype, rank):
        self.dtype, self.rank = dtype, rank

    def dim(self):
        return self.rank

    def __getitem__(self, index):
        return _load(self, index)


# The region being traced (_trace_region), for loads at constant indices;
# per thread, so that threads may trace at once (autograd's backward
# thread traces the modifiers while the main thread may run a forward).
_tracing = threading.local()


def _load(tensor, index):
    indices = index if isinstance(index, tuple) else (index,)
    trace = next((i.trace for i in indices if isinstance(i, _Value)),
                 getattr(_tracing, "trace", None))
    if trace is None:
        raise TypeError("captured tensors are read inside a modifier")
    if len(indices) != tensor.dim():
        raise TypeError(f"index all {tensor.dim()} dims of a captured tensor "
                        f"(got {len(indices)})")
    position = trace.capture(tensor)
    memref = trace.captures[position][1]
    names = ", ".join(_to_index(_lift(trace, i)).name for i in indices)
    element = memref[memref.rindex("x") + 1:-1]
    return trace.emit(f"memref.load %{trace.prefix}cap{position}[{names}] : "
                      f"{memref}", element)


def _unary(name, x):
    if not isinstance(x, _Value):
        # A tensor (the backward evaluates modifiers on torch tensors), or
        # a number.
        if isinstance(x, numbers.Number):
            return getattr(math, name)(x)
        return getattr(x, name)()
    v = _to_f32(x)
    op = "math.absf" if name == "abs" else f"math.{name}"
    return v.trace.emit(f"{op} {v.name} : f32", "f32")


def tanh(x): return _unary("tanh", x)
def exp(x): return _unary("exp", x)
def log(x): return _unary("log", x)
def sqrt(x): return _unary("sqrt", x)


def abs(x):  # noqa: A001 - the name users expect
    if isinstance(x, _Value) and x.type == "index":
        zero = _lift(x.trace, 0)
        return where(x < zero, zero - x, x)
    if isinstance(x, _Value):
        return _unary("abs", x)
    return builtins.abs(x)


def where(condition, a, b):
    if not any(isinstance(v, _Value) for v in (condition, a, b)):
        import torch  # evaluated on tensors (the backward), not traced
        return torch.where(condition, a, b)
    trace = next(v.trace for v in (condition, a, b) if isinstance(v, _Value))
    c = _lift(trace, condition)
    if c.type != "i1":
        raise TypeError("where's condition must be a comparison result")
    x = _lift(trace, a, b if isinstance(b, _Value) else None)
    y = _lift(trace, b, x)
    x, y = _unify(x, y)
    bounds = None
    if x.bounds is not None and y.bounds is not None:
        bounds = (min(x.bounds[0], y.bounds[0]), max(x.bounds[1], y.bounds[1]))
    return trace.emit(f"arith.select {c.name}, {x.name}, {y.name} : {x.type}",
                      x.type, bounds)


def maximum(a, b):
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return builtins.max(a, b)
    if not isinstance(a, _Value) and not isinstance(b, _Value):
        return where(a > b, a, b)
    return where(_binary(">", a, b), a, b)


def minimum(a, b):
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return builtins.min(a, b)
    if not isinstance(a, _Value) and not isinstance(b, _Value):
        return where(a < b, a, b)
    return where(_binary("<", a, b), a, b)


_COORDS = ("b", "h", "qi", "kv", "sq", "sk")


def _trace_region(kind, fn, captures):
    p = "s" if kind == "score_mod" else "m"
    trace = _Trace(captures, p)
    outer = getattr(_tracing, "trace", None)
    _tracing.trace = trace
    try:
        return _trace_body(kind, fn, trace)
    finally:
        _tracing.trace = outer


def _trace_body(kind, fn, trace):
    p = trace.prefix
    coords = [_Value(trace, f"%{p}{n}", "index", _COORDINATE_BOUNDS)
              for n in _COORDS[:4]]
    if kind == "score_mod":
        result = fn(_Value(trace, f"%{p}x", "f32"), *coords)
        result = _to_f32(_lift(trace, result))
        yield_type = "f32"
    else:
        result = _lift(trace, fn(*coords))
        if result.type != "i1":
            raise TypeError("mask_mod must return a comparison result (a "
                            "boolean), got a number")
        yield_type = "i1"
    return trace, f"    flash.yield {result.name} : {yield_type}"


def trace(score_mod=None, mask_mod=None):
    """The regions of `score_mod` and `mask_mod` (Python functions or None)
    as MLIR text, and the captured tensors they index, in order:
    (text, [tensor, ...], [memref type, ...])."""
    captures = []
    traced = []
    for kind, fn in (("score_mod", score_mod), ("mask_mod", mask_mod)):
        if fn is None:
            continue
        if not callable(fn):
            raise TypeError(f"{kind} must be a function, got {type(fn).__name__}")
        traced.append((kind, *_trace_region(kind, fn, captures)))
    text = []
    for kind, trace_, yield_line in traced:
        p = trace_.prefix
        args = ", ".join(f"%{p}{n}: index" for n in _COORDS)
        if kind == "score_mod":
            args = f"%{p}x: f32, " + args
        capture_args = "".join(f", %{p}cap{i}: {t}"
                               for i, (_, t) in enumerate(captures))
        text.append(f"  {kind} {{\n  ^bb0({args}{capture_args}):\n" +
                    "\n".join(trace_.lines + [yield_line]) + "\n  }")
    return "\n".join(text), [c for c, _ in captures], [t for _, t in captures]
