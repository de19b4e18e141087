#!/usr/bin/env python3
"""Times dynamic-shape bundles of one strategy across tile configurations,
with cuDNN beside them, in one process.

Each bundle in DIR must be named DTYPE_dD_MASK_BMxBNxST.bundle (e.g.
bf16_d128_causal_128x128x2.bundle, compiled with an explicit config). Each
is first checked against a float64 reference on its first (batch, head) at
2x3x777, then timed (median of triton's do_bench) at the shapes of its head
dim. Prints a table: us, TFLOP/s, and cuDNN's time / the bundle's. Timings
are never asserted. (bench/RESULTS.md entries 22 and 24.)

  FLASHC_LIBRARY_DIR=rt/lib bench/tile_sweep.py DIR
"""
import argparse
import glob
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import flashc  # noqa: E402
from shapes import median_us, time_sdpa  # noqa: E402

SHAPES = {64: [(4, 16, 4096), (1, 16, 16384)],
          128: [(2, 16, 4096), (1, 16, 16384)],
          192: [(2, 16, 4096)], 256: [(2, 16, 4096)]}


def reference(q, k, v, causal):
    qd, kd, vd = (t[:1, :1].double() for t in (q, k, v))
    s = (qd @ kd.transpose(-1, -2)) / q.shape[-1] ** 0.5
    if causal:
        n, m = q.shape[2], k.shape[2]
        s = s.masked_fill(torch.ones(n, m, device="cuda", dtype=torch.bool)
                          .triu(1), float("-inf"))
    return torch.softmax(s, -1) @ vd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    args = ap.parse_args()
    rt = flashc._Runtime(torch.cuda.current_device())
    inputs, cudnn = {}, {}
    print(f"{'bundle':32} {'shape':12} {'us':>9} {'TF':>6} {'cudnn us':>9} "
          f"{'x cudnn':>7}")
    for path in sorted(glob.glob(os.path.join(args.dir, "*.bundle"))):
        name = os.path.basename(path)[:-len(".bundle")]
        dtype, dd, mask, _ = name.split("_")
        d, causal = int(dd[1:]), mask == "causal"
        tdt = torch.float16 if dtype == "f16" else torch.bfloat16
        kernel = rt.load(open(path, "rb").read())
        q, k, v = (torch.randn(2, 3, 777, d, device="cuda", dtype=tdt)
                   for _ in range(3))
        o = torch.full_like(q, float("nan"))
        rt.launch(kernel, q, k, v, o)
        torch.cuda.synchronize()
        ref = reference(q, k, v, causal)
        err = ((o[:1, :1].double() - ref).norm() / ref.norm()).item()
        if not (err < (2e-3 if dtype == "f16" else 1e-2)) or \
                not torch.isfinite(o).all():
            print(f"WRONG {name} rel_l2 {err}")
            continue
        for shape in SHAPES[d]:
            key = (dtype, d, causal, shape)
            if key not in inputs:
                inputs[key] = tuple(torch.randn(*shape, d, device="cuda",
                                                dtype=tdt) for _ in range(3))
                cudnn[key] = time_sdpa(*inputs[key], causal, False)["cudnn"]
            q, k, v = inputs[key]
            o = torch.empty_like(q)
            us = median_us(lambda: rt.launch(kernel, q, k, v, o))
            b, h, s = shape
            tf = 4 * b * h * s * s * d * (0.5 if causal else 1) / us / 1e6
            c = cudnn[key]
            print(f"{name:32} {f'{b}x{h}x{s}':12} {us:9.1f} {tf:6.0f} "
                  f"{c or 0:9.1f} {(c / us if c else 0):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
