#!/usr/bin/env python3
"""Forward + backward of flashc.attention with Python score/mask modifiers
against FlexAttention (torch.compile(flex_attention), its block mask built
once, outside the timing, as flashc's block map is for a mask that reads
data) on the same functions. Prints a table; never
asserts a time.

    PYTHONPATH=python python3 bench/backward_mods.py --warm   # with MLIR
    PYTHONPATH=python python3 bench/backward_mods.py          # on the GPU

The functions use flashc.mods' helpers, which act on flashc's traced
values and on tensors alike, so FlexAttention runs them as written.
Medians of 5 rounds of triton's do_bench, the three runs taken in turn
(the host drifts between runs); each flashc gradient is first compared
with FlexAttention's (the largest rel_l2 of dq, dk, dv). "2 programs" is
flashc under torch.use_deterministic_algorithms (no atomics), with
PyTorch's filling of new tensors turned off so that only the kernels
differ.
"""
import contextlib
import os
import sys

import flashc
from flashc import _backward_kernels as backward_kernels
from flashc import mods as m

SHAPE = (4, 16, 2048, 64)  # batch, heads, seq, head_dim
ARCH = "sm_90a"


def cases(slopes, docs):
    """(name, causal, score_mod, mask_mod), flashc's causal flag standing
    for FlexAttention's causal mask_mod."""
    return [
        ("softcap 20", True, lambda s, b, h, q, kv: 20 * m.tanh(s / 20), None),
        ("alibi", True, lambda s, b, h, q, kv: s + slopes[h] * (kv - q), None),
        ("window 256", True, None, lambda b, h, q, kv: q - kv < 256),
        ("documents", False, None,
         lambda b, h, q, kv: docs[b, q] == docs[b, kv]),
    ]


if "--warm" in sys.argv:
    b, h, s, d = SHAPE
    for name, causal, score_mod, mask_mod in cases(
            m.TensorSpec("torch.float32", 1), m.TensorSpec("torch.int32", 2)):
        text, _ = flashc.attention_mlir(d, "f16", causal, score_mod=score_mod,
                                        mask_mod=mask_mod, lse=True)
        flashc._modified_bundle(text, ARCH)
        mods, _ = backward_kernels.trace_modifiers(score_mod, mask_mod)
        for text in backward_kernels.all_programs(d, "f16", causal, False,
                                                  None, mods, ARCH):
            flashc._modified_bundle(text, ARCH)
        if mask_mod is not None:  # its block map's build
            text, _ = flashc.attention_mlir(d, "f16", causal,
                                            score_mod=score_mod,
                                            mask_mod=mask_mod)
            flashc._modified_bundle(text, ARCH)
    sys.exit(0)

import torch  # noqa: E402
from torch.nn.attention.flex_attention import (  # noqa: E402
    create_block_mask, flex_attention)
from triton.testing import do_bench  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backward import step  # noqa: E402

ROUNDS = 5


class Deterministic:
    """torch.use_deterministic_algorithms(True) without filling new
    tensors (which would time PyTorch's fills, not the programs)."""

    def __enter__(self):
        self.fill = torch.utils.deterministic.fill_uninitialized_memory
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.use_deterministic_algorithms(True)

    def __exit__(self, *exc):
        torch.use_deterministic_algorithms(False)
        torch.utils.deterministic.fill_uninitialized_memory = self.fill


def medians(runs):
    """{name: median us} of ROUNDS do_bench rounds of each run, in turn."""
    samples = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, (run, context) in runs.items():
            with context():
                samples[name].append(1e3 * do_bench(run, warmup=5, rep=30,
                                                    return_mode="median"))
    return {name: sorted(s)[len(s) // 2] for name, s in samples.items()}


def main():
    torch.manual_seed(0)
    b, h, s, d = SHAPE
    slopes = torch.rand(h, device="cuda")
    docs = (torch.arange(s, device="cuda") * 5 // s).repeat(b, 1).to(torch.int32)
    # Static shapes, as in bench/mods.py.
    flex = torch.compile(flex_attention, dynamic=False)
    print(f"device: {torch.cuda.get_device_name()}; f16 {SHAPE}; forward + "
          f"backward, median of {ROUNDS} interleaved do_bench rounds (us)")
    print("flashc: the default backward; 2 programs: under "
          "torch.use_deterministic_algorithms (no atomics); a mask that "
          "reads data: flashc.block_map built once, as FlexAttention's "
          "block mask")
    print(f"{'modifier':12} {'flashc us':>10} {'2 programs':>10} "
          f"{'flex us':>9} {'x flex':>7} {'2p x flex':>9} {'grad rel_l2':>12}")
    for name, causal, score_mod, mask_mod in cases(slopes, docs):
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16,
                               requires_grad=True) for _ in range(3))
        dout = torch.randn(b, h, s, d, device="cuda", dtype=torch.float16)

        # A mask that reads data: flashc's block map built once too, as
        # FlexAttention's block mask is (it keeps the backward's maps).
        mods, _ = backward_kernels.trace_modifiers(score_mod, mask_mod)
        prebuilt = flashc.block_map(q, k, v, causal=causal,
                                    mask_mod=mask_mod) \
            if backward_kernels.mapped_mask(mods) else None

        def ours(q, k, v):
            return flashc.attention(q, k, v, causal=causal,
                                    score_mod=score_mod, mask_mod=mask_mod,
                                    block_map=prebuilt)

        def flex_mask(b_, h_, q_, kv_):
            seen = q_ >= kv_ if causal else q_ == q_
            return seen & mask_mod(b_, h_, q_, kv_) if mask_mod else seen
        block_mask = create_block_mask(flex_mask, b, None, s, s)

        def theirs(q, k, v):
            return flex(q, k, v, score_mod=score_mod, block_mask=block_mask)
        grads = [g.clone() for g in step(ours, q, k, v, dout)]
        with Deterministic():
            two = [g.clone() for g in step(ours, q, k, v, dout)]
        want = [g.clone() for g in step(theirs, q, k, v, dout)]
        err = max(((a.float() - r.float()).norm() / r.float().norm()).item()
                  for a, r in zip(grads + two, want + want))
        t = medians({
            "ours": (lambda: step(ours, q, k, v, dout), contextlib.nullcontext),
            "two": (lambda: step(ours, q, k, v, dout), Deterministic),
            "flex": (lambda: step(theirs, q, k, v, dout),
                     contextlib.nullcontext)})
        print(f"{name:12} {t['ours']:10.1f} {t['two']:10.1f} {t['flex']:9.1f} "
              f"{t['flex'] / t['ours']:7.2f} {t['flex'] / t['two']:9.2f} "
              f"{err:12.1e}")


if __name__ == "__main__":
    main()
