#!/usr/bin/env python3
"""Fills FLASHC_CACHE_DIR with the kernels tests/test_torch.py needs, for a
GPU machine without MLIR: python/tests/warm_cache.py --arch sm_90"""
import argparse

import flashc

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="sm_90")
args = ap.parse_args()
for dtype in ("f16", "bf16"):
    for d in (32, 64, 80, 96, 128, 160, 192, 256):
        for causal in (False, True):
            print(flashc.warm_cache(dtype, d, causal, arch=args.arch))
print(flashc.warm_cache("f16", 64, False, scale=0.3, arch=args.arch))
# Strided views (test_torch's [batch, seq, heads, head_dim] tensors).
for dtype in ("f16", "bf16"):
    for d in (64, 80, 128):
        for causal in (False, True):
            text, _ = flashc.attention_mlir(d, dtype, causal, strided=True)
            flashc._modified_bundle(text, args.arch)
