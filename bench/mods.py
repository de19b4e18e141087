#!/usr/bin/env python3
"""flashc's score and mask modifiers against torch.compile(flex_attention).

For each modifier of bench/mod_kernels.py (the examples/mods set), on the
same inputs: flashc (bundles from bench/mod_kernels.py, launched through the
Python module's runtime wrapper) and FlexAttention (score_mod / BlockMask),
and flashc's plain causal kernel beside them. Prints, per row, the median
times (triton.testing.do_bench, L2 flushed), FlexAttention/flashc as a
speed-up, the flashc output's relative L2 distance to FlexAttention's,
FlexAttention's first-call (compile) time and its create_block_mask time.

--check compares flashc with a float64 PyTorch reference of the same
modifiers instead (odd shapes and tails, output and LSE); exit 1 on any
failure. Timings are never asserted.

  bench/mods.py --runtime rt/lib/libflashc_runtime.so --bundles .carry/mod-bundles \
      [--arch sm_90] [--dtypes f16,bf16] [--check] [--mods a,b]
"""
import argparse
import math
import os
import sys
import time

import torch
from triton.testing import do_bench

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mod_kernels import MODS, bundle_name  # noqa: E402

BENCH_SHAPES = [(4, 16, 4096, 4096, 64), (2, 16, 8192, 8192, 128),
                (1, 32, 16384, 16384, 128)]
DECODE_SHAPES = [(8, 16, 1, 8192, 128), (8, 16, 16, 8192, 128),
                 (1, 32, 16, 16384, 128)]
CHECK_SHAPES = [(2, 3, 777, 777, 64), (1, 2, 130, 1000, 128),
                (2, 2, 1000, 130, 64), (1, 2, 1, 1, 64), (2, 1, 300, 300, 128)]
DECODE_CHECK = [(3, 4, 1, 3000, 64), (2, 4, 16, 5000, 128), (1, 2, 7, 7, 64),
                (1, 2, 40, 17, 128)]
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16}


def make_captures(name, b, h, sq, sk, device, gen):
    """The modifier's captured tensors, as the kernel takes them."""
    if name == "alibi":
        return [torch.tensor([2.0 ** (-8.0 * (i + 1) / h) for i in range(h)],
                             dtype=torch.float32, device=device)]
    if name == "document_mask":
        # Documents of random lengths (mean about seq / 8) per batch row; one
        # id per position of the longer of Q and K (both index it).
        n = max(sq, sk)
        ids = torch.empty(b, n, dtype=torch.int32)
        for row in range(b):
            lengths = torch.randint(1, max(2, n // 4), (n,), generator=gen)
            starts = torch.cumsum(lengths, 0)
            ids[row] = torch.bucketize(torch.arange(n), starts, right=True)
        return [ids.to(device)]
    if name == "relative_bias":
        return [(0.5 * torch.randn(sq + sk - 1, generator=gen)).to(device)]
    return []


def mod_functions(name, caps, sq, sk):
    """(score_mod, mask_mod) in FlexAttention's form; None where absent.
    Both are plain tensor code, so that the float64 reference uses them too."""
    causal_tl = lambda b, h, q, kv: kv <= q
    if name == "causal":
        return None, causal_tl
    if name == "softcap":
        return (lambda s, b, h, q, kv: 50.0 * torch.tanh(s / 50.0)), causal_tl
    if name == "alibi":
        slopes = caps[0]
        return (lambda s, b, h, q, kv: s + slopes[h] * (kv - q)), causal_tl
    if name.startswith("sliding_window_"):
        w = int(name.rsplit("_", 1)[1])
        return None, lambda b, h, q, kv: (kv <= q) & (q - kv < w)
    if name == "document_mask":
        docs = caps[0]
        return None, lambda b, h, q, kv: (kv <= q) & (docs[b, q] == docs[b, kv])
    if name == "prefix_lm":
        return None, lambda b, h, q, kv: (kv < 256) | (kv <= q)
    if name == "relative_bias":
        table = caps[0]
        return (lambda s, b, h, q, kv: s + table[kv - q + sq - 1]), None
    if name == "decode_bottom_right":
        return None, lambda b, h, q, kv: kv <= q + (sk - sq)
    raise KeyError(name)


def reference(q, k, v, score_mod, mask_mod):
    """float64 attention with the modifiers (rows that see no key: 0 and
    LSE -inf)."""
    b, h, sq, d = q.shape
    sk = k.shape[2]
    s = torch.einsum("bhqd,bhkd->bhqk", q.double(), k.double()) / math.sqrt(d)
    bi = torch.arange(b, device=q.device).view(b, 1, 1, 1)
    hi = torch.arange(h, device=q.device).view(1, h, 1, 1)
    qi = torch.arange(sq, device=q.device).view(1, 1, sq, 1)
    ki = torch.arange(sk, device=q.device).view(1, 1, 1, sk)
    if score_mod:
        s = score_mod(s, bi, hi, qi, ki).double()
    if mask_mod:
        s = s.masked_fill(~mask_mod(bi, hi, qi, ki).expand_as(s), -math.inf)
    lse = torch.logsumexp(s, dim=-1)
    p = torch.exp(s - lse.unsqueeze(-1)).nan_to_num(0.0)
    return torch.einsum("bhqk,bhkd->bhqd", p, v.double()), lse


class Flashc:
    def __init__(self, runtime_lib, bundles, arch):
        sys.path.insert(0, os.path.join(HERE, "..", "python"))
        os.environ["FLASHC_LIBRARY_DIR"] = os.path.dirname(
            os.path.abspath(runtime_lib))
        import flashc
        torch.zeros(1, device="cuda")
        self.rt = flashc._Runtime(torch.cuda.current_device())
        self.bundles, self.arch = bundles, arch

    def kernel(self, name, dtype, d):
        path = os.path.join(self.bundles, bundle_name(name, dtype, d, self.arch))
        with open(path, "rb") as f:
            return self.rt.kernel(path, f.read())

    def run(self, kernel, q, k, v, caps, lse=None):
        out = torch.empty_like(q)
        self.rt.launch_with(kernel, q, k, v, out, lse, caps)
        return out


def rel_l2(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def check(fc, names, dtypes):
    gen = torch.Generator().manual_seed(0)
    failures = 0
    print(f"{'modifier':<22} {'dtype':<5} {'shape':<22} {'rel_l2':>9} "
          f"{'bound':>6} {'lse_err':>9}  result")
    for name in names:
        shapes = DECODE_CHECK if name == "decode_bottom_right" else CHECK_SHAPES
        for dtype in dtypes:
            for (b, h, sq, sk, d) in shapes:
                dt = DTYPES[dtype]
                q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dt)
                           for s in (sq, sk, sk))
                caps = make_captures(name, b, h, sq, sk, "cuda", gen)
                score_mod, mask_mod = mod_functions(name, caps, sq, sk)
                kernel = fc.kernel(name, dtype, d)
                has_lse = fc.rt.lib.flashc_kernel_has_lse(kernel)
                lse = torch.full((b, h, sq), float("nan"), device="cuda") \
                    if has_lse else None
                out = torch.full_like(q, float("nan"))
                fc.rt.launch_with(kernel, q, k, v, out, lse, caps)
                torch.cuda.synchronize()
                ref, ref_lse = reference(q, k, v, score_mod, mask_mod)
                err = rel_l2(out, ref)
                bound = 1e-2 if dtype == "bf16" else 2e-3
                ok = not torch.isnan(out).any().item() and err < bound
                lse_err = float("nan")
                if has_lse:
                    finite = torch.isfinite(ref_lse)
                    same_inf = torch.equal(torch.isinf(lse), ~finite)
                    lse_err = ((lse.double() - ref_lse).abs()[finite] /
                               ref_lse.abs()[finite].clamp_min(1)).max().item() \
                        if finite.any() else 0.0
                    ok = ok and same_inf and lse_err <= 1e-4
                failures += not ok
                print(f"{name:<22} {dtype:<5} {str((b, h, sq, sk, d)):<22} "
                      f"{err:9.2e} {bound:6.0e} {lse_err:9.2e}  "
                      f"{'ok' if ok else 'FAIL'}")
    print(f"{failures} failed")
    return failures


def block_map_time(fc, kernel, q, k, v, caps, lse):
    """The median time of the block-map kernel of a launch (flashc builds
    it before each launch of a data-dependent mask), from the profiler's
    kernel records; NaN when the kernel has none."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(20):
            fc.run(kernel, q, k, v, caps, lse)
        torch.cuda.synchronize()
    times = sorted(e.device_time for e in prof.events()
                   if e.name.endswith("_block_map"))
    return times[len(times) // 2] if times else float("nan")


def bench(fc, names, dtypes):
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    # One compile per (modifier, shape, dtype): far more than dynamo's
    # default limit of 8, past which it silently runs the unfused fallback.
    torch._dynamo.config.cache_size_limit = 1024
    torch._dynamo.config.recompile_limit = 1024
    torch._dynamo.config.accumulated_recompile_limit = 100000
    # Static shapes: without dynamic=False, dynamo compiles every row after
    # a shape change for dynamic shapes, a slower kernel than FlexAttention
    # gets when a model's shapes stay fixed (bench/RESULTS.md, entry 46).
    flex = torch.compile(flex_attention, dynamic=False)
    gen = torch.Generator().manual_seed(0)
    print(f"{'modifier':<22} {'dtype':<5} {'shape':<26} {'flashc us':>10} "
          f"{'flex us':>9} {'flex/fc':>8} {'causal us':>10} {'vs flex':>9} "
          f"{'flex 1st s':>10} {'mask ms':>8} {'map us':>8}")
    for dtype in dtypes:
        dt = DTYPES[dtype]
        for name in names:
            if name == "causal":
                continue
            shapes = DECODE_SHAPES if name == "decode_bottom_right" else BENCH_SHAPES
            for (b, h, sq, sk, d) in shapes:
                q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dt)
                           for s in (sq, sk, sk))
                caps = make_captures(name, b, h, sq, sk, "cuda", gen)
                score_mod, mask_mod = mod_functions(name, caps, sq, sk)
                kernel = fc.kernel(name, dtype, d)
                lse = torch.empty(b, h, sq, device="cuda") \
                    if fc.rt.lib.flashc_kernel_has_lse(kernel) else None
                out = fc.run(kernel, q, k, v, caps, lse)
                t_fc = 1000 * do_bench(lambda: fc.run(kernel, q, k, v, caps, lse),
                                       return_mode="median")
                map_us = block_map_time(fc, kernel, q, k, v, caps, lse)
                causal_kernel = fc.kernel("causal", dtype, d)
                t_causal = float("nan")
                if sq == sk:
                    t_causal = 1000 * do_bench(
                        lambda: fc.run(causal_kernel, q, k, v, []),
                        return_mode="median")
                block_mask, mask_ms = None, float("nan")
                if mask_mod is not None:
                    def make_mask():
                        # Only the document mask depends on the batch row.
                        batch = b if name == "document_mask" else None
                        return create_block_mask(mask_mod, batch, None, sq, sk,
                                                 device="cuda")
                    block_mask = make_mask()
                    torch.cuda.synchronize()
                    times = []
                    for _ in range(5):
                        start = time.perf_counter()
                        make_mask()
                        torch.cuda.synchronize()
                        times.append(1000 * (time.perf_counter() - start))
                    mask_ms = sorted(times)[2]
                kwargs = {"block_mask": block_mask}
                if score_mod is not None:
                    kwargs["score_mod"] = score_mod
                start = time.perf_counter()
                try:
                    ref = flex(q, k, v, **kwargs)
                    torch.cuda.synchronize()
                    first = time.perf_counter() - start
                    t_flex = 1000 * do_bench(lambda: flex(q, k, v, **kwargs),
                                             return_mode="median")
                    distance = rel_l2(out, ref)
                except Exception as e:  # FlexAttention's own compile failures
                    print(f"# flex failed on {name} {dtype} {(b, h, sq, sk, d)}: "
                          f"{type(e).__name__}: {str(e).splitlines()[-1][:160]}")
                    first = t_flex = distance = float("nan")
                print(f"{name:<22} {dtype:<5} {str((b, h, sq, sk, d)):<26} "
                      f"{t_fc:10.1f} {t_flex:9.1f} {t_flex / t_fc:8.2f} "
                      f"{t_causal:10.1f} {distance:9.1e} "
                      f"{first:10.1f} {mask_ms:8.2f} {map_us:8.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--bundles", required=True)
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--dtypes", default="f16,bf16")
    parser.add_argument("--mods", default=",".join(MODS))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    fc = Flashc(args.runtime, args.bundles, args.arch)
    print("device", torch.cuda.get_device_name(), "torch", torch.__version__)
    names = args.mods.split(",")
    dtypes = args.dtypes.split(",")
    if args.check:
        sys.exit(1 if check(fc, names, dtypes) else 0)
    bench(fc, names, dtypes)


if __name__ == "__main__":
    main()
