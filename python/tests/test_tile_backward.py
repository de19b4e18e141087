#!/usr/bin/env python3
"""The backward's dQ tile program (examples/tile/backward_dq.mlir: causal,
head_dim 64, f16, scale 1/8) on the GPU against float64 autograd.

    flashc examples/tile/backward_dq.mlir --arch sm_90 -o dq.bundle   # with MLIR
    test_dq_kernel.py dq.bundle                                     # on the GPU

The forward (flashc.attention with the log-sum-exp) comes from the warmed
cache (python/tests/warm_cache.py). D = rowsum(dO * O) is computed by
PyTorch; the kernel takes dO, the log-sum-exp and D as captures and writes
dQ, poisoned with NaN before each launch. Prints one line per check and
'N passed, M failed'; exit 0 only if all passed.
"""
import math
import sys

import torch

import flashc
from report import check, finish

BOUND = 2e-3  # relative L2, f16 (as test_backward.py)


def reference_dq(q, k, v, dout):
    """dQ of causal attention (scale 1/sqrt(64)) in float64."""
    q64 = q.double().requires_grad_()
    s = (q64 @ k.double().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    n = q.shape[2]
    hidden = torch.arange(n, device=q.device) > torch.arange(n, device=q.device)[:, None]
    p = torch.softmax(s.masked_fill(hidden, -math.inf), -1)
    out = p @ v.double()
    (dq,) = torch.autograd.grad((out * dout.double()).sum(), (q64,))
    dv = p.transpose(-1, -2) @ dout.double()
    return dq, dv.norm()


if len(sys.argv) != 2:
    sys.exit(__doc__)
torch.manual_seed(0)
runtime, _ = flashc._runtime_of(torch, torch.empty(1, device="cuda"))
kernel = runtime.load(open(sys.argv[1], "rb").read())
for (b, h, s) in ((1, 1, 1), (2, 3, 17), (1, 4, 130), (2, 2, 1000), (1, 8, 4096)):
    q, k, v, dout = (torch.randn(b, h, s, 64, device="cuda", dtype=torch.float16)
                     for _ in range(4))
    with torch.no_grad():
        out, lse = flashc.attention(q, k, v, causal=True, return_lse=True)
    delta = (dout.float() * out.float()).sum(-1)
    dq = torch.full_like(q, float("nan"))
    runtime.launch_with(kernel, q, k, v, dq, None, [dout, lse, delta])
    torch.cuda.synchronize()
    ref, scale = reference_dq(q, k, v, dout)
    # Against the larger of dQ's norm and dV's (dQ is zero at seq 1).
    err = ((dq.double() - ref).norm() / torch.maximum(ref.norm(), scale)).item()
    check(f"dQ causal d=64 f16 {(b, h, s)}",
          torch.isfinite(dq).all().item() and err < BOUND, f"rel_l2={err:.2e}")
finish()
