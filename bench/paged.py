#!/usr/bin/env python3
"""Decoding against a K/V cache, paged and not: one query row per sequence
(32 query heads over 8 K/V heads, head_dim 128, bf16), flashc.paged_attention
on a cache of 64-row pages scattered in a pool (a random permutation) and
flashc.attention on the same keys held contiguously, against SDPA (flash and
cuDNN, enable_gqa) on the contiguous keys. Reports microseconds (median of
triton's do_bench), and the K/V bandwidth each implies (K and V bytes /
time) as a share of a device-to-device copy measured in the same run. With
--flex, FlexAttention (torch.compile, enable_gqa) on the contiguous keys
too. Each paged output is first compared with the contiguous one. Prints a
table; never asserts a time.

  FLASHC_LIBRARY_DIR=rt/lib FLASHC_CACHE_DIR=.carry/fcache bench/paged.py [--flex]
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import flashc  # noqa: E402
from shapes import median_us, time_flex, time_sdpa  # noqa: E402

HEADS, KV_HEADS, D, PAGE = 32, 8, 128, 64


def copy_bandwidth():
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    us = median_us(lambda: dst.copy_(src))
    return 2 * src.numel() / us / 1e6  # TB/s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flex", action="store_true",
                    help="also time FlexAttention on the contiguous keys")
    args = ap.parse_args()
    copy = copy_bandwidth()
    print(f"# {torch.cuda.get_device_name()}, copy {copy:.2f} TB/s, "
          f"{HEADS}/{KV_HEADS} heads, head_dim {D}, bf16, pages of {PAGE}")
    print(f"{'batch':>5} {'seq_k':>6} {'paged us':>9} {'TB/s':>5} {'copy%':>5} "
          f"{'dense us':>9} {'sdpa best us':>12} {'paged x best':>12}" +
          (f" {'flex us':>8}" if args.flex else ""))
    torch.manual_seed(0)
    for batch in (1, 8, 32, 64):
        for seq_k in (1024, 8192, 32768, 131072):
            if batch * seq_k > 64 * 32768:
                continue
            pages_each = seq_k // PAGE
            pages = batch * pages_each
            k = torch.randn(batch, KV_HEADS, seq_k, D, device="cuda",
                            dtype=torch.bfloat16)
            v = torch.randn_like(k)
            q = torch.randn(batch, 1, HEADS, D, device="cuda",
                            dtype=torch.bfloat16)
            order = torch.randperm(pages, device="cuda")
            table = order.view(batch, pages_each).to(torch.int32)
            k_cache = torch.empty(pages, PAGE, KV_HEADS, D, device="cuda",
                                  dtype=torch.bfloat16)
            v_cache = torch.empty_like(k_cache)
            # Page p of sequence b holds its keys [p·PAGE, (p + 1)·PAGE).
            k_cache[order] = k.transpose(1, 2).reshape(pages, PAGE, KV_HEADS, D)
            v_cache[order] = v.transpose(1, 2).reshape(pages, PAGE, KV_HEADS, D)
            lens = torch.full((batch,), seq_k, dtype=torch.int32, device="cuda")
            q_bhsd = q.transpose(1, 2).contiguous()

            def paged():
                return flashc.paged_attention(q, k_cache, v_cache, table, lens)

            def dense():
                return flashc.attention(q_bhsd, k, v)
            out_p = paged().transpose(1, 2)
            out_d = dense()
            err = ((out_p.float() - out_d.float()).norm() /
                   out_d.float().norm()).item()
            if not err < 1e-2 or torch.isnan(out_p).any():
                print(f"batch {batch} seq_k {seq_k}: paged differs from dense "
                      f"(rel_l2 {err:.2e})")
                return 1
            us_p, us_d = median_us(paged), median_us(dense)
            sdpa = time_sdpa(q_bhsd, k, v, False, True)
            best = min(t for t in sdpa.values() if t is not None)
            tbs = 2 * k.numel() * 2 / us_p / 1e6
            flex = ""
            if args.flex:
                us_f = time_flex(q_bhsd, k, v, causal=False)
                flex = f" {us_f:>8.1f}" if us_f is not None else f" {'-':>8}"
            print(f"{batch:>5} {seq_k:>6} {us_p:>9.1f} {tbs:>5.2f} "
                  f"{100 * tbs / copy:>5.0f} {us_d:>9.1f} {best:>12.1f} "
                  f"{best / us_p:>12.2f}{flex}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
