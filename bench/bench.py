#!/usr/bin/env python3
"""Times flashc kernels against PyTorch SDPA on the same inputs, in one process.

For every shape of shared/ANCHORS.md, f16 and bf16, causal and not: flashc
(through the Python module's ctypes wrapper of the runtime's C API, on
torch's tensors and stream),
SDPA's FLASH_ATTENTION and CUDNN_ATTENTION backends, and with --triton the
plain Triton kernel of shared/peers (each of its CONFIGS checked against the
reference, the fastest correct one kept). Each time is the median
of triton.testing.do_bench (CUDA events, L2 flushed between runs, as in
ANCHORS.md). Prints a table (µs, TFLOP/s, ratio flashc/backend as speed-up:
> 1 means flashc is faster), writes JSON and draws the table as a PNG chart
(bench/chart.py; --chart). Timings are never asserted.

  bench/bench.py --runtime rt/lib/libflashc_runtime.so --bundles .carry/bundles \
      [--arch sm_90a] [--json out.json] [--chart out.png] [--dtypes f16,bf16]
      [--quick] [--triton path/to/triton_attention.py]
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
from chart import write_chart  # noqa: E402

SHAPES = [(1, 8, 512, 64), (8, 16, 512, 64), (4, 16, 2048, 64),
          (2, 16, 4096, 64), (4, 16, 2048, 128), (2, 16, 4096, 128),
          (1, 16, 16384, 128)]


def flashc_runtime(library):
    """The Python module's runtime wrapper (python/flashc), on `library`."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "python"))
    os.environ["FLASHC_LIBRARY_DIR"] = os.path.dirname(os.path.abspath(library))
    import flashc
    torch.cuda.init()
    torch.zeros(1, device="cuda")  # torch's primary context first
    return flashc._Runtime(torch.cuda.current_device())


def time_sdpa(q, k, v, causal):
    """SDPA's FLASH_ATTENTION and CUDNN_ATTENTION backends on these inputs:
    {"flash": us, "cudnn": us}, median of do_bench; None where a backend
    refuses the inputs."""
    times = {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                          ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                fn = lambda: F.scaled_dot_product_attention(
                    q, k, v, is_causal=causal)
                fn()
                times[name] = 1000 * do_bench(fn, return_mode="median")
        except RuntimeError:
            times[name] = None
    return times


def compile_static(flashc, arch, dtype, b, h, s, d, causal):
    """The bundle flashc compiles for a file with these static sizes."""
    import subprocess
    import tempfile
    t = f"memref<{b}x{h}x{s}x{d}x{dtype}>"
    text = (f"func.func @attention(%q: {t}, %k: {t}, %v: {t}, %o: {t}) {{\n"
            f"  flash.attention %q, %k, %v -> %o {'causal' if causal else ''} "
            f": {t}, {t}, {t} -> {t}\n  return\n}}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".mlir") as f:
        f.write(text)
        f.flush()
        return subprocess.run([flashc, f.name, "--arch", arch, "--emit=bundle",
                               "-o", "-"], check=True,
                              capture_output=True).stdout


def load_triton_peer(path):
    """The Triton peer module (attention(q, k, v, causal, cfg), CONFIGS)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("triton_peer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_triton(peer, q, k, v, causal, ref, dtype_name):
    """The fastest of the peer's CONFIGS that is correct on the first
    (batch, head) against `ref` (a config that fails to compile, e.g. for
    want of shared memory, or is wrong, is skipped); None if none is."""
    bound = 2e-3 if dtype_name == "f16" else 1e-2
    best = None
    for cfg in peer.CONFIGS:
        try:
            o = peer.attention(q, k, v, causal, cfg)
            torch.cuda.synchronize()
        except Exception:  # noqa: BLE001 - the peer's own limits
            continue
        err = ((o[:1, :1].double() - ref).norm() / ref.norm()).item()
        if not (err < bound) or not torch.isfinite(o).all():
            continue
        us = 1000 * do_bench(lambda: peer.attention(q, k, v, causal, cfg),
                             return_mode="median")
        best = us if best is None else min(best, us)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--bundles", default=None)
    ap.add_argument("--arch", default="sm_90a",
                    help="the PTX target (default sm_90a: the H100/H200 the "
                    "device machines have)")
    ap.add_argument("--json", default="bench.json")
    ap.add_argument("--dtypes", default="f16,bf16")
    ap.add_argument("--quick", action="store_true", help="first 3 shapes only")
    ap.add_argument("--chart", default=None,
                    help="PNG chart of the table (default: the JSON's name "
                    "with .png)")
    ap.add_argument("--triton", default=None,
                    help="the Triton peer (shared/peers/triton_attention.py) "
                    "to time beside SDPA")
    ap.add_argument("--flashc", help="a flashc binary (e.g. the static build): "
                    "compile a static-shape kernel per row, as a user's file "
                    "would be, instead of the dynamic-shape bundles")
    args = ap.parse_args()

    rt = flashc_runtime(args.runtime)
    device = rt.device_name()
    triton_peer = load_triton_peer(args.triton) if args.triton else None
    rows = []
    shapes = SHAPES[:3] if args.quick else SHAPES
    torch.manual_seed(0)
    for dtype_name in args.dtypes.split(","):
        dtype = torch.float16 if dtype_name == "f16" else torch.bfloat16
        for causal in (False, True):
            for (b, h, s, d) in shapes:
                mask = "causal" if causal else "full"
                if args.flashc:
                    kernel = rt.load(compile_static(
                        args.flashc, args.arch, dtype_name, b, h, s, d, causal))
                else:
                    with open(f"{args.bundles}/{dtype_name}_d{d}_{mask}."
                              f"{args.arch}.bundle", "rb") as f:
                        kernel = rt.load(f.read())
                q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                           for _ in range(3))
                o = torch.full_like(q, float("nan"))
                rt.launch(kernel, q, k, v, o)
                torch.cuda.synchronize()
                # float64 reference on the first head of the first batch (the
                # full one would not fit at seq 16k).
                ref = F.scaled_dot_product_attention(
                    q[:1, :1].double(), k[:1, :1].double(), v[:1, :1].double(),
                    is_causal=causal)
                err = ((o[:1, :1].double() - ref).norm() / ref.norm()).item()
                if not torch.isfinite(o).all():  # poison (NaN) left anywhere
                    err = float("nan")
                flops = 4 * b * h * s * s * d / (2 if causal else 1)
                row = {"dtype": dtype_name, "causal": causal, "shape": [b, h, s, d],
                       "rel_l2": err}
                row["flashc_us"] = 1000 * do_bench(
                    lambda: rt.launch(kernel, q, k, v, o), return_mode="median")
                for name, us in time_sdpa(q, k, v, causal).items():
                    row[f"{name}_us"] = us
                if triton_peer:
                    row["triton_us"] = time_triton(triton_peer, q, k, v, causal,
                                                   ref, dtype_name)
                for key in ("flashc", "flash", "cudnn", "triton"):
                    t = row.get(f"{key}_us")
                    row[f"{key}_tflops"] = flops / (t * 1e-6) / 1e12 if t else None
                rows.append(row)
                del q, k, v, o, ref

    def fmt(x, spec):
        return format(x, spec) if x is not None else "-"
    print(f"device: {device}; flashc {args.arch} PTX; median of do_bench (µs); "
          "speed-up = backend time / flashc time")
    print(f"{'dtype':5} {'mask':6} {'B,H,S,D':16} {'flashc us':>10} {'TF':>6} "
          f"{'flash us':>9} {'TF':>6} {'cudnn us':>9} {'TF':>6} {'vs flash':>8} "
          f"{'vs cudnn':>8} {'triton us':>9} {'vs triton':>9} {'rel_l2':>8}")
    for r in rows:
        vs = lambda key: (r[f"{key}_us"] / r["flashc_us"]) if r.get(f"{key}_us") else None
        print(f"{r['dtype']:5} {'causal' if r['causal'] else 'full':6} "
              f"{','.join(map(str, r['shape'])):16} {r['flashc_us']:10.1f} "
              f"{r['flashc_tflops']:6.0f} {fmt(r['flash_us'], '9.1f')} "
              f"{fmt(r['flash_tflops'], '6.0f')} {fmt(r['cudnn_us'], '9.1f')} "
              f"{fmt(r['cudnn_tflops'], '6.0f')} {fmt(vs('flash'), '8.2f')} "
              f"{fmt(vs('cudnn'), '8.2f')} {fmt(r.get('triton_us'), '9.1f')} "
              f"{fmt(vs('triton'), '9.2f')} {r['rel_l2']:8.1e}")
    json.dump({"device": device, "arch": args.arch, "rows": rows},
              open(args.json, "w"), indent=1)
    chart = args.chart or os.path.splitext(args.json)[0] + ".png"
    if write_chart(rows, device, chart, f", flashc {args.arch} PTX"):
        print(f"chart: {chart}")
    bad = [r for r in rows if not (r["rel_l2"] < (2e-3 if r["dtype"] == "f16" else 1e-2))]
    if bad:
        print(f"{len(bad)} rows exceed the error bound", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
