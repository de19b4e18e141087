#!/usr/bin/env python3
"""Decoding: one query row per sequence against a long K/V cache (32 query
heads over 8 K/V heads, head_dim 128, bf16; flashc packs each K/V head's
query heads into one head of their rows), flashc at the runtime's split
choice and at fixed split counts, against SDPA's flash and cuDNN backends
(enable_gqa) and, with --flex, FlexAttention (torch.compile, enable_gqa).
Reports microseconds (median of triton's do_bench), the K/V bandwidth they
imply (K and V bytes / time), and that bandwidth as a share of a
device-to-device copy measured in the same run (read + write bytes / time).
Each flashc output is checked against float64 on the first sequence first.
Kernels come from the disk cache (python/tests/warm_cache.py warms the
seq_q 4 kernel). Prints a table; never asserts a time.

  FLASHC_LIBRARY_DIR=rt/lib FLASHC_CACHE_DIR=.carry/fcache bench/decode.py [--flex]
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import flashc  # noqa: E402
from shapes import median_us, time_flex, time_sdpa  # noqa: E402

HEADS, KV_HEADS, D = 32, 8, 128
BATCHES = (1, 8, 32, 64)
SEQ_KS = (1024, 8192, 32768, 131072)
FIXED_SPLITS = (1, 4, 16)


def copy_gbs():
    """Device-to-device copy bandwidth: (read + write) bytes / time."""
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    us = median_us(lambda: dst.copy_(src))
    return 2 * src.numel() / (us * 1e-6) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flex", action="store_true",
                    help="also time FlexAttention (compiles once per shape)")
    args = ap.parse_args()
    torch.manual_seed(0)
    copy = copy_gbs()
    print(f"device {torch.cuda.get_device_name()}; copy {copy:.0f} GB/s")
    peers = ["SDPA flash", "SDPA cuDNN"] + (["Flex"] if args.flex else [])
    print("| batch | seq_k | flashc us (splits) | GB/s | % of copy | "
          + " | ".join(f"{s} splits us" for s in FIXED_SPLITS) + " | "
          + " | ".join(f"{p} us" for p in peers) + " | best peer / flashc |")
    print("|---" * (6 + len(FIXED_SPLITS) + len(peers)) + "|")
    g = HEADS // KV_HEADS
    for batch in BATCHES:
        for seq_k in SEQ_KS:
            q = torch.randn(batch, HEADS, 1, D, device="cuda", dtype=torch.bfloat16)
            k = torch.randn(batch, KV_HEADS, seq_k, D, device="cuda",
                            dtype=torch.bfloat16)
            v = torch.randn_like(k)
            out = flashc.attention(q, k, v)  # compiles (or loads) and caches
            ref = F.scaled_dot_product_attention(
                q[:1].double(), k[:1].double().repeat_interleave(g, 1),
                v[:1].double().repeat_interleave(g, 1))
            err = ((out[:1].double() - ref).norm() / ref.norm()).item()
            if not err < 1e-2 or torch.isnan(out).any():
                print(f"| {batch} | {seq_k} | WRONG rel_l2 {err:.2e} |")
                continue
            runtime = flashc._runtimes[torch.cuda.current_device()]
            # flashc.attention packs each K/V head's g query heads into one
            # head of g rows: its kernel is the one for seq_q g.
            kernel = next(kn for key, kn in runtime.kernels.items()
                          if key[-1] == g and key[1] == D)
            packed = q.view(batch, KV_HEADS, g, D)
            auto_splits = runtime.kv_splits(kernel, packed, k)
            auto = median_us(lambda: flashc.attention(q, k, v))
            fixed = []
            for s in FIXED_SPLITS:
                runtime.set_kv_splits(kernel, s)
                fixed.append(median_us(lambda: flashc.attention(q, k, v)))
            runtime.set_kv_splits(kernel, 0)
            sdpa = time_sdpa(q, k, v, causal=False, gqa=True)
            times = [sdpa["flash"], sdpa["cudnn"]]
            if args.flex:
                times.append(time_flex(q, k, v, causal=False))
            gbs = 2 * batch * KV_HEADS * seq_k * D * 2 / (auto * 1e-6) / 1e9
            known = [t for t in times if t]
            ratio = f"{min(known) / auto:.2f}" if known else "-"
            print(f"| {batch} | {seq_k} | {auto:.1f} ({auto_splits}) | {gbs:.0f} | "
                  f"{100 * gbs / copy:.0f} | "
                  + " | ".join(f"{t:.1f}" for t in fixed) + " | "
                  + " | ".join(f"{t:.1f}" if t else "-" for t in times)
                  + f" | {ratio} |")
            del q, k, v, out
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
