#!/usr/bin/env python3
"""Gradients of flashc.attention against float64 autograd, torch.compile
and the custom ops' own checks.

    test_backward.py --warm   # here, with MLIR, no torch: the modifier kernels
    test_backward.py          # on the GPU machine (torch, runtime only)

The GPU machine's kernels come from a warmed cache (FLASHC_CACHE_DIR:
python/tests/warm_cache.py, and --warm for the modifier cases, whose
kernels depend on the traced functions). Prints one line per check and
'N passed, M failed'; exit 0 only if all passed.
"""
import os
import sys
import threading

import flashc
from flashc import _backward_kernels as backward_kernels
from flashc import mods as m

ARCH = "sm_90a"  # the H200 the GPU tests run on (flashc._device_arch)


def mod_cases(slopes, docs):
    """(name, keyword arguments of flashc.attention) of the modifiers whose
    gradients are checked: the functions run traced in the forward kernel
    and on tensors in the backward."""
    return [
        ("softcap", dict(causal=True,
                         score_mod=lambda s, b, h, q, kv: 20 * m.tanh(s / 20))),
        ("alibi", dict(causal=True,
                       score_mod=lambda s, b, h, q, kv: s + slopes[h] * (kv - q))),
        ("window", dict(causal=True,
                        mask_mod=lambda b, h, q, kv: q - kv < 100)),
        ("documents", dict(mask_mod=lambda b, h, q, kv: docs[b, q] == docs[b, kv])),
        ("causal documents", dict(causal=True, mask_mod=lambda b, h, q, kv:
                                  docs[b, q] == docs[b, kv])),
        ("bias_where", dict(score_mod=lambda s, b, h, q, kv: m.where(
            kv > q, s - 1.5, m.maximum(s, 0.5 * s)))),
    ]


if "--warm" in sys.argv:
    for dtype in ("f16", "bf16"):
        for d in (64, 128):
            for name, kwargs in mod_cases(m.TensorSpec("torch.float32", 1),
                                          m.TensorSpec("torch.int32", 2)):
                text, _ = flashc.attention_mlir(d, dtype, lse=True, **kwargs)
                flashc._modified_bundle(text, ARCH)
                # The compiled backward's programs with the same modifiers.
                mods, _ = backward_kernels.trace_modifiers(
                    kwargs.get("score_mod"), kwargs.get("mask_mod"))
                for text in backward_kernels.all_programs(
                        d, dtype, kwargs["causal"] if "causal" in kwargs
                        else False, False, None, mods, ARCH):
                    flashc._modified_bundle(text, ARCH)
                print("warmed", name, dtype, d)
    # The block map's build (no log-sum-exp) for the documents case.
    documents = dict(mod_cases(None, m.TensorSpec("torch.int32", 2)))["documents"]
    flashc._modified_bundle(flashc.attention_mlir(64, "f16", **documents)[0], ARCH)
    # Documents under a bottom-right causal mask.
    text, _ = flashc.attention_mlir(64, "f16", True, lse=True,
                                    bottom_right=True, **documents)
    flashc._modified_bundle(text, ARCH)
    mods, _ = backward_kernels.trace_modifiers(None, documents["mask_mod"])
    for text in backward_kernels.all_programs(64, "f16", True, True, None,
                                              mods, ARCH):
        flashc._modified_bundle(text, ARCH)
    sys.exit(0)

import torch  # noqa: E402 - after --warm, which runs without torch

from reference import attention_reference  # noqa: E402
from report import check, finish, raises  # noqa: E402

torch.manual_seed(0)
BOUNDS = {torch.float16: 2e-3, torch.bfloat16: 1.5e-2}


def rel_l2(x, ref):
    return ((x.double() - ref).norm() / ref.norm()).item()


def inputs(b, h, kvh, sq, sk, d, dtype, views=False):
    """Fresh random q, k, v (requiring grad); with views, [batch, seq,
    heads, head_dim] storage seen as [batch, heads, seq, head_dim]."""
    def make(heads, seq):
        if views:
            t = torch.randn(b, seq, heads, d, device="cuda", dtype=dtype)
            return t.transpose(1, 2).detach().requires_grad_()
        return torch.randn(b, heads, seq, d, device="cuda", dtype=dtype,
                           requires_grad=True)
    return make(h, sq), make(kvh, sk), make(kvh, sk)


def check_grads(name, q, k, v, causal=False, bottom_right=False, lse_loss=False,
                score_mod=None, mask_mod=None, block_map=None):
    """flashc's dq, dk, dv (and out) against float64 autograd for the loss
    sum(out * dout) (+ sum(lse * dlse)), with a fresh random dout."""
    out, lse = flashc.attention(q, k, v, causal=causal,
                                bottom_right=bottom_right, return_lse=True,
                                score_mod=score_mod, mask_mod=mask_mod,
                                block_map=block_map)
    dout = torch.randn_like(out)
    dlse = torch.randn_like(lse) if lse_loss else None
    loss = (out.float() * dout.float()).sum()
    if lse_loss:
        loss = loss + (lse.nan_to_num(0.0, 0.0, 0.0) * dlse).sum()
    grads = torch.autograd.grad(loss, (q, k, v))
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    out64, lse64 = attention_reference(q64, k64, v64, causal, bottom_right,
                                       score_mod=score_mod, mask_mod=mask_mod)
    loss64 = (out64 * dout.double()).sum()
    if lse_loss:
        loss64 = loss64 + (lse64.nan_to_num(0.0, 0.0, 0.0) * dlse.double()).sum()
    grads64 = torch.autograd.grad(loss64, (q64, k64, v64))
    # Each gradient's error relative to the larger of its own norm and
    # dv's: where every row sees one key, dq and dk are exactly zero, and
    # flashc's rounding residue is measured against the gradients' scale.
    scale = grads64[2].norm()
    errors = [((g.double() - r).norm() / torch.maximum(r.norm(), scale)).item()
              for g, r in zip(grads, grads64)]
    finite = all(torch.isfinite(g).all().item() for g in grads + (out,))
    shapes = all(g.shape == t.shape for g, t in zip(grads, (q, k, v)))
    ok = finite and shapes and max(errors) < BOUNDS[q.dtype] and \
        rel_l2(out, out64.detach()) < BOUNDS[q.dtype]
    check(name, ok, "dq/dk/dv rel_l2 " + " ".join(f"{e:.1e}" for e in errors))


# Head dims, GQA ratios 1 to 8, tails, seq_q != seq_k, both dtypes, causal.
for dtype in (torch.float16, torch.bfloat16):
    for d in (32, 64, 96, 128, 256):
        for causal in (False, True):
            for (b, h, kvh, sq, sk) in ((1, 2, 1, 1, 1), (2, 4, 1, 17, 17),
                                        (1, 8, 2, 130, 257), (2, 4, 4, 513, 513),
                                        (1, 8, 1, 1000, 1000)):
                q, k, v = inputs(b, h, kvh, sq, sk, d, dtype)
                check_grads(f"{dtype} d={d} causal={causal} "
                            f"shape={(b, h, kvh, sq, sk)}", q, k, v, causal)

# Bottom-right causal: fewer queries than keys (decoding, chunked prefill)
# and more (rows that see no key: zero output, zero gradients, no NaN).
for dtype in (torch.float16, torch.bfloat16):
    for d in (64, 128):
        for (b, h, kvh, sq, sk) in ((1, 2, 2, 17, 100), (1, 2, 1, 300, 40),
                                    (2, 8, 2, 1, 500)):
            q, k, v = inputs(b, h, kvh, sq, sk, d, dtype)
            check_grads(f"{dtype} d={d} bottom_right shape={(b, h, kvh, sq, sk)}",
                        q, k, v, causal=True, bottom_right=True)

def check_modifiers(label):
    """Score and mask modifiers (Python functions; captured tensors indexed
    by the head and by (batch, query)), GQA 8/2 with odd lengths."""
    for dtype in (torch.float16, torch.bfloat16):
        for d in (64, 128):
            slopes = torch.rand(8, device="cuda")
            docs = (torch.arange(300, device="cuda") * 4 // 300).repeat(
                2, 1).to(torch.int32)
            for name, kwargs in mod_cases(slopes, docs):
                q, k, v = inputs(2, 8, 2, 300, 300, d, dtype)
                check_grads(f"{label}{dtype} d={d} {name}", q, k, v, **kwargs)


# The compiled backward (the compiler differentiates the score_mod; with a
# score_mod one program adds dQ by atomics), its two deterministic
# programs, then the PyTorch one (the functions run on tensors).
check_modifiers("")
torch.use_deterministic_algorithms(True)
try:
    check_modifiers("deterministic ")
finally:
    torch.use_deterministic_algorithms(False)
for mode in ("atomic", "pytorch"):
    os.environ["FLASHC_BACKWARD"] = mode
    try:
        check_modifiers(f"{mode} backward ")
    finally:
        del os.environ["FLASHC_BACKWARD"]
# A forward the warmed cache holds (the second case above).
q, k, v = inputs(2, 4, 1, 17, 17, 32, torch.float16)
os.environ["FLASHC_BACKWARD"] = "fast"
try:
    raises("FLASHC_BACKWARD unknown", ValueError, lambda: torch.autograd.grad(
        flashc.attention(q, k, v).float().sum(), (q,)))
finally:
    del os.environ["FLASHC_BACKWARD"]

# A block map built from tensors that require grad (it records nothing),
# then given to a differentiable call.
docs = (torch.arange(300, device="cuda") * 4 // 300).repeat(2, 1).to(torch.int32)
documents = dict(mod_cases(None, docs))["documents"]
q, k, v = inputs(2, 8, 2, 300, 300, 64, torch.float16)
built = flashc.block_map(q, k, v, **documents)
check("block_map of tensors that require grad", isinstance(built, flashc.BlockMap))
check_grads("torch.float16 d=64 documents with a prebuilt block map", q, k, v,
            **documents, block_map=built)
# The map keeps the backward programs' maps (built by the first backward):
# again with other inputs of the shape, and with the fused program.
q, k, v = inputs(2, 8, 2, 300, 300, 64, torch.float16)
check_grads("documents with a prebuilt block map, again", q, k, v,
            **documents, block_map=built)
check("the map keeps the two programs' maps", len(built.derived) == 2,
      f"{len(built.derived)} maps")
os.environ["FLASHC_BACKWARD"] = "atomic"
try:
    check_grads("documents with a prebuilt block map, atomic", q, k, v,
                **documents, block_map=built)
finally:
    del os.environ["FLASHC_BACKWARD"]

# A loss that reads the log-sum-exp too (as ring attention's merge does).
for dtype in (torch.float16, torch.bfloat16):
    q, k, v = inputs(2, 4, 2, 130, 257, 64, dtype)
    check_grads(f"{dtype} loss through lse", q, k, v, causal=True, lse_loss=True)
# Bottom-right causal with a document mask: both programs' block maps skip
# the blocks past the shifted diagonal. (Lengths at which some rows see a
# key of their document, and some none.)
docs = (torch.arange(300, device="cuda") * 3 // 300).repeat(2, 1).to(torch.int32)
for sq, sk in ((130, 300), (300, 260)):
    q, k, v = inputs(2, 8, 2, sq, sk, 64, torch.float16)
    check_grads(f"documents bottom_right {sq}x{sk}", q, k, v, causal=True,
                bottom_right=True, mask_mod=dict(mod_cases(None, docs))[
                    "documents"]["mask_mod"])
# With modifiers: D - dlse in PyTorch, not D in the dQ program.
slopes = torch.rand(8, device="cuda")
docs = (torch.arange(300, device="cuda") * 4 // 300).repeat(2, 1).to(torch.int32)
for name, kwargs in mod_cases(slopes, docs)[1:4]:
    for deterministic in (False, True):
        torch.use_deterministic_algorithms(deterministic)
        try:
            q, k, v = inputs(2, 8, 2, 300, 300, 64, torch.float16)
            check_grads(f"{name} loss through lse"
                        f"{' (deterministic)' if deterministic else ''}",
                        q, k, v, lse_loss=True, **kwargs)
        finally:
            torch.use_deterministic_algorithms(False)

# Views read in place, gradients shaped like them.
for dtype in (torch.float16, torch.bfloat16):
    for d in (64, 128):
        for causal in (False, True):
            q, k, v = inputs(2, 8, 2, 513, 513, d, dtype, views=True)
            check_grads(f"{dtype} d={d} causal={causal} [b, s, h, d] views",
                        q, k, v, causal)

# The default writes each gradient row once, with no atomics: the same
# gradients bit for bit on every run. FLASHC_BACKWARD=atomic (dQ added by
# atomics) and FLASHC_BACKWARD=pytorch give the same within the bound;
# torch.use_deterministic_algorithms(True) keeps the default's programs
# even under FLASHC_BACKWARD=atomic.
def grads_of(q, k, v, dout, mode=None):
    if mode:
        os.environ["FLASHC_BACKWARD"] = mode
    try:
        return torch.autograd.grad(flashc.attention(q, k, v, causal=True),
                                   (q, k, v), dout)
    finally:
        os.environ.pop("FLASHC_BACKWARD", None)


for d in (64, 128):
    q, k, v = inputs(2, 8, 2, 1000, 1000, d, torch.bfloat16)
    dout = torch.randn(2, 8, 1000, d, device="cuda", dtype=torch.bfloat16)
    runs = [grads_of(q, k, v, dout) for _ in range(2)]
    check(f"d={d} compiled backward is deterministic",
          all(torch.equal(a, b) for a, b in zip(*runs)))
    torch.use_deterministic_algorithms(True)
    try:
        chosen = grads_of(q, k, v, dout, "atomic")
    finally:
        torch.use_deterministic_algorithms(False)
    check(f"d={d} use_deterministic_algorithms overrides atomic",
          all(torch.equal(a, b) for a, b in zip(runs[0], chosen)))
    for mode in ("atomic", "pytorch"):
        errors = [rel_l2(a, b.double()) for a, b in
                  zip(runs[0], grads_of(q, k, v, dout, mode))]
        check(f"d={d} FLASHC_BACKWARD={mode} agrees",
              max(errors) < BOUNDS[torch.bfloat16],
              " ".join(f"{e:.1e}" for e in errors))

# FLASHC_BACKWARD=atomic against float64 on odd shapes: the fused program
# up to head dim 128, the two programs past it (176).
os.environ["FLASHC_BACKWARD"] = "atomic"
try:
    for dtype in (torch.float16, torch.bfloat16):
        for d in (64, 128, 176):
            for causal in (False, True):
                for shape in ((2, 4, 1, 17, 17), (1, 8, 2, 130, 257),
                              (1, 8, 1, 1000, 1000)):
                    q, k, v = inputs(*shape, d, dtype)
                    check_grads(f"atomic {dtype} d={d} causal={causal} "
                                f"shape={shape}", q, k, v, causal)
finally:
    del os.environ["FLASHC_BACKWARD"]

# Only q requiring grad; no grad mode records nothing.
q, k, v = inputs(1, 4, 4, 130, 130, 64, torch.float16)
k.requires_grad_(False)
v.requires_grad_(False)
out = flashc.attention(q, k, v, causal=True)
(dq,) = torch.autograd.grad(out.float().sum(), (q,))
check("only q requires grad", dq.shape == q.shape and torch.isfinite(dq).all().item())
with torch.no_grad():
    out = flashc.attention(q, k, v, causal=True)
check("torch.no_grad: no graph", out.grad_fn is None and not out.requires_grad)
with torch.inference_mode():
    out = flashc.attention(q, k, v, causal=True)
check("torch.inference_mode: no graph", not out.requires_grad)

# torch.compile: one graph (no breaks), forward and backward as in eager.
def block(q, k, v):
    return flashc.attention(q, k, v, causal=True).float().square().sum()


q, k, v = inputs(2, 8, 2, 513, 513, 64, torch.bfloat16)
eager = torch.autograd.grad(block(q, k, v), (q, k, v))
explained = torch._dynamo.explain(block)(q, k, v)
check("torch.compile: no graph breaks", explained.graph_break_count == 0,
      f"{explained.graph_break_count} breaks")
compiled = torch.compile(block, fullgraph=True)
grads = torch.autograd.grad(compiled(q, k, v), (q, k, v))
errors = [rel_l2(g, e.double()) for g, e in zip(grads, eager)]
# Eager, whose loss leaves the log-sum-exp's gradient None, computes D in
# the dQ program; the compiled graph's backward gets zeros for it and D
# from PyTorch: the same values summed in another order, which flips the
# bf16 rounding (2**-8) of a few gradient elements (runs gave 5e-7 to
# 2e-5; an error in either path gives more than 1e-3).
check("torch.compile(fullgraph=True): gradients as in eager",
      max(errors) < 1e-4, " ".join(f"{e:.1e}" for e in errors))

# The custom ops' schema, fake (meta) implementations and autograd
# registration, by torch.library.opcheck.
q, k, v = inputs(1, 4, 2, 130, 257, 64, torch.float16)
for name, fn in (
        ("opcheck attention_forward", lambda: torch.library.opcheck(
            torch.ops.flashc.attention_forward.default, (q, k, v, True, None, False))),
        ("opcheck attention_backward", lambda: torch.library.opcheck(
            torch.ops.flashc.attention_backward.default,
            (torch.randn(1, 4, 130, 64, device="cuda", dtype=torch.float16),
             torch.zeros(1, 4, 130, device="cuda"), q.detach(), k.detach(),
             v.detach(), *[t.detach() for t in flashc.attention(
                 q, k, v, causal=True, return_lse=True)], True, None, False)))):
    try:
        fn()
        check(name, True)
    except Exception as e:  # opcheck raises on any inconsistency
        check(name, False, f"{type(e).__name__}: {e}")

# What has no gradient yet is refused, not silently detached.
q, k, v = inputs(1, 2, 2, 64, 64, 64, torch.float16)
raises("score_mod as MLIR text with requires_grad", NotImplementedError,
       lambda: flashc.attention(q, k, v, score_mod="score_mod { }"))
raises("varlen with requires_grad", NotImplementedError,
       lambda: flashc.varlen_attention(
           q[0].transpose(0, 1), k[0].transpose(0, 1), v[0].transpose(0, 1),
           torch.tensor([0, 64], device="cuda", dtype=torch.int32),
           torch.tensor([0, 64], device="cuda", dtype=torch.int32), 64, 64))
raises("causal not a bool (grad path)", TypeError,
       lambda: flashc.attention(q, k, v, causal=1))

# A kernel loaded from a thread that has made no CUDA call yet, as the
# autograd engine's thread is when a backward first loads its kernels (the
# runtime makes its context current there).
loaded = []
runtime, _ = flashc._runtime_of(torch, q)
bundle = flashc._modified_bundle(
    backward_kernels.programs(64, "f16", True, False, None, ARCH)[0], ARCH)


def load_in_fresh_thread():
    try:  # the thread's only CUDA work: the runtime's driver calls
        loaded.append(runtime.load(bundle))
    except Exception as e:  # reported below
        loaded.append(e)


worker = threading.Thread(target=load_in_fresh_thread)
worker.start()
worker.join()
check("kernel loaded from a fresh thread",
      loaded and not isinstance(loaded[0], Exception), repr(loaded[:1]))
finish()
