#!/usr/bin/env python3
"""Fills FLASHC_CACHE_DIR with the kernels of tests/test_torch.py,
tests/test_backward.py and bench/train.py, for a
GPU machine without MLIR: python/tests/warm_cache.py --arch sm_90a"""
import argparse

import flashc

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="sm_90a")
args = ap.parse_args()
# Query lengths of at most 64 take a kernel each (test_torch's 1 and 17,
# and 16 for its large grid, 64 with an explicit scale).
for dtype in ("f16", "bf16"):
    for d in (32, 64, 80, 96, 128, 160, 192, 256):
        for causal in (False, True):
            for seq_q in (None, 1, 17):
                print(flashc.warm_cache(dtype, d, causal, arch=args.arch,
                                        seq_q=seq_q))
print(flashc.warm_cache("f16", 64, False, scale=0.3, arch=args.arch, seq_q=64))
# Its large grid: 32 query heads over 8 K/V heads, 16 rows each, packed into
# 64 rows a K/V head.
print(flashc.warm_cache("f16", 64, False, arch=args.arch, seq_q=64))
# Its decode checks (head_dim 128, no mask; 4 query heads a K/V head, which
# flashc.attention packs into one of 4 · seq_q rows, and 8 at seq_q 9, 72
# rows, which it does not).
for dtype in ("f16", "bf16"):
    for seq_q in (4, 9, 16, 64):
        print(flashc.warm_cache(dtype, 128, False, arch=args.arch, seq_q=seq_q))
# Strided views (test_torch's [batch, seq, heads, head_dim] tensors).
for dtype in ("f16", "bf16"):
    for d in (64, 80, 128):
        for causal in (False, True):
            text, _ = flashc.attention_mlir(d, dtype, causal, strided=True)
            flashc._modified_bundle(text, args.arch)
# test_backward.py and bench/train.py: what a differentiable call runs (the
# kernel with the log-sum-exp), queries of 1 and 17 rows static; bottom-right
# causal; [batch, seq, heads, head_dim] views.
for dtype in ("f16", "bf16"):
    for d in (32, 64, 96, 128, 176, 256):
        for causal in (False, True):
            for seq_q in (None, 1, 17):
                text, _ = flashc.attention_mlir(d, dtype, causal, lse=True,
                                                seq_q=seq_q)
                flashc._modified_bundle(text, args.arch)
    for d in (64, 128):
        for seq_q in (None, 1, 17):
            text, _ = flashc.attention_mlir(d, dtype, True, bottom_right=True,
                                            lse=True, seq_q=seq_q)
            flashc._modified_bundle(text, args.arch)
        for causal in (False, True):
            text, _ = flashc.attention_mlir(d, dtype, causal, lse=True,
                                            strided=True)
            flashc._modified_bundle(text, args.arch)
# The compiled backward's programs (flashc._backward_kernels) for the
# same calls: head dims up to 176, each causal alignment.
from flashc import _backward_kernels as backward_kernels  # noqa: E402
for dtype in ("f16", "bf16"):
    for d in (32, 64, 96, 128, 176):
        for causal, bottom_right in ((False, False), (True, False),
                                     (True, True)):
            backward_kernels.warm(d, dtype, causal, bottom_right,
                                  arch=args.arch)
