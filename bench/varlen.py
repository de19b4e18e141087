#!/usr/bin/env python3
"""Varlen prefill: documents of different lengths packed in one sequence
(32 query heads over 8 K/V heads, head_dim 128, bf16, causal within each
document), flashc.varlen_attention against FlexAttention with a document
mask (torch.compile, the block mask built once, outside the timing) on the
same packed tensors. Reports microseconds (median of triton's do_bench) and
the TFLOP/s of the attention the documents need (4 · heads · head_dim ·
len² / 2 per document). Each flashc output is first compared with
FlexAttention's (relative L2 below 2e-2; test_varlen.py checks against
float64). Prints a table; never asserts a time.

  FLASHC_LIBRARY_DIR=rt/lib bench/varlen.py
"""
import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import flashc  # noqa: E402
from shapes import median_us  # noqa: E402

HEADS, KV_HEADS, D = 32, 8, 128


def layouts():
    rng = random.Random(0)
    mixed = [rng.randint(64, 4096) for _ in range(8)]
    return (("8 x 2048", [2048] * 8), ("64 x 256", [256] * 64),
            ("2 x 8192", [8192] * 2), (f"8 mixed 64..4096", mixed),
            ("1 x 16384", [16384]))


def time_flex(q, k, v, lengths):
    from torch.nn.attention.flex_attention import (create_block_mask,
                                                   flex_attention)
    doc = torch.repeat_interleave(
        torch.arange(len(lengths), device="cuda"),
        torch.tensor(lengths, device="cuda"))
    total = doc.shape[0]
    mask = create_block_mask(
        lambda b, h, qi, ki: (doc[qi] == doc[ki]) & (qi >= ki), None, None,
        total, total, device="cuda")
    flex = torch.compile(flex_attention, dynamic=False)
    q4, k4, v4 = (t.unsqueeze(0).transpose(1, 2) for t in (q, k, v))

    def run():
        return flex(q4, k4, v4, block_mask=mask, enable_gqa=True)
    try:
        out = run().transpose(1, 2)[0]
        return median_us(run), out
    except Exception as e:  # noqa: BLE001 - a peer's own limits
        print(f"# flex failed: {type(e).__name__}: {e}")
        return None, None


def main():
    print(f"# {torch.cuda.get_device_name()}, {HEADS}/{KV_HEADS} heads, "
          f"head_dim {D}, bf16, causal per document")
    print(f"{'documents':>18} {'tokens':>7} {'flashc us':>10} {'TFLOP/s':>8} "
          f"{'flex us':>9} {'TFLOP/s':>8} {'x flex':>7}")
    torch.manual_seed(0)
    for name, lengths in layouts():
        total = sum(lengths)
        q = torch.randn(total, HEADS, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(total, KV_HEADS, D, device="cuda", dtype=torch.bfloat16)
        v = torch.randn_like(k)
        cu = torch.tensor([0] + list(torch.tensor(lengths).cumsum(0)),
                          dtype=torch.int32, device="cuda")
        longest = max(lengths)

        def run():
            return flashc.varlen_attention(q, k, v, cu, cu, longest, longest,
                                           causal=True)
        out = run()
        flex_us, flex_out = time_flex(q, k, v, lengths)
        if flex_out is not None:
            err = ((out.float() - flex_out.float()).norm() /
                   flex_out.float().norm()).item()
            if not err < 2e-2 or torch.isnan(out).any():
                print(f"{name}: flashc differs from flex (rel_l2 {err:.2e})")
                return 1
        us = median_us(run)
        flops = sum(4 * HEADS * D * n * n / 2 for n in lengths)
        tf = flops / us / 1e6
        flex_cells = ("-", "-", "-") if flex_us is None else (
            f"{flex_us:.1f}", f"{flops / flex_us / 1e6:.1f}",
            f"{flex_us / us:.2f}")
        print(f"{name:>18} {total:>7} {us:>10.1f} {tf:>8.1f} "
              f"{flex_cells[0]:>9} {flex_cells[1]:>8} {flex_cells[2]:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
