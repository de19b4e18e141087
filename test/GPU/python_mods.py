#!/usr/bin/env python3
"""flashc.attention with traced Python modifiers on a GPU, against float64.

    python_mods.py --warm     # here, with MLIR, no torch: fill FLASHC_CACHE_DIR
    python_mods.py            # on the GPU machine (torch, runtime only)

The GPU machine has no compiler: --warm traces the same functions with
stand-in tensors (the trace depends only on their dtype and rank) and
compiles each kernel into the disk cache that flashc.attention reads
there. Prints one line per case and exits 1 on any failure.
"""
import math
import sys

import flashc
from flashc import mods as m

ARCH = "sm_90a"  # the H200 the GPU tests run on (flashc._device_arch)


def cases(slopes, docs, table):
    """(name, keyword arguments of flashc.attention) for each modifier."""
    return [
        ("softcap", dict(causal=True,
                         score_mod=lambda s, b, h, q, kv: 50 * m.tanh(s / 50))),
        ("alibi", dict(causal=True,
                       score_mod=lambda s, b, h, q, kv: s + slopes[h] * (kv - q))),
        ("window", dict(causal=True,
                        mask_mod=lambda b, h, q, kv: q - kv < 256)),
        ("documents", dict(causal=True,
                           mask_mod=lambda b, h, q, kv: docs[b, q] == docs[b, kv])),
        ("prefix_lm", dict(mask_mod=lambda b, h, q, kv: (kv < 256) | (kv <= q))),
        ("bias_where", dict(score_mod=lambda s, b, h, q, kv: m.where(
            kv > q, s - 1.5, s + table[h]))),
        ("decode_lse", dict(causal=True, bottom_right=True, return_lse=True)),
    ]


def warm():
    # run()'s query lengths of at most 64 take kernels of their own (16 at
    # head_dim 64).
    for d, seq_q in ((64, None), (128, None), (64, 16)):
        for dtype in ("f16", "bf16"):
            for name, kwargs in cases(m.TensorSpec("torch.float32", 1),
                                      m.TensorSpec("torch.int32", 2),
                                      m.TensorSpec("torch.float32", 1)):
                kwargs = dict(kwargs)
                lse = kwargs.pop("return_lse", False)
                text, _ = flashc.attention_mlir(d, dtype, lse=lse,
                                                seq_q=seq_q, **kwargs)
                flashc._modified_bundle(text, ARCH)
                print("warmed", name, dtype, d, seq_q or "")


def run():
    import torch
    gen = torch.Generator().manual_seed(0)
    failures = 0
    for (b, h, sq, sk, d) in [(2, 3, 777, 777, 64), (1, 4, 130, 1000, 128),
                              (2, 2, 16, 3000, 64)]:
        for dtype, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
            q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dt)
                       for s in (sq, sk, sk))
            slopes = torch.rand(h, generator=gen).cuda()
            n = max(sq, sk)
            docs = (torch.arange(n) * 5 // n).repeat(b, 1).to(torch.int32).cuda()
            table = torch.randn(h, generator=gen).cuda()
            for name, kwargs in cases(slopes, docs, table):
                got = flashc.attention(q, k, v, **kwargs)
                out, lse = got if kwargs.get("return_lse") else (got, None)
                ref, ref_lse = reference(torch, q, k, v, kwargs)
                err = ((out.double() - ref).norm() / ref.norm()).item()
                ok = err < (1e-2 if dtype == "bf16" else 2e-3) and \
                    not torch.isnan(out).any().item()
                if lse is not None:
                    fin = torch.isfinite(ref_lse)
                    ok = ok and torch.equal(torch.isinf(lse), ~fin) and \
                        ((lse.double() - ref_lse).abs()[fin].max().item()
                         if fin.any() else 0) < 1e-3
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {name:<11} {dtype:<5} "
                      f"{(b, h, sq, sk, d)} rel_l2 {err:.2e}", flush=True)
    failures += reuse_block_map(torch)
    failures += planned_calls(torch, gen)
    print(f"{failures} failed")
    return failures


def reuse_block_map(torch):
    """A document mask's block map built once and given to two calls (as two
    layers would), the same output as building it per call; a map of
    another shape is refused."""
    failures = 0
    b, h, s, d = 2, 4, 1000, 64
    docs = (torch.arange(s) * 7 // s).repeat(b, 1).to(torch.int32).cuda()
    kwargs = dict(cases(None, docs, None)[3][1])
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16)
               for _ in range(3))
    block_map = flashc.block_map(q, k, v, **kwargs)
    for layer in range(2):
        ref = flashc.attention(q, k, v, **kwargs)
        got = flashc.attention(q, k, v, block_map=block_map, **kwargs)
        ok = torch.equal(got, ref)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} block map reused, layer {layer}")
        q, k, v = (torch.randn_like(t) for t in (q, k, v))
    short = torch.randn(b, h, s // 2, d, device="cuda", dtype=torch.float16)
    try:
        flashc.attention(short, short, short, block_map=block_map, **kwargs)
        print("FAIL a map of another shape was used")
        failures += 1
    except flashc.FlashcError as e:
        print("ok   refused:", str(e).splitlines()[0])
    return failures


def planned_calls(torch, gen):
    """Calls of one signature and trace share a launch plan
    (flashc._plans): a second call with other captured data reads that
    data, and a captured tensor it cannot read is still refused."""
    failures = 0
    b, h, s, d = 2, 3, 777, 64
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16)
               for _ in range(3))
    for call in range(2):
        slopes = torch.rand(h, generator=gen).cuda() * (call + 1)
        kwargs = dict(cases(slopes, None, None)[1][1])
        ref, _ = reference(torch, q, k, v, kwargs)
        out = flashc.attention(q, k, v, **kwargs)
        err = ((out.double() - ref).norm() / ref.norm()).item()
        ok = err < 2e-3 and not torch.isnan(out).any().item()
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} planned alibi, slopes {call} "
              f"rel_l2 {err:.2e}")
    for what, slopes in (("on the CPU", torch.rand(h)),
                         ("not contiguous", torch.rand(2 * h).cuda()[::2])):
        try:
            flashc.attention(q, k, v, **cases(slopes, None, None)[1][1])
            print(f"FAIL a planned call took a captured tensor {what}")
            failures += 1
        except ValueError as e:
            print(f"ok   refused a captured tensor {what}: {e}")
    return failures


def reference(torch, q, k, v, kwargs):
    """float64 attention with the same modifiers (plain tensor code)."""
    b, h, sq, d = q.shape
    sk = k.shape[2]
    s = torch.einsum("bhqd,bhkd->bhqk", q.double(), k.double()) / math.sqrt(d)
    bi, hi, qi, ki = (torch.arange(n, device=q.device).view(*shape) for n, shape in
                      ((b, (b, 1, 1, 1)), (h, (1, h, 1, 1)), (sq, (1, 1, sq, 1)),
                       (sk, (1, 1, 1, sk))))
    global m
    saved, m = m, _TorchMods(torch)  # the same lambdas on tensors
    try:
        if kwargs.get("score_mod"):
            s = kwargs["score_mod"](s, bi, hi, qi, ki).double()
        seen = torch.ones_like(s, dtype=torch.bool)
        if kwargs.get("mask_mod"):
            seen = seen & kwargs["mask_mod"](bi, hi, qi, ki)
    finally:
        m = saved
    if kwargs.get("causal"):
        shift = sk - sq if kwargs.get("bottom_right") else 0
        seen = seen & (ki <= qi + shift)
    s = s.masked_fill(~seen, -math.inf)
    lse = torch.logsumexp(s, -1)
    p = torch.exp(s - lse.unsqueeze(-1)).nan_to_num(0.0)
    return torch.einsum("bhqk,bhkd->bhqd", p, v.double()), lse


class _TorchMods:
    def __init__(self, torch):
        self.tanh, self.where = torch.tanh, torch.where


if __name__ == "__main__":
    if "--warm" in sys.argv:
        warm()
    else:
        sys.exit(1 if run() else 0)
