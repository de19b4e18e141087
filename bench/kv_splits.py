#!/usr/bin/env python3
"""What being able to split a K/V loop at launch costs a prefill kernel.

For each default kernel with one strip a warp (compiled able to split, and
launched at the runtime's choice, which is one split at these sizes)
against the same tiles compiled without splits (bench/kv_splits.sh prepare
makes both, dynamic shapes, sm_90): median µs of triton's do_bench, both
checked first against float64 on the first (batch, head). Prints a table;
never asserts a time.

  bench/kv_splits.py --runtime rt/lib/libflashc_runtime.so --bundles .carry/kv-splits
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import flashc_runtime  # noqa: E402
from shapes import median_us  # noqa: E402

KERNELS = (("bf16_d128_causal", torch.bfloat16, 128, True),
           ("bf16_d192_full", torch.bfloat16, 192, False),
           ("f16_d256_causal", torch.float16, 256, True))
SHAPES = ((2, 16, 4096), (1, 8, 16384))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--bundles", required=True)
    args = ap.parse_args()
    runtime = flashc_runtime(args.runtime)
    print(f"device {torch.cuda.get_device_name()}")
    print("| kernel | b x h x s | split-capable us (splits) | unsplit us | "
          "unsplit / capable |")
    print("|---|---|---|---|---|")
    for name, dtype, d, causal in KERNELS:
        kernels = []
        for suffix in ("", "_nosplit"):
            with open(os.path.join(args.bundles, f"{name}{suffix}.bundle"),
                      "rb") as f:
                kernels.append(runtime.load(f.read()))
        for b, h, s in SHAPES:
            q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                       for _ in range(3))
            ref = F.scaled_dot_product_attention(
                q[:1, :1].double(), k[:1, :1].double(), v[:1, :1].double(),
                is_causal=causal)
            times = []
            for kernel in kernels:
                out = torch.full_like(q, float("nan"))
                runtime.launch(kernel, q, k, v, out)
                err = ((out[:1, :1].double() - ref).norm() / ref.norm()).item()
                if not err < 1e-2 or torch.isnan(out).any():
                    times.append(None)
                    continue
                times.append(
                    median_us(lambda: runtime.launch(kernel, q, k, v, out)))
            splits = runtime.kv_splits(kernels[0], q, k)
            if None in times:
                print(f"| {name} | {b}x{h}x{s} | WRONG | WRONG | - |")
                continue
            print(f"| {name} | {b}x{h}x{s} | {times[0]:.1f} ({splits}) | "
                  f"{times[1]:.1f} | {times[1] / times[0]:.3f} |")


if __name__ == "__main__":
    main()
