#!/usr/bin/env python3
"""Times several static-shape flashc bundles against PyTorch SDPA, side by side.

For A/B experiments: each bundle (one per tile configuration or code
generation variant) is checked against a float64 reference on its first
(batch, head) and timed with triton.testing.do_bench (median, L2 flushed
between runs, as bench.py and shared/ANCHORS.md do). SDPA's FLASH_ATTENTION
and CUDNN_ATTENTION backends are timed once per distinct (dtype, shape,
mask), on the same inputs, in the same process. Prints one table, grouped by
problem, and writes JSON. Timings are never asserted.

  bench/compare.py --runtime rt/lib/libflashc_runtime.so A.bundle B.bundle ...
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from triton.testing import do_bench

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import flashc_runtime, time_sdpa  # noqa: E402


def bundle_header(data):
    """The bundle's 'key value' lines before its PTX (docs/Bundle.md)."""
    header = {}
    for line in data.split(b"\n"):
        if line.startswith(b"ptx "):
            break
        key, _, value = line.decode().partition(" ")
        header[key] = value
    return header


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--json", default="compare.json")
    ap.add_argument("--inputs", choices=("randn", "rising"), default="randn",
                    help="rising: keys ramp up along the sequence (scores "
                    "rise by ~60 in log2 units), so the softmax max keeps "
                    "moving: a numerics check, not a benchmark")
    ap.add_argument("bundles", nargs="+", help="static-shape bundles")
    args = ap.parse_args()

    rt = flashc_runtime(args.runtime)
    problems = {}  # (dtype, shape, causal) -> [(label, bundle bytes)]
    for path in args.bundles:
        data = open(path, "rb").read()
        header = bundle_header(data)
        b, h, s, sk = (int(x) for x in header["shape"].split())
        if min(b, h, s, sk) <= 0 or s != sk:
            sys.exit(f"{path}: needs a static shape with seq_q == seq_k")
        key = (header["element"], (b, h, s, int(header["head_dim"])),
               header["causal"] == "1")
        label = os.path.basename(path).removesuffix(".bundle")
        problems.setdefault(key, []).append((label, data))

    rows = []
    torch.manual_seed(0)
    for (dtype_name, (b, h, s, d), causal), variants in problems.items():
        dtype = torch.float16 if dtype_name == "f16" else torch.bfloat16
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                   for _ in range(3))
        if args.inputs == "rising":
            q = (1 + 0.1 * torch.randn(b, h, s, d, device="cuda")).to(dtype)
            ramp = torch.linspace(0, 4, s, device="cuda")[:, None]
            k = (0.3 * torch.randn(b, h, s, d, device="cuda") + ramp).to(dtype)
        ref = F.scaled_dot_product_attention(
            q[:1, :1].double(), k[:1, :1].double(), v[:1, :1].double(),
            is_causal=causal)
        flops = 4 * b * h * s * s * d / (2 if causal else 1)
        base = time_sdpa(q, k, v, causal)
        for label, data in variants:
            kernel = rt.load(data)
            o = torch.full_like(q, float("nan"))
            rt.launch(kernel, q, k, v, o)
            torch.cuda.synchronize()
            err = ((o[:1, :1].double() - ref).norm() / ref.norm()).item()
            if not torch.isfinite(o).all():  # poison (NaN) left anywhere
                err = float("nan")
            if not err < (2e-3 if dtype_name == "f16" else 1e-2):
                us = None  # wrong (NaN included): not timed
            else:
                us = 1000 * do_bench(lambda: rt.launch(kernel, q, k, v, o),
                                     return_mode="median")
            rows.append({"label": label, "dtype": dtype_name,
                         "shape": [b, h, s, d], "causal": causal,
                         "rel_l2": err, "flashc_us": us,
                         "flash_us": base["flash"], "cudnn_us": base["cudnn"],
                         "flashc_tflops": flops / us / 1e6 if us else None})
        del q, k, v, o, ref

    print(f"device: {rt.device_name()}; median of do_bench (us); "
          "speed-up = backend time / flashc time")
    print(f"{'variant':34} {'dtype':5} {'mask':6} {'B,H,S,D':15} {'us':>9} "
          f"{'TF':>5} {'flash':>8} {'cudnn':>8} {'vs fl':>6} {'vs cu':>6} "
          f"{'rel_l2':>8}")
    ratio = lambda base, us: f"{base / us:6.2f}" if base and us else f"{'-':>6}"
    for r in rows:
        us = r["flashc_us"]
        print(f"{r['label'][:34]:34} {r['dtype']:5} "
              f"{'causal' if r['causal'] else 'full':6} "
              f"{','.join(map(str, r['shape'])):15} "
              f"{us if us else float('nan'):9.1f} "
              f"{r['flashc_tflops'] or 0:5.0f} {r['flash_us'] or 0:8.1f} "
              f"{r['cudnn_us'] or 0:8.1f} {ratio(r['flash_us'], us)} "
              f"{ratio(r['cudnn_us'], us)} {r['rel_l2']:8.1e}")
    json.dump({"device": rt.device_name(), "rows": rows},
              open(args.json, "w"), indent=1)
    return 1 if any(r["flashc_us"] is None for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
