#!/usr/bin/env python3
"""flashc.varlen_attention against a float64 reference, sequence by sequence.

    test_varlen.py --warm   # here, with MLIR, no torch: fill FLASHC_CACHE_DIR
    test_varlen.py          # on the GPU machine (torch, runtime only)

Prints one line per check and 'N passed, M failed'; exit 0 only if all
passed.
"""
import math
import sys

import flashc

ARCH = "sm_90a"  # the H200 the GPU tests run on (flashc._device_arch)

def cases():
    """(name, query lengths, key lengths, heads, kv_heads, head_dim, dtype,
    keyword arguments): every launch of the suite."""
    mixed = [1, 17, 4097, 130, 64, 1000]  # lengths 1..4097, tails of all kinds
    out = []
    for dtype in ("f16", "bf16"):
        for d in (64, 128):
            for causal in (False, True):
                out.append(("mixed", mixed, mixed, 8, 8, d, dtype,
                            dict(causal=causal)))
                out.append(("gqa 32/8", [300, 1, 77], [300, 1, 77], 32, 8, d,
                            dtype, dict(causal=causal)))
            out.append(("one", [513], [513], 4, 4, d, dtype, {}))
    for d in (32, 80, 96, 160, 192, 256):
        out.append(("head dims", [129, 7, 500], [129, 7, 500], 4, 2, d, "bf16",
                    dict(causal=True)))
    # Chunked prefill: queries shorter than their keys, both alignments.
    for bottom_right in (False, True):
        out.append(("chunks", [16, 200, 1, 64], [3000, 200, 900, 65], 8, 2,
                    128, "f16", dict(causal=True, bottom_right=bottom_right)))
    out.append(("more queries than keys", [300, 50], [20, 49], 4, 4, 64, "f16",
                dict(causal=True, bottom_right=True, return_lse=True)))
    # Empty sequences: no query rows, or no keys (rows that see none: 0, -inf).
    out.append(("empty sequences", [5, 0, 40, 3], [9, 8, 0, 3], 4, 4, 64, "f16",
                dict(return_lse=True)))
    out.append(("lse", mixed, mixed, 4, 2, 128, "bf16",
                dict(causal=True, return_lse=True)))
    # Modifiers see the sequence as b and positions from its start.
    out.append(("softcap", [100, 333], [100, 333], 4, 4, 64, "f16", dict(
        score_mod=lambda s, b, h, qi, kv: 20.0 * flashc.mods.tanh(s / 20.0))))
    out.append(("mask by sequence", [100, 333, 64], [100, 333, 64], 4, 4, 64,
                "f16", dict(mask_mod=lambda b, h, qi, kv: kv <= qi + b * 16)))
    # Read in place: slices of a packed QKV tensor [total, 3, heads, d].
    out.append(("packed qkv slices", [200, 500], [200, 500], 8, 8, 64, "f16",
                dict(causal=True)))
    return out


# The float64 reference's view of each case's modifiers.
SOFTCAPS = {"softcap": 20.0}
MASKS = {"mask by sequence": lambda b, i, j: j <= i + b * 16}


def warm():
    seen = set()
    for name, _, _, _, _, d, dtype, kwargs in cases():
        kwargs = dict(kwargs)
        lse = kwargs.pop("return_lse", False)
        text, _ = flashc.attention_mlir(d, dtype, lse=lse, varlen=True,
                                        **kwargs)
        if text not in seen:
            seen.add(text)
            flashc._modified_bundle(text, ARCH)
            print("warmed", name, dtype, d)
    # The error checks' kernel and bench/varlen.py's.
    for d, dtype, causal in ((64, "f16", False), (128, "bf16", True)):
        text, _ = flashc.attention_mlir(d, dtype, causal=causal, varlen=True)
        flashc._modified_bundle(text, ARCH)


if "--warm" in sys.argv:
    warm()
    sys.exit(0)

import torch  # noqa: E402

from report import check, finish, raises  # noqa: E402


def packed(lengths, heads, d, dtype):
    """A packed [total, heads, d] tensor and its int32 cu_seqlens."""
    cu = [0]
    for n in lengths:
        cu.append(cu[-1] + n)
    t = torch.randn(max(cu[-1], 1), heads, d, device="cuda", dtype=dtype)
    return t, torch.tensor(cu, dtype=torch.int32, device="cuda")


def reference(q, k, v, cu_q, cu_k, causal, bottom_right, scale=None,
              mask=None, softcap=None):
    """float64 attention of each sequence alone: (out, lse [heads, total])."""
    heads, group = q.shape[1], q.shape[1] // k.shape[1]
    out = torch.zeros(q.shape, dtype=torch.float64, device="cuda")
    lse = torch.full((heads, q.shape[0]), -math.inf, dtype=torch.float64,
                     device="cuda")
    cu_q, cu_k = cu_q.tolist(), cu_k.tolist()
    for b in range(len(cu_q) - 1):
        sq, sk = cu_q[b + 1] - cu_q[b], cu_k[b + 1] - cu_k[b]
        if sq == 0 or sk == 0:
            continue
        qs = q[cu_q[b]:cu_q[b + 1]].double().transpose(0, 1)
        ks = k[cu_k[b]:cu_k[b + 1]].double().transpose(0, 1)
        vs = v[cu_k[b]:cu_k[b + 1]].double().transpose(0, 1)
        ks = ks.repeat_interleave(group, 0)
        vs = vs.repeat_interleave(group, 0)
        s = (qs @ ks.transpose(1, 2)) * (scale or 1 / math.sqrt(q.shape[2]))
        if softcap:
            s = softcap * torch.tanh(s / softcap)
        i = torch.arange(sq, device="cuda")[:, None]
        j = torch.arange(sk, device="cuda")[None, :]
        seen = torch.ones(sq, sk, dtype=torch.bool, device="cuda")
        if causal:
            seen &= j <= i + (sk - sq if bottom_right else 0)
        if mask:
            seen &= mask(b, i, j)
        s = s.masked_fill(~seen, -math.inf)
        rows = torch.logsumexp(s, -1)
        p = torch.exp(s - rows[..., None]).nan_to_num(0.0)
        out[cu_q[b]:cu_q[b + 1]] = (p @ vs).transpose(0, 1)
        lse[:, cu_q[b]:cu_q[b + 1]] = rows
    return out, lse


def rel_l2(out, ref):
    return ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def poison(shape, dtype):
    """Frees a NaN tensor of `shape`, so that the caching allocator hands
    its memory to the next allocation of that size: rows the kernel leaves
    unwritten show as NaN."""
    t = torch.full(shape, float("nan"), dtype=dtype, device="cuda")
    del t


def run(name, lengths_q, lengths_k, heads, kv_heads, d, dtype, kwargs):
    dtype = torch.float16 if dtype == "f16" else torch.bfloat16
    bound = 2e-3 if dtype == torch.float16 else 1e-2
    causal = kwargs.get("causal", False)
    bottom_right = kwargs.get("bottom_right", False)
    return_lse = kwargs.get("return_lse", False)
    if name == "packed qkv slices":
        _, cu_q = packed(lengths_q, heads, d, dtype)
        cu_k = cu_q
        qkv = torch.randn(cu_q[-1].item(), 3, heads, d, device="cuda",
                          dtype=dtype)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
    else:
        q, cu_q = packed(lengths_q, heads, d, dtype)
        k, cu_k = packed(lengths_k, kv_heads, d, dtype)
        v = torch.randn_like(k)
    poison(q.shape, dtype)
    result = flashc.varlen_attention(q, k, v, cu_q, cu_k, max(lengths_q),
                                     max(lengths_k), **kwargs)
    out, lse = result if return_lse else (result, None)
    ref, ref_lse = reference(q, k, v, cu_q, cu_k, causal, bottom_right,
                             mask=MASKS.get(name), softcap=SOFTCAPS.get(name))
    torch.cuda.synchronize()
    err = rel_l2(out, ref)
    ok = not torch.isnan(out).any().item() and err < bound
    detail = f"rel_l2={err:.2e}"
    if return_lse:
        finite = torch.isfinite(ref_lse)
        lse_err = (lse.double()[finite] - ref_lse[finite]).abs().max().item() \
            if finite.any() else 0.0
        same_inf = torch.equal(torch.isinf(lse), ~finite)
        ok = ok and lse_err < 1e-2 and same_inf
        detail += f" lse_err={lse_err:.1e}"
    check(f"{name} {dtype} d={d} heads={heads}/{kv_heads} q={lengths_q} "
          f"k={lengths_k} causal={causal} bottom_right={bottom_right}", ok,
          detail)


torch.manual_seed(0)
for case in cases():
    run(*case)

q, cu = packed([10, 20], 4, 64, torch.float16)
raises("cu_seqlens int64", TypeError, lambda: flashc.varlen_attention(
    q, q, q, cu.long(), cu, 20, 20))
raises("cu_seqlens lengths differ", ValueError, lambda: flashc.varlen_attention(
    q, q, q, cu, cu[:2], 20, 20))
raises("max_seqlen_q past total", ValueError, lambda: flashc.varlen_attention(
    q, q, q, cu, cu, 31, 20))
raises("max_seqlen_k 0", ValueError, lambda: flashc.varlen_attention(
    q, q, q, cu, cu, 20, 0))
raises("4-d q", ValueError, lambda: flashc.varlen_attention(
    q[None], q, q, cu, cu, 20, 20))
raises("cu_seqlens on the CPU", ValueError, lambda: flashc.varlen_attention(
    q, q, q, cu.cpu(), cu, 20, 20))

finish()
