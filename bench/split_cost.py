#!/usr/bin/env python3
"""What being able to split the K/V loop costs and gives: each kernel in DIR
as NAME.capable.bundle (compiled able to split) and NAME.nosplit.bundle
(the same tiles, unable to), timed unsplit, capable with 1 split, and
capable at the runtime's choice, with cuDNN beside them. Each output is
checked against float64 on its first (batch, head) first. Prints a table;
never asserts a time. (bench/RESULTS.md entries 23 and 25.)

NAME is DTYPE_dD_MASK (e.g. bf16_d128_full); shapes per kernel below.

  FLASHC_LIBRARY_DIR=rt/lib bench/split_cost.py DIR
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import flashc  # noqa: E402
from shapes import median_us, time_sdpa  # noqa: E402
from tile_sweep import reference  # noqa: E402

# (name, [(batch, heads, seq_q, seq_k, kv_heads)]): full grids, small ones,
# and 64 queries against long keys.
CASES = [
    ("f16_d64_full", [(4, 16, 4096, 4096, 16), (1, 8, 512, 512, 8),
                      (1, 2, 1024, 1024, 2)]),
    ("bf16_d128_full", [(2, 16, 4096, 4096, 16), (1, 16, 16384, 16384, 16),
                        (1, 4, 2048, 2048, 4), (8, 8, 64, 16384, 8)]),
    ("bf16_d128_causal", [(2, 16, 4096, 4096, 16),
                          (1, 16, 16384, 16384, 16)]),
    ("f16_d256_full", [(2, 16, 4096, 4096, 16)]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    args = ap.parse_args()
    rt = flashc._Runtime(torch.cuda.current_device())
    print(f"{'kernel':20} {'shape':22} {'nosplit us':>10} "
          f"{'capable(1) us':>13} {'capable(choice) us':>18} {'splits':>6} "
          f"{'cudnn us':>9}")
    for name, shapes in CASES:
        paths = [os.path.join(args.dir, f"{name}.{tag}.bundle")
                 for tag in ("nosplit", "capable")]
        if not all(os.path.exists(p) for p in paths):
            print(f"{name}: no bundles in {args.dir}")
            continue
        nosplit, capable = (rt.load(open(p, "rb").read()) for p in paths)
        causal = name.endswith("causal")
        d = int(name.split("_d")[1].split("_")[0])
        dt = torch.float16 if name.startswith("f16") else torch.bfloat16
        for (b, h, sq, sk, kvh) in shapes:
            q = torch.randn(b, h, sq, d, device="cuda", dtype=dt)
            k = torch.randn(b, kvh, sk, d, device="cuda", dtype=dt)
            v = torch.randn(b, kvh, sk, d, device="cuda", dtype=dt)
            ref = reference(q, k, v, causal)
            cells = []
            for kernel, splits in ((nosplit, None), (capable, 1),
                                   (capable, 0)):
                if splits is not None:
                    rt.set_kv_splits(kernel, splits)
                o = torch.full_like(q, float("nan"))
                rt.launch(kernel, q, k, v, o)
                torch.cuda.synchronize()
                err = ((o[:1, :1].double() - ref).norm() / ref.norm()).item()
                bound = 2e-3 if dt == torch.float16 else 1e-2
                if not (err < bound) or not torch.isfinite(o).all():
                    cells.append(f"WRONG {err:.1e}")
                    continue
                cells.append(
                    f"{median_us(lambda: rt.launch(kernel, q, k, v, o)):.1f}")
            chosen = rt.kv_splits(capable, q, k)
            cd = time_sdpa(q, k, v, causal, kvh != h)["cudnn"]
            shape = f"{b}x{h}x{sq}x{sk} kv{kvh}"
            print(f"{name:20} {shape:22} {cells[0]:>10} {cells[1]:>13} "
                  f"{cells[2]:>18} {chosen:>6} {cd or 0:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
