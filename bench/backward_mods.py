#!/usr/bin/env python3
"""Forward + backward of flashc.attention with Python score/mask modifiers
against FlexAttention (torch.compile(flex_attention), its block mask built
once, outside the timing) on the same functions. Prints a table; never
asserts a time.

    PYTHONPATH=python python3 bench/backward_mods.py --warm   # with MLIR
    PYTHONPATH=python python3 bench/backward_mods.py          # on the GPU

The functions use flashc.mods' helpers, which act on flashc's traced
values and on tensors alike, so FlexAttention runs them as written.
Medians of triton's do_bench; each flashc gradient is first compared with
FlexAttention's (the largest rel_l2 of dq, dk, dv).
"""
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


def main():
    torch.manual_seed(0)
    b, h, s, d = SHAPE
    slopes = torch.rand(h, device="cuda")
    docs = (torch.arange(s, device="cuda") * 5 // s).repeat(b, 1).to(torch.int32)
    flex = torch.compile(flex_attention)
    print(f"device: {torch.cuda.get_device_name()}; f16 {SHAPE}; forward + "
          "backward, median of do_bench (us)")
    print("flashc: the default backward; 2 programs: under "
          "torch.use_deterministic_algorithms (no atomics)")
    print(f"{'modifier':12} {'flashc us':>10} {'2 programs':>10} "
          f"{'flex us':>9} {'x flex':>7} {'2p x flex':>9} {'grad rel_l2':>12}")
    for name, causal, score_mod, mask_mod in cases(slopes, docs):
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16,
                               requires_grad=True) for _ in range(3))
        dout = torch.randn(b, h, s, d, device="cuda", dtype=torch.float16)

        def ours(q, k, v):
            return flashc.attention(q, k, v, causal=causal,
                                    score_mod=score_mod, mask_mod=mask_mod)

        def flex_mask(b_, h_, q_, kv_):
            seen = q_ >= kv_ if causal else q_ == q_
            return seen & mask_mod(b_, h_, q_, kv_) if mask_mod else seen
        block_mask = create_block_mask(flex_mask, b, None, s, s)

        def theirs(q, k, v):
            return flex(q, k, v, score_mod=score_mod, block_mask=block_mask)
        grads = [g.clone() for g in step(ours, q, k, v, dout)]
        torch.use_deterministic_algorithms(True)
        two = [g.clone() for g in step(ours, q, k, v, dout)]
        t_two = 1e3 * do_bench(lambda: step(ours, q, k, v, dout))
        torch.use_deterministic_algorithms(False)
        want = step(theirs, q, k, v, dout)
        err = max(((a.float() - r.float()).norm() / r.float().norm()).item()
                  for a, r in zip(grads + two, want + want))
        t_ours = 1e3 * do_bench(lambda: step(ours, q, k, v, dout))
        t_flex = 1e3 * do_bench(lambda: step(theirs, q, k, v, dout))
        print(f"{name:12} {t_ours:10.1f} {t_two:10.1f} {t_flex:9.1f} "
              f"{t_flex / t_ours:7.2f} {t_flex / t_two:9.2f} {err:12.1e}")


if __name__ == "__main__":
    main()
