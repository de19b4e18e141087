#!/usr/bin/env python3
"""Times forward + backward of flashc.attention against SDPA's flash and
cuDNN backends on the shapes of bench.py (ANCHORS.md), in one process.

Each row: the median of one forward and one backward (out.backward(dout))
on fresh random inputs, timed by triton.testing.do_bench in ROUNDS rounds
that take the backends in turn (a small call's time is the host's, which
drifts during a run: each backend sees the same drift), and dq, dk, dv
against SDPA flash's as rel_l2 (the largest of the three). TF counts the
forward and backward products as 3.5 times the forward's 4*B*H*S^2*D
(half for causal), as FlashAttention reports them. Prints a table; never
asserts a time.

    PYTHONPATH=python python3 bench/backward.py [--quick]
"""
import argparse
import os
import sys
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

import flashc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import SHAPES  # noqa: E402


ROUNDS = 5


def timed(fns):
    """{name: median us} of the functions ({name: (fn, SDPA backend or
    None)}), ROUNDS do_bench rounds each, taken in turn; None for a backend
    that refuses the shape (RuntimeError)."""
    samples = {name: [] for name in fns}
    for _ in range(ROUNDS):
        for name, (fn, backend) in fns.items():
            if samples[name] is None:
                continue
            try:
                with sdpa_kernel(backend) if backend else nullcontext():
                    samples[name].append(1000 * do_bench(
                        fn, warmup=5, rep=30, return_mode="median"))
            except RuntimeError:
                samples[name] = None
    return {name: sorted(s)[len(s) // 2] if s else None
            for name, s in samples.items()}


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
          f"median of {ROUNDS} interleaved do_bench rounds (us); "
          "speed-up = backend time / flashc time")
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

                def sdpa(q, k, v):
                    return F.scaled_dot_product_attention(
                        q, k, v, is_causal=causal)
                sdpa_step = lambda: step(sdpa, q, k, v, dout)
                fns = {"flashc": (lambda: step(ours, q, k, v, dout), None),
                       "flash": (sdpa_step, SDPBackend.FLASH_ATTENTION),
                       "cudnn": (sdpa_step, SDPBackend.CUDNN_ATTENTION)}
                peer_grads = None
                for backend in (SDPBackend.FLASH_ATTENTION,
                                SDPBackend.CUDNN_ATTENTION):
                    try:
                        with sdpa_kernel(backend):
                            peer_grads = [g.clone() for g in sdpa_step()]
                        break
                    except RuntimeError:  # the backend refuses the shape
                        pass
                peers = timed(fns)
                us = peers.pop("flashc")
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
