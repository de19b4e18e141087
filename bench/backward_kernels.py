#!/usr/bin/env python3
"""Times the compiled backward's two kernels (flashc._backward_kernels)
alone, for several tile choices, against SDPA flash's backward on the
shapes of bench.py; then what a differentiable flashc.attention call
spends around its kernels. Prints tables; never asserts a time.

    PYTHONPATH=python python3 bench/backward_kernels.py --warm   # with MLIR
    PYTHONPATH=python python3 bench/backward_kernels.py [--profile]  # on the GPU

SDPA's backward time is its forward + backward minus its forward (medians
of triton's do_bench). Each kernel's output is checked against the
default tiles' before it is timed.
"""
import math
import os
import sys

from flashc import _backward_kernels as bk

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ARCH = "sm_90"
WG = ("shared", "wgmma")
# (dQ tiles, dK/dV tiles) tried per head dim; the first is TILES' choice.
# Tiles ending in "wgmma" are compiled for sm_90a.
VARIANTS = {
    64: [((64, 64, 4, "registers"), (64, 64, 4, "registers")),
         ((128, 64, 8, "registers"), (128, 64, 8, "registers")),
         ((128, 32, 8, "registers"), (128, 32, 8, "registers")),
         ((64, 64, 4, *WG), (64, 64, 4, *WG)),
         ((128, 64, 8, *WG), (128, 64, 8, *WG)),
         ((64, 128, 4, *WG), (128, 32, 8, *WG))],
    128: [((128, 32, 8, "registers"), (64, 32, 4, "shared")),
          ((128, 32, 8, "shared"), (128, 32, 8, "shared")),
          ((64, 32, 4, "registers"), (64, 16, 4, "shared")),
          ((64, 64, 4, *WG), (64, 32, 4, *WG)),
          ((128, 64, 8, *WG), (128, 32, 8, *WG)),
          ((64, 32, 4, *WG), (64, 32, 4, *WG))],
}


def arch_of(tiles):
    return "sm_90a" if tiles[4:] == ("wgmma",) else ARCH


# The fused program's tiles tried per head dim; the first is
# fused_program's (64 x 64 with K in registers spills on sm_80).
FUSED_VARIANTS = {
    64: [(64, 32, 4, "registers"), (64, 64, 4, "registers"),
         (128, 32, 8, "registers")],
    128: [(64, 32, 4, "shared"), (64, 16, 4, "shared")],
}


def fused_text(d, causal, tiles):
    return bk.dkdv_program(d, "f16", causal, False, 1.0 / math.sqrt(d),
                           tiles, fused=True)


def texts(d, causal, variant):
    dq_tiles, dkdv_tiles = variant
    scale = 1.0 / math.sqrt(d)
    return (bk.dq_program(d, "f16", causal, False, scale, dq_tiles),
            bk.dkdv_program(d, "f16", causal, False, scale, dkdv_tiles))


if "--warm" in sys.argv:
    import flashc
    for d, variants in VARIANTS.items():
        for causal in (False, True):
            for variant in variants:
                for tiles, text in zip(variant, texts(d, causal, variant)):
                    flashc._modified_bundle(text, arch_of(tiles))
            for tiles in FUSED_VARIANTS[d]:
                flashc._modified_bundle(fused_text(d, causal, tiles), ARCH)
    sys.exit(0)

import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from triton.testing import do_bench  # noqa: E402

import flashc  # noqa: E402
from flashc import _autograd  # noqa: E402
from bench import SHAPES  # noqa: E402


def sdpa_backward_us(q, k, v, dout, causal):
    qg, kg, vg = (t.detach().requires_grad_() for t in (q, k, v))
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        def forward():
            return F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)

        def both():
            forward().backward(dout)
        return 1e3 * (do_bench(both) - do_bench(forward))


def kernels_us(runtime, d, causal, variant, q, k, v, dout, lse, delta, want):
    """The dQ and dK/dV kernels' medians for one tile choice, or None if
    its gradients differ from `want` (the default tiles')."""
    dq_kernel, dkdv_kernel = (bk._kernel(runtime, t, arch_of(tiles))
                              for tiles, t in zip(variant,
                                                  texts(d, causal, variant)))
    dq, dk, dv = (torch.full_like(q, float("nan")) for _ in range(3))

    def run_dq():
        runtime.launch_with(dq_kernel, q, k, v, dq, None, [dout, lse, delta])

    def run_dkdv():
        runtime.launch_with(dkdv_kernel, k, q, dout, dv, None,
                            [v, dk, lse, delta])
    run_dq()
    run_dkdv()
    got = (dq, dk, dv)
    if want is not None and not all(
            ((a.float() - b.float()).norm() <= 1e-2 * b.float().norm()).item()
            for a, b in zip(got, want)):
        return None, got
    return (1e3 * do_bench(run_dq), 1e3 * do_bench(run_dkdv)), got


def fused_us(runtime, d, causal, tiles, q, k, v, dout, lse, delta, want):
    """The fused kernel's median (dq_acc zeroed in each run), or None if
    its gradients differ from `want`."""
    kernel = bk._kernel(runtime, fused_text(d, causal, tiles), ARCH)
    dk, dv = (torch.full_like(q, float("nan")) for _ in range(2))
    dq_acc = torch.empty(q.shape, device="cuda", dtype=torch.float32)

    def run():
        dq_acc.zero_()
        runtime.launch_with(kernel, k, q, dout, dv, None,
                            [v, dk, lse, delta, dq_acc])
    run()
    got = (dq_acc.to(q.dtype), dk, dv)
    if not all(((a.float() - b.float()).norm() <= 1e-2 * b.float().norm()).item()
               for a, b in zip(got, want)):
        return None
    return 1e3 * do_bench(run)


def main():
    torch.manual_seed(0)
    runtime, _ = flashc._runtime_of(torch, torch.empty(1, device="cuda"))
    print(f"device: {torch.cuda.get_device_name()}; f16; kernels alone, "
          "median of do_bench (us); tiles as (block_m, block_n, warps, Q)")
    print(f"{'mask':6} {'B,H,S,D':16} {'sdpa bwd':>9} {'dQ':>8} {'dK/dV':>8} "
          f"{'sum':>8} {'x sdpa':>7}  tiles (dQ; dK/dV)")
    for causal in (False, True):
        for (b, h, s, d) in SHAPES:
            q, k, v, dout = (torch.randn(b, h, s, d, device="cuda",
                                         dtype=torch.float16) for _ in range(4))
            with torch.no_grad():
                out, lse = flashc.attention(q, k, v, causal=causal,
                                            return_lse=True)
            delta = (dout.float() * out.float()).sum(-1)
            sdpa = sdpa_backward_us(q, k, v, dout, causal)
            want = None
            for variant in VARIANTS[d]:
                times, got = kernels_us(runtime, d, causal, variant, q, k, v,
                                        dout, lse, delta, want)
                want = want or got
                name = f"{variant[0]}; {variant[1]}"
                label = f"{'causal' if causal else 'full':6} {f'{b},{h},{s},{d}':16}"
                if times is None:
                    print(f"{label} {sdpa:9.1f}  WRONG gradients  {name}")
                    continue
                total = sum(times)
                print(f"{label} {sdpa:9.1f} {times[0]:8.1f} {times[1]:8.1f} "
                      f"{total:8.1f} {sdpa / total:7.2f}  {name}")
            for tiles in FUSED_VARIANTS[d]:
                fused = fused_us(runtime, d, causal, tiles, q, k, v, dout,
                                 lse, delta, want)
                if fused is None:
                    print(f"{label} {sdpa:9.1f}  WRONG gradients  fused {tiles}")
                    continue
                print(f"{label} {sdpa:9.1f} {'':8} {'':8} {fused:8.1f} "
                      f"{sdpa / fused:7.2f}  fused {tiles} (dQ zeroed inside)")

    # A differentiable call's parts on a small shape, synchronised.
    print("\nwhere a differentiable call's time goes (1,8,512,64 f16 causal; "
          "median of 50 synchronised calls, us)")
    q, k, v, dout = (torch.randn(1, 8, 512, 64, device="cuda",
                                 dtype=torch.float16) for _ in range(4))
    qg, kg, vg = (t.requires_grad_() for t in (q.clone(), k.clone(), v.clone()))
    out, lse = _autograd.attention_forward(q, k, v, True, None, False)
    zero_lse = torch.zeros_like(lse)
    parts = {
        "forward op": lambda: _autograd.attention_forward(q, k, v, True,
                                                          None, False),
        "backward op": lambda: _autograd.attention_backward(
            dout, zero_lse, q, k, v, out, lse, True, None, False),
        "compiled_backward": lambda: bk.compiled_backward(
            dout, zero_lse, q, k, v, out, lse, True, None, False),
        "programs() text": lambda: bk.programs(64, "f16", True, False, None),
        "autograd fwd+bwd": lambda: flashc.attention(
            qg, kg, vg, causal=True).backward(dout),
        # The same through the custom ops (what torch.compile traces).
        "custom ops fwd+bwd": lambda: _autograd.attention_forward(
            qg, kg, vg, True, None, False)[0].backward(dout),
    }
    for name, fn in parts.items():
        samples = []
        for _ in range(55):
            torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            samples.append(1e6 * (time.perf_counter() - start))
        samples = sorted(samples[5:])
        print(f"  {name:20} {samples[len(samples) // 2]:8.1f}")
    if "--profile" in sys.argv:  # where the Python time goes
        import cProfile
        import pstats
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(50):
            parts["autograd fwd+bwd"]()
        torch.cuda.synchronize()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
