#!/usr/bin/env python3
"""flashc.attention against torch.nn.functional.scaled_dot_product_attention.

Run on a GPU machine with torch (the kernels may come from a warmed cache:
FLASHC_CACHE_DIR, see python/tests/warm_cache.py). Prints one line per check
and 'N passed, M failed'; exit 0 only if all passed.
"""
import torch
import torch.nn.functional as F

import flashc
from report import check, finish, raises


def rel_l2(out, ref):
    return ((out.double() - ref).norm() / ref.norm()).item()


def grouped_reference(q, k, v, causal=False):
    """float64 SDPA with k and v repeated for each query head of a group
    (grouped-query attention; k's heads divide q's)."""
    g = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(
        q.double(), k.double().repeat_interleave(g, dim=1),
        v.double().repeat_interleave(g, dim=1), is_causal=causal)


torch.manual_seed(0)
HEAD_DIMS = (32, 64, 80, 96, 128, 160, 192, 256)
for dtype, bound in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
    for d in HEAD_DIMS:
        for causal in (False, True):
            for (b, h, s, sk) in ((1, 8, 512, 512), (2, 3, 17, 17), (1, 2, 1, 1),
                                  (3, 4, 1000, 1000), (1, 1, 130, 257)):
                if causal and s != sk:
                    continue
                q = torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                k = torch.randn(b, h, sk, d, device="cuda", dtype=dtype)
                v = torch.randn(b, h, sk, d, device="cuda", dtype=dtype)
                out = flashc.attention(q, k, v, causal=causal)
                ref = F.scaled_dot_product_attention(q.double(), k.double(),
                                                     v.double(), is_causal=causal)
                err = rel_l2(out, ref)
                check(f"{dtype} d={d} causal={causal} shape={(b, h, s, sk)}",
                      not torch.isnan(out).any().item() and err < bound,
                      f"rel_l2={err:.2e}")

# Scores that rise (or fall) along the keys by about 60 in log2 units: the
# row max keeps moving, so the online softmax rescales O again and again
# (with the stale-max rule of block_n 32 whenever it moves by more than
# 2^8; probabilities then reach 256), or never after the first block.
def ramped_keys(b, h, s, d, dtype, rising):
    ramp = torch.linspace(0, 4, s, device="cuda")
    if not rising:
        ramp = ramp.flip(0)
    k = 0.3 * torch.randn(b, h, s, d, device="cuda") + ramp[:, None]
    return k.to(dtype)


for dtype, bound in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
    for d in (64, 128):
        for causal in (False, True):
            for rising in (True, False):
                q = (1 + 0.1 * torch.randn(2, 2, 1000, d, device="cuda")).to(dtype)
                k = ramped_keys(2, 2, 1000, d, dtype, rising)
                v = torch.randn(2, 2, 1000, d, device="cuda", dtype=dtype)
                out = flashc.attention(q, k, v, causal=causal)
                ref = F.scaled_dot_product_attention(q.double(), k.double(),
                                                     v.double(), is_causal=causal)
                err = rel_l2(out, ref)
                check(f"{dtype} d={d} causal={causal} "
                      f"{'rising' if rising else 'falling'} scores",
                      not torch.isnan(out).any().item() and err < bound,
                      f"rel_l2={err:.2e}")

# Views read in place: [batch, seq, heads, head_dim] tensors transposed to
# [batch, heads, seq, head_dim] (GQA too); the output takes q's layout.
for dtype, bound in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
    for d in (64, 80, 128):
        for causal in (False, True):
            for (b, h, kvh, s, sk) in ((2, 8, 8, 300, 300), (1, 8, 2, 513, 513),
                                       (2, 4, 1, 77, 77 if causal else 1000)):
                q = torch.randn(b, s, h, d, device="cuda", dtype=dtype).transpose(1, 2)
                k = torch.randn(b, sk, kvh, d, device="cuda", dtype=dtype).transpose(1, 2)
                v = torch.randn(b, sk, kvh, d, device="cuda", dtype=dtype).transpose(1, 2)
                out = flashc.attention(q, k, v, causal=causal)
                ref = grouped_reference(q, k, v, causal)
                err = rel_l2(out, ref)
                check(f"strided {dtype} d={d} causal={causal} heads {h}/{kvh} "
                      f"seq {s}/{sk}",
                      not torch.isnan(out).any().item() and err < bound and
                      out.stride() == q.stride(), f"rel_l2={err:.2e}")

q = torch.randn(1, 2, 64, 64, device="cuda", dtype=torch.float16)
out = flashc.attention(q, q, q, scale=0.3)
ref = F.scaled_dot_product_attention(q.double(), q.double(), q.double(), scale=0.3)
check("explicit scale", rel_l2(out, ref) < 2e-3)

# Grouped-query attention: k and v with a divisor of q's heads (ratios 1,
# 4, 8 and 32), against float64 SDPA on k and v repeated per group; and a
# grid whose batch * heads passes 65535.
for dtype, bound in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
    for d in (64, 128):
        for causal in (False, True):
            for (b, h, kvh, s) in ((2, 8, 8, 300), (1, 8, 2, 513), (2, 32, 4, 129),
                                   (1, 32, 1, 1000)):
                q = torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                k = torch.randn(b, kvh, s, d, device="cuda", dtype=dtype)
                v = torch.randn(b, kvh, s, d, device="cuda", dtype=dtype)
                out = flashc.attention(q, k, v, causal=causal)
                ref = grouped_reference(q, k, v, causal)
                err = rel_l2(out, ref)
                check(f"GQA {dtype} d={d} causal={causal} heads {h}/{kvh} seq {s}",
                      not torch.isnan(out).any().item() and err < bound,
                      f"rel_l2={err:.2e}")
big_q = torch.randn(2100, 32, 16, 64, device="cuda", dtype=torch.float16)
big_k = torch.randn(2100, 8, 16, 64, device="cuda", dtype=torch.float16)
out = flashc.attention(big_q, big_k, big_k)
ref = grouped_reference(big_q[-3:], big_k[-3:], big_k[-3:])
check("batch * heads = 67200 (last 3 sequences)",
      not torch.isnan(out).any().item() and rel_l2(out[-3:], ref) < 2e-3)
del big_q, big_k, out

# Decoding: a few query rows against a long cache (GQA 32/8). Each query
# length of at most 64 has a kernel of 64-row blocks whose K/V loop the
# runtime splits across programs when the grid would leave SMs idle.
# A K/V head's query heads run as one head of group · seq_q rows where that
# is at most 64; 64/8 heads at seq_q 9 (72 rows) are not packed.
for dtype, bound in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
    for (b, h, sq, sk) in ((1, 32, 1, 30000), (4, 32, 4, 4097), (2, 32, 16, 8192),
                           (64, 32, 1, 1000), (1, 64, 9, 5000)):
        q = torch.randn(b, h, sq, 128, device="cuda", dtype=dtype)
        k = torch.randn(b, 8, sk, 128, device="cuda", dtype=dtype)
        v = torch.randn(b, 8, sk, 128, device="cuda", dtype=dtype)
        out = flashc.attention(q, k, v)
        ref = grouped_reference(q, k, v)
        err = rel_l2(out, ref)
        check(f"decode {dtype} batch {b} seq_q {sq} seq_k {sk} heads {h}/8",
              not torch.isnan(out).any().item() and err < bound,
              f"rel_l2={err:.2e}")

q = torch.randn(1, 2, 64, 64, device="cuda", dtype=torch.float16)
raises("CPU tensor", ValueError, lambda: flashc.attention(q.cpu(), q, q))
raises("float32", TypeError, lambda: flashc.attention(q.float(), q.float(), q.float()))
raises("head_dim stride not 1", ValueError,
       lambda: flashc.attention(q.transpose(2, 3), q, q))
raises("mismatched shapes", ValueError,
       lambda: flashc.attention(q, torch.cat([q, q]), torch.cat([q, q])))
raises("k heads not dividing q's", ValueError,
       lambda: flashc.attention(torch.randn(1, 6, 8, 64, device="cuda",
                                            dtype=torch.float16),
                                *(torch.randn(1, 4, 8, 64, device="cuda",
                                              dtype=torch.float16),) * 2))
raises("head_dim 40", ValueError,
       lambda: flashc.attention(*(torch.randn(1, 1, 8, 40, device="cuda",
                                              dtype=torch.float16),) * 3))
raises("3-d tensor", ValueError, lambda: flashc.attention(q[0], q[0], q[0]))
raises("mixed dtypes", TypeError, lambda: flashc.attention(q, q.bfloat16(), q))

# The same checks once a launch plan of the signature exists (flashc._plans
# keeps one per shape, strides, dtypes, devices, alignment and options).
q = torch.randn(1, 2, 128, 64, device="cuda", dtype=torch.float16)
for causal in (False, True):
    out = flashc.attention(q, q, q, causal=causal)
    check(f"a planned call runs (causal={causal})", rel_l2(
        out, F.scaled_dot_product_attention(q.float(), q.float(), q.float(),
                                            is_causal=causal)) < 2e-3)
raises("causal=1 after causal=True", TypeError,
       lambda: flashc.attention(q, q, q, causal=1))
raises("scale=True after a planned call", TypeError,
       lambda: flashc.attention(q, q, q, scale=True))
raises("scale=[1.0] (unhashable)", TypeError,
       lambda: flashc.attention(q, q, q, scale=[1.0]))
misaligned = torch.empty(q.numel() + 1, device="cuda",
                         dtype=torch.float16)[1:].view(q.shape)
raises("a misaligned q of a planned signature", ValueError,
       lambda: flashc.attention(misaligned, q, q, causal=True))
raises("k, v on the CPU after a planned call", ValueError,
       lambda: flashc.attention(q, q.cpu(), q.cpu(), causal=True))

finish()
