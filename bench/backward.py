#!/usr/bin/env python3
"""Times forward + backward of flashc.attention against SDPA's flash and
cuDNN backends on the shapes of bench.py (ANCHORS.md), in one process.

Each row: the median (triton.testing.do_bench) of one forward and one
backward (out.backward(dout)) on fresh random inputs, and dq, dk, dv
against SDPA flash's as rel_l2 (the largest of the three). TF counts the
forward and backward products as 3.5 times the forward's 4*B*H*S^2*D
(half for causal), as FlashAttention reports them. Prints a table; never
asserts a time.

    PYTHONPATH=python python3 bench/backward.py [--quick]
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

import flashc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import SHAPES  # noqa: E402


def step(fn, q, k, v, dout):
    """One forward and backward; the gradients."""
    for t in (q, k, v):
        t.grad = None
    fn(q, k, v).backward(dout)
    return q.grad, k.grad, v.grad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the first 3 shapes")
    args = ap.parse_args()
    print(f"device: {torch.cuda.get_device_name()}; forward + backward, "
          "median of do_bench (us); speed-up = backend time / flashc time")
    print(f"{'dtype':5} {'mask':6} {'B,H,S,D':16} {'flashc us':>10} {'TF':>5} "
          f"{'flash us':>9} {'cudnn us':>9} {'vs flash':>8} {'vs cudnn':>8} "
          f"{'grad rel_l2':>11}")
    shapes = SHAPES[:3] if args.quick else SHAPES
    for dtype in (torch.float16, torch.bfloat16):
        for causal in (False, True):
            for (b, h, s, d) in shapes:
                q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype,
                                       requires_grad=True) for _ in range(3))
                dout = torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                ours = lambda q, k, v: flashc.attention(q, k, v, causal=causal)
                grads = [g.clone() for g in step(ours, q, k, v, dout)]
                us = 1000 * do_bench(lambda: step(ours, q, k, v, dout),
                                     return_mode="median")
                peers, peer_grads = {}, None
                for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                                      ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                    def sdpa(q, k, v):
                        return F.scaled_dot_product_attention(
                            q, k, v, is_causal=causal)
                    try:
                        with sdpa_kernel(backend):
                            found = [g.clone() for g in step(sdpa, q, k, v, dout)]
                            peers[name] = 1000 * do_bench(
                                lambda: step(sdpa, q, k, v, dout),
                                return_mode="median")
                        if peer_grads is None:
                            peer_grads = found
                    except RuntimeError:  # backend refuses the shape
                        peers[name] = None
                err = max(((g.double() - r.double()).norm() / r.double().norm()).item()
                          for g, r in zip(grads, peer_grads)) if peer_grads else float("nan")
                flops = 3.5 * 4 * b * h * s * s * d * (0.5 if causal else 1)
                cells = [f"{peers[n]:9.1f}" if peers[n] else f"{'-':>9}"
                         for n in ("flash", "cudnn")]
                ratios = [f"{peers[n] / us:8.2f}" if peers[n] else f"{'-':>8}"
                          for n in ("flash", "cudnn")]
                print(f"{'f16' if dtype == torch.float16 else 'bf16':5} "
                      f"{'causal' if causal else 'full':6} "
                      f"{f'{b},{h},{s},{d}':16} {us:10.1f} {flops / us / 1e6:5.0f} "
                      f"{cells[0]} {cells[1]} {ratios[0]} {ratios[1]} {err:11.1e}",
                      flush=True)


if __name__ == "__main__":
    main()
