#!/usr/bin/env python3
"""The backward's tile programs as written in examples/tile/
(backward_dq.mlir, backward_dkdv.mlir and backward_fused.mlir: causal,
head_dim 64, f16, scale 1/8) on the GPU against float64 autograd.

    flashc examples/tile/backward_dq.mlir --arch sm_90 -o dq.bundle      # with MLIR
    flashc examples/tile/backward_dkdv.mlir --arch sm_90 -o dkdv.bundle
    flashc examples/tile/backward_fused.mlir --arch sm_90 -o fused.bundle
    flashc examples/tile/backward_dq_delta.mlir --arch sm_90 -o delta.bundle
    test_tile_backward.py dq.bundle dkdv.bundle [fused.bundle] [--delta delta.bundle] [--small]  # on the GPU

The forward (flashc.attention with the log-sum-exp) comes from the warmed
cache (python/tests/warm_cache.py). D = rowsum(dO * O) is computed by
PyTorch; the kernels take dO, the log-sum-exp and D (and the dK/dV program
V and dK; the fused one also an f32 dQ, zeroed) as captures and write
dQ, dK and dV, poisoned with NaN before each launch (--small: without the largest shape, for compute-sanitizer).
With --delta, the dQ program that computes D itself (from dO and the
forward's output, a fourth capture) writes D into a NaN-poisoned tensor;
D is checked against float64 and the dK/dV program then reads it.
Prints one line per check and 'N passed, M failed'; exit 0 only if all
passed.
"""
import math
import sys

import torch

import flashc
from report import check, finish

BOUND = 2e-3  # relative L2, f16 (as test_backward.py)


def reference(q, k, v, dout):
    """dQ, dK, dV of causal attention (scale 1/sqrt(64)) in float64."""
    q64, k64, v64 = (t.double().requires_grad_() for t in (q, k, v))
    s = (q64 @ k64.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    n = q.shape[2]
    hidden = torch.arange(n, device=q.device) > torch.arange(n, device=q.device)[:, None]
    out = torch.softmax(s.masked_fill(hidden, -math.inf), -1) @ v64
    return torch.autograd.grad((out * dout.double()).sum(), (q64, k64, v64))


def rel_l2(x, ref, scale):
    """Against the larger of the reference's norm and `scale` (dV's): dQ
    and dK are zero at seq 1."""
    return ((x.double() - ref).norm() / torch.maximum(ref.norm(), scale)).item()


small = "--small" in sys.argv[3:]
args = [a for a in sys.argv[1:] if a != "--small"]
delta_path = None
if "--delta" in args:
    at = args.index("--delta")
    if at + 1 >= len(args):
        sys.exit(__doc__)
    delta_path = args.pop(at + 1)
    args.pop(at)
paths = args
if len(paths) not in (2, 3):
    sys.exit(__doc__)
torch.manual_seed(0)
runtime, _ = flashc._runtime_of(torch, torch.empty(1, device="cuda"))
kernels = [runtime.load(open(path, "rb").read()) for path in paths]
dq_kernel, dkdv_kernel = kernels[:2]
delta_kernel = (runtime.load(open(delta_path, "rb").read()) if delta_path
                else None)
shapes = [(1, 1, 1), (2, 3, 17), (1, 4, 130), (2, 2, 1000), (1, 8, 4096)]
for (b, h, s) in shapes[:-1] if small else shapes:
    q, k, v, dout = (torch.randn(b, h, s, 64, device="cuda", dtype=torch.float16)
                     for _ in range(4))
    with torch.no_grad():
        out, lse = flashc.attention(q, k, v, causal=True, return_lse=True)
    delta = (dout.float() * out.float()).sum(-1)
    dq, dk, dv = (torch.full_like(q, float("nan")) for _ in range(3))
    runtime.launch_with(dq_kernel, q, k, v, dq, None, [dout, lse, delta])
    runtime.launch_with(dkdv_kernel, k, q, dout, dv, None, [v, dk, lse, delta])
    results = {"": (dq, dk, dv)}
    if len(kernels) == 3:
        dq_acc = torch.zeros(q.shape, device="cuda", dtype=torch.float32)
        fdk, fdv = (torch.full_like(q, float("nan")) for _ in range(2))
        runtime.launch_with(kernels[2], k, q, dout, fdv, None,
                            [v, fdk, lse, delta, dq_acc])
        results["fused "] = (dq_acc.half(), fdk, fdv)
    if delta_kernel:
        own = torch.full_like(delta, float("nan"))
        odq, odk, odv = (torch.full_like(q, float("nan")) for _ in range(3))
        runtime.launch_with(delta_kernel, q, k, v, odq, None,
                            [dout, lse, own, out])
        runtime.launch_with(dkdv_kernel, k, q, dout, odv, None,
                            [v, odk, lse, own])
        results["own D "] = (odq, odk, odv)
        want = (dout.double() * out.double()).sum(-1)
        err = ((own.double() - want).norm() /
               want.norm().clamp_min(1e-30)).item()
        check(f"D computed by the dQ program {(b, h, s)}",
              torch.isfinite(own).all().item() and err < 1e-5,
              f"rel_l2={err:.2e}")
    torch.cuda.synchronize()
    refs = reference(q, k, v, dout)
    scale = refs[2].norm()
    for label, grads in results.items():
        for name, got, ref in zip(("dQ", "dK", "dV"), grads, refs):
            err = rel_l2(got, ref, scale)
            check(f"{label}{name} causal d=64 f16 {(b, h, s)}",
                  torch.isfinite(got).all().item() and err < BOUND,
                  f"rel_l2={err:.2e}")
finish()
