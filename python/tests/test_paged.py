#!/usr/bin/env python3
"""flashc.paged_attention against a float64 reference on the gathered keys.

    test_paged.py --warm   # here, with MLIR, no torch: fill FLASHC_CACHE_DIR
    test_paged.py          # on the GPU machine (torch, runtime only)

Prints one line per check and 'N passed, M failed'; exit 0 only if all
passed.
"""
import math
import sys

import flashc

ARCH = "sm_90a"  # the H200 the GPU tests run on (flashc._device_arch)


def cases():
    """(name, batch, seq_q, heads, kv_heads, head_dim, dtype, page_size,
    key lengths, keyword arguments): every launch of the suite."""
    out = []
    lengths = [1, 15, 16, 17, 1000, 3000, 64, 257]
    for dtype in ("f16", "bf16"):
        for page in (16, 64, 256):
            for seq_q in (1, 4, 16):
                out.append(("decode", 8, seq_q, 32, 8, 128, dtype, page,
                            lengths, {}))
        out.append(("decode d64", 3, 1, 8, 8, 64, dtype, 64, [5, 700, 2049],
                    {}))
    # Chunked prefill: new queries at the end of their keys.
    for page in (16, 256):
        out.append(("chunk", 2, 100, 8, 2, 128, "f16", page, [100, 4000],
                    dict(causal=True, bottom_right=True)))
    out.append(("lse", 4, 2, 8, 2, 64, "bf16", 64, [1, 90, 513, 2000],
                dict(causal=True, bottom_right=True, return_lse=True)))
    out.append(("softcap", 2, 3, 4, 4, 64, "f16", 32, [50, 999], dict(
        score_mod=lambda s, b, h, qi, kv: 20.0 * flashc.mods.tanh(s / 20.0))))
    out.append(("window", 2, 1, 4, 1, 128, "bf16", 16, [300, 1000], dict(
        mask_mod=lambda b, h, qi, kv: kv + 128 > qi + 999)))
    for d in (32, 80, 96, 160, 192, 256):
        out.append(("head dims", 2, 2, 4, 2, d, "bf16", 16, [33, 400], {}))
    return out


SOFTCAPS = {"softcap": 20.0}
MASKS = {"window": lambda b, i, j: j + 128 > i + 999}


def warm():
    seen = set()
    for name, _, seq_q, heads, kv_heads, d, dtype, _, _, kwargs in cases():
        kwargs = dict(kwargs)
        lse = kwargs.pop("return_lse", False)
        # paged_attention packs a grouped-query decode step's heads.
        plain = not kwargs and not lse
        rows = seq_q * heads // kv_heads if plain and seq_q == 1 else seq_q
        text, _ = flashc.attention_mlir(d, dtype, lse=lse, paged=True,
                                        seq_q=rows if rows <= 64 else None,
                                        **kwargs)
        if text not in seen:
            seen.add(text)
            flashc._modified_bundle(text, ARCH)
            print("warmed", name, dtype, d, rows)


if "--warm" in sys.argv:
    warm()
    sys.exit(0)

import torch  # noqa: E402

from report import check, finish, raises  # noqa: E402

def paged_cache(lengths, kv_heads, d, dtype, page):
    """K and V caches whose pages are scattered (a random permutation, and
    spare pages no sequence uses), and the block table and lengths."""
    counts = [max(1, -(-n // page)) for n in lengths]
    pages = sum(counts) + 3
    order = torch.randperm(pages, device="cuda").to(torch.int32)
    table = torch.zeros(len(lengths), max(counts), dtype=torch.int32,
                        device="cuda")
    start = 0
    for b, count in enumerate(counts):
        table[b, :count] = order[start:start + count]
        start += count
    k = torch.randn(pages, page, kv_heads, d, device="cuda", dtype=dtype)
    v = torch.randn_like(k)
    lens = torch.tensor(lengths, dtype=torch.int32, device="cuda")
    return k, v, table, lens


def reference(q, k, v, table, lens, causal, bottom_right, mask=None,
              softcap=None):
    """float64 attention of each sequence on its gathered keys: (out [batch,
    seq_q, heads, d], lse [batch, heads, seq_q])."""
    batch, sq, heads, d = q.shape
    group = heads // k.shape[2]
    page = k.shape[1]
    out = torch.zeros(q.shape, dtype=torch.float64, device="cuda")
    lse = torch.full((batch, heads, sq), -math.inf, dtype=torch.float64,
                     device="cuda")
    for b in range(batch):
        n = int(lens[b])
        rows = torch.arange(n, device="cuda")
        pages = table[b, rows // page].long()
        ks = k[pages, rows % page].double().transpose(0, 1)  # [kvh, n, d]
        vs = v[pages, rows % page].double().transpose(0, 1)
        ks = ks.repeat_interleave(group, 0)
        vs = vs.repeat_interleave(group, 0)
        qs = q[b].double().transpose(0, 1)  # [heads, sq, d]
        s = (qs @ ks.transpose(1, 2)) / math.sqrt(d)
        if softcap:
            s = softcap * torch.tanh(s / softcap)
        i = torch.arange(sq, device="cuda")[:, None]
        j = torch.arange(n, device="cuda")[None, :]
        seen = torch.ones(sq, n, dtype=torch.bool, device="cuda")
        if causal:
            seen &= j <= i + (n - sq if bottom_right else 0)
        if mask:
            seen &= mask(b, i, j)
        s = s.masked_fill(~seen, -math.inf)
        rows_lse = torch.logsumexp(s, -1)
        p = torch.exp(s - rows_lse[..., None]).nan_to_num(0.0)
        out[b] = (p @ vs).transpose(0, 1)
        lse[b] = rows_lse
    return out, lse


def run(name, batch, seq_q, heads, kv_heads, d, dtype, page, lengths, kwargs):
    dtype = torch.float16 if dtype == "f16" else torch.bfloat16
    bound = 2e-3 if dtype == torch.float16 else 1e-2
    lengths = (lengths * batch)[:batch]
    k, v, table, lens = paged_cache(lengths, kv_heads, d, dtype, page)
    q = torch.randn(batch, seq_q, heads, d, device="cuda", dtype=dtype)
    nan = torch.full(q.shape, float("nan"), dtype=dtype, device="cuda")
    del nan  # its memory goes to the output: unwritten rows show as NaN
    result = flashc.paged_attention(q, k, v, table, lens, **kwargs)
    out, lse = result if kwargs.get("return_lse") else (result, None)
    ref, ref_lse = reference(q, k, v, table, lens, kwargs.get("causal", False),
                             kwargs.get("bottom_right", False),
                             MASKS.get(name), SOFTCAPS.get(name))
    torch.cuda.synchronize()
    err = ((out.double() - ref).norm() / ref.norm()).item()
    ok = not torch.isnan(out).any().item() and err < bound
    detail = f"rel_l2={err:.2e}"
    if lse is not None:
        finite = torch.isfinite(ref_lse)
        lse_err = (lse.double()[finite] - ref_lse[finite]).abs().max().item()
        ok = ok and lse_err < 1e-2 and torch.equal(torch.isinf(lse), ~finite)
        detail += f" lse_err={lse_err:.1e}"
    check(f"{name} {dtype} batch={batch} seq_q={seq_q} heads={heads}/"
          f"{kv_heads} d={d} page={page} lengths={lengths} {kwargs}", ok,
          detail)


torch.manual_seed(0)
for case in cases():
    run(*case)

k, v, table, lens = paged_cache([40, 70], 2, 64, torch.float16, 16)
q = torch.randn(2, 1, 4, 64, device="cuda", dtype=torch.float16)
raises("block_table int64", TypeError, lambda: flashc.paged_attention(
    q, k, v, table.long(), lens))
raises("seqlens_k of another batch", TypeError, lambda: flashc.paged_attention(
    q, k, v, table, lens[:1]))
raises("page size 8", ValueError, lambda: flashc.paged_attention(
    q, k[:, :8], v[:, :8], table, lens))
raises("k and v differ", ValueError, lambda: flashc.paged_attention(
    q, k, v[:, :, :1], table, lens))
raises("q 3-d", ValueError, lambda: flashc.paged_attention(
    q[0], k, v, table, lens))

finish()
