#!/usr/bin/env python3
"""Decoding: one query row per sequence against a long K/V cache (32 query
heads over 8 K/V heads, head_dim 128, bf16; flashc packs each K/V head's query heads into
one head of their rows), flashc at the runtime's split
choice and at fixed split counts, against SDPA's flash and cuDNN backends
(enable_gqa). Reports microseconds (median of triton's do_bench) and the
K/V bandwidth they imply; each flashc output is checked against float64
first. Kernels come from the disk cache (python/tests/warm_cache.py warms
the seq_q 4 kernel). Prints a table; never asserts a time.

  FLASHC_LIBRARY_DIR=rt/lib FLASHC_CACHE_DIR=.carry/fcache bench/decode.py
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import flashc  # noqa: E402

HEADS, KV_HEADS, D = 32, 8, 128


def median_us(fn):
    fn()
    return 1000 * do_bench(fn, return_mode="median")


def main():
    torch.manual_seed(0)
    splits_fixed = (1, 4, 16)
    print(f"device {torch.cuda.get_device_name()}")
    print("| batch | seq_k | flashc auto us (splits) | GB/s | "
          + " | ".join(f"{s} splits us" for s in splits_fixed)
          + " | SDPA flash us | SDPA cuDNN us | best peer / flashc |")
    print("|---" * (7 + len(splits_fixed)) + "|")
    for batch in (1, 8, 32):
        for seq_k in (4096, 16384, 65536):
            q = torch.randn(batch, HEADS, 1, D, device="cuda", dtype=torch.bfloat16)
            k = torch.randn(batch, KV_HEADS, seq_k, D, device="cuda",
                            dtype=torch.bfloat16)
            v = torch.randn_like(k)
            out = flashc.attention(q, k, v)  # compiles (or loads) and caches
            g = HEADS // KV_HEADS
            ref = F.scaled_dot_product_attention(
                q[:1].double(), k[:1].double().repeat_interleave(g, 1),
                v[:1].double().repeat_interleave(g, 1))
            err = ((out[:1].double() - ref).norm() / ref.norm()).item()
            if not err < 1e-2 or torch.isnan(out).any():
                print(f"| {batch} | {seq_k} | WRONG rel_l2 {err:.2e} |")
                continue
            runtime = flashc._runtimes[torch.cuda.current_device()]
            # flashc.attention packs each K/V head's 4 query heads into one
            # head of 4 rows: its kernel is the one for seq_q 4.
            kernel = next(kn for key, kn in runtime.kernels.items()
                          if key[-1] == g and key[1] == D)
            auto_splits = runtime.kv_splits(kernel, q.view(batch, KV_HEADS, g, D), k)
            auto = median_us(lambda: flashc.attention(q, k, v))
            fixed = []
            for s in splits_fixed:
                runtime.set_kv_splits(kernel, s)
                fixed.append(median_us(lambda: flashc.attention(q, k, v)))
            runtime.set_kv_splits(kernel, 0)
            peers = []
            for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
                try:
                    with sdpa_kernel(backend):
                        peers.append(median_us(lambda: F.scaled_dot_product_attention(
                            q, k, v, enable_gqa=True)))
                except RuntimeError:
                    peers.append(None)
            gbs = 2 * batch * KV_HEADS * seq_k * D * 2 / (auto * 1e-6) / 1e9
            best = min(p for p in peers if p) if any(peers) else None
            peer_text = [f"{p:.1f}" if p else "-" for p in peers]
            ratio = f"{best / auto:.2f}" if best else "-"
            print(f"| {batch} | {seq_k} | {auto:.1f} ({auto_splits}) | {gbs:.0f} | "
                  + " | ".join(f"{t:.1f}" for t in fixed) + " | "
                  + " | ".join(peer_text) + f" | {ratio} |")


if __name__ == "__main__":
    main()
