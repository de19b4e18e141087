#!/usr/bin/env python3
"""Times flashc on model shapes (every head dim; grouped-query attention)
against SDPA's flash and cuDNN backends, FlexAttention (GQA rows) and the
Triton kernel of shared/peers (head dims it takes), in one process.

Head-dim rows: (2, 16, 4096, d) for d in 32..256, causal and not, so that
TFLOP/s can be compared across head dims. GQA rows: 32 query heads over 8
K/V heads, head_dim 128, seq 4096 and 16384, against SDPA with
enable_gqa=True and FlexAttention with enable_gqa=True. flashc runs the
dynamic-shape bundles of test/GPU/make-bundles.sh (.carry/bundles). Each
output is checked against float64 on the first (batch, head); times are
medians of triton.testing.do_bench. Prints a table; never asserts a time.

  bench/shapes.py --runtime rt/lib/libflashc_runtime.so --bundles .carry/bundles \
      [--dtype bf16] [--triton shared/peers/triton_attention.py] [--json out.json]
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import flashc_runtime, load_triton_peer, time_triton  # noqa: E402

HEAD_DIMS = (32, 64, 80, 96, 128, 160, 192, 256)


def median_us(fn):
    fn()
    return 1000 * do_bench(fn, return_mode="median")


def time_sdpa(q, k, v, causal, gqa):
    times = {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                          ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                times[name] = median_us(lambda: F.scaled_dot_product_attention(
                    q, k, v, is_causal=causal, enable_gqa=gqa))
        except RuntimeError:
            times[name] = None
    return times


def time_flex(q, k, v, causal):
    from torch.nn.attention.flex_attention import (create_block_mask,
                                                   flex_attention)
    # One compiled kernel per shape: past dynamo's default of 8 recompiles
    # flex_attention would fall back to its unfused eager form and time
    # that instead (seen in bench/paged.py --flex's long tables).
    torch._dynamo.config.recompile_limit = max(
        torch._dynamo.config.recompile_limit, 256)
    flex = torch.compile(flex_attention, dynamic=False)
    mask = None
    if causal:
        mask = create_block_mask(lambda b, h, qi, ki: qi >= ki, None, None,
                                 q.shape[2], k.shape[2], device="cuda")
    try:
        return median_us(lambda: flex(q, k, v, block_mask=mask, enable_gqa=True))
    except Exception:  # noqa: BLE001 - a peer's own limits
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--bundles", required=True)
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--triton", default=None)
    ap.add_argument("--json", default="shapes.json")
    ap.add_argument("--only", choices=("head_dim", "gqa"), default=None,
                    help="only the head-dim rows or only the GQA rows")
    args = ap.parse_args()
    torch._dynamo.config.cache_size_limit = 64
    rt = flashc_runtime(args.runtime)
    peer = load_triton_peer(args.triton) if args.triton else None
    dtype = torch.float16 if args.dtype == "f16" else torch.bfloat16
    bound = 2e-3 if args.dtype == "f16" else 1e-2
    cases = [("head_dim", 2, 16, 16, 4096, d) for d in HEAD_DIMS]
    cases += [("gqa", 1, 32, 8, s, 128) for s in (4096, 16384)]
    cases = [c for c in cases if args.only in (None, c[0])]
    rows = []
    torch.manual_seed(0)
    for kind, b, h, kvh, s, d in cases:
        for causal in (False, True):
            mask = "causal" if causal else "full"
            with open(f"{args.bundles}/{args.dtype}_d{d}_{mask}.{args.arch}"
                      ".bundle", "rb") as f:
                kernel = rt.load(f.read())
            q = torch.randn(b, h, s, d, device="cuda", dtype=dtype)
            k, v = (torch.randn(b, kvh, s, d, device="cuda", dtype=dtype)
                    for _ in range(2))
            o = torch.full_like(q, float("nan"))
            rt.launch(kernel, q, k, v, o)
            torch.cuda.synchronize()
            group = h // kvh
            ref = F.scaled_dot_product_attention(
                q[:1, :1].double(), k[:1, :1].double(), v[:1, :1].double(),
                is_causal=causal)
            err = ((o[:1, :1].double() - ref).norm() / ref.norm()).item()
            if not torch.isfinite(o).all():
                err = float("nan")
            row = {"kind": kind, "shape": [b, h, kvh, s, d], "causal": causal,
                   "rel_l2": err,
                   "flashc_us": median_us(lambda: rt.launch(kernel, q, k, v, o))}
            row.update({f"{n}_us": t for n, t in
                        time_sdpa(q, k, v, causal, group > 1).items()})
            if kind == "gqa":
                row["flex_us"] = time_flex(q, k, v, causal)
            if peer and group == 1 and d & (d - 1) == 0:
                row["triton_us"] = time_triton(peer, q, k, v, causal, ref,
                                               args.dtype)
            flops = 4 * b * h * s * s * d / (2 if causal else 1)
            for key in ("flashc", "flash", "cudnn", "flex", "triton"):
                t = row.get(f"{key}_us")
                row[f"{key}_tflops"] = flops / (t * 1e-6) / 1e12 if t else None
            rows.append(row)
            del q, k, v, o

    def fmt(x, spec):
        return format(x, spec) if x is not None else "-"
    print(f"device: {rt.device_name()}; {args.dtype}; flashc {args.arch} PTX, "
          "dynamic-shape bundles; median of do_bench; TF = TFLOP/s; "
          "ratio = peer time / flashc time (> 1: flashc faster)")
    print(f"{'B,H,KVH,S,D':18} {'mask':6} {'flashc us':>9} {'TF':>5} "
          f"{'flash':>6} {'cudnn':>6} {'flex':>6} {'triton':>6} "
          f"{'best peer TF':>12} {'rel_l2':>8}")
    for r in rows:
        peers = [k for k in ("flash", "cudnn", "flex", "triton") if r.get(f"{k}_us")]
        ratio = {k: r[f"{k}_us"] / r["flashc_us"] for k in peers}
        best = max((r[f"{k}_tflops"] for k in peers), default=None)
        print(f"{','.join(map(str, r['shape'])):18} "
              f"{'causal' if r['causal'] else 'full':6} {r['flashc_us']:9.1f} "
              f"{r['flashc_tflops']:5.0f} "
              + " ".join(fmt(ratio.get(k), '6.2f') for k in
                         ("flash", "cudnn", "flex", "triton"))
              + f" {fmt(best, '12.0f')} {r['rel_l2']:8.1e}")
    json.dump({"device": rt.device_name(), "dtype": args.dtype, "rows": rows},
              open(args.json, "w"), indent=1)
    bad = [r for r in rows if not r["rel_l2"] < bound]
    if bad:
        print(f"{len(bad)} rows exceed the error bound", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
