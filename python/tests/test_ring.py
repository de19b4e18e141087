#!/usr/bin/env python3
"""flashc.distributed.ring_attention in a 2-process group against float64
on the whole sequence: outputs, log-sum-exp and gradients.

    test_ring.py --warm   # here, with MLIR, no torch: the modifier kernels
    test_ring.py          # on the GPU machine

With two GPUs the ranks use NCCL, one GPU each; with one GPU both ranks
share it and use gloo (the shards then travel through host memory: NCCL
refuses two ranks on one device). Kernels come from a warmed cache
(FLASHC_CACHE_DIR, see python/tests/warm_cache.py). Rank 0 prints one line
per check and 'N passed, M failed'; exit 0 only if all passed.
"""
import os
import sys

import flashc
from flashc import mods as m

WORLD = 2


def mod_cases():
    """(name, causal, score_mod, mask_mod): modifiers on positions in the
    whole sequence (a window across the shards' boundaries)."""
    return [
        ("window 100 + softcap", True,
         lambda s, b, h, q, kv: 20 * m.tanh(s / 20),
         lambda b, h, q, kv: q - kv < 100),
        ("band 150", False, None,
         lambda b, h, q, kv: m.abs(q - kv) < 150),
    ]


if "--warm" in sys.argv:
    # The kernels of the ring's steps with these modifiers: causal on the
    # rank's own shard, full on slices (strided) and whole shards.
    from flashc import _backward_kernels as backward_kernels
    from flashc._shards import global_modifiers
    places = m.TensorSpec("torch.int32", 1)
    for dtype in ("f16", "bf16"):
        for _, _, score_mod, mask_mod in mod_cases():
            wrapped = global_modifiers(score_mod, mask_mod, places)
            for causal, strided in ((True, False), (False, True), (False, False)):
                text, _ = flashc.attention_mlir(
                    64, dtype, causal, score_mod=wrapped[0], mask_mod=wrapped[1],
                    lse=True, strided=strided)
                flashc._modified_bundle(text, "sm_90a")
            # The steps' compiled backward with the same modifiers.
            mods, _ = backward_kernels.trace_modifiers(*wrapped)
            for causal in (True, False):
                for text in backward_kernels.all_programs(64, dtype, causal,
                                                          False, None, mods,
                                                          "sm_90a"):
                    flashc._modified_bundle(text, "sm_90a")
        print("warmed", dtype)
    sys.exit(0)

import torch  # noqa: E402 - after --warm, which runs without torch
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

BOUNDS = {torch.float16: 2e-3, torch.bfloat16: 1.5e-2}


def worker(rank, port, results):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reference import attention_reference
    from report import check, raises, _counts
    import flashc.distributed as fd
    two_gpus = torch.cuda.device_count() >= WORLD
    torch.cuda.set_device(rank if two_gpus else 0)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if rank == 0:
        raises("ring_attention before init_process_group", RuntimeError,
               lambda: fd.ring_attention(*(torch.empty(1, 1, 2, 64) for _ in range(3))))
    dist.init_process_group("nccl" if two_gpus else "gloo", rank=rank,
                            world_size=WORLD)
    if rank == 0:
        print(f"backend {dist.get_backend()}, {WORLD} ranks on "
              f"{'two GPUs' if two_gpus else 'one GPU'}", flush=True)
    def compare(name, dtype, d, causal, heads, kv_heads, score_mod=None,
                mask_mod=None):
        """The ring on both ranks, then rank 0's check of the gathered
        results against float64 on the whole sequence."""
        # Odd chunks: 2 * 2 * 101 rows causal, 2 * 131 without.
        seq = 2 * WORLD * 101 if causal else WORLD * 131
        torch.manual_seed(seq + heads + d)  # the same on both ranks
        q = torch.randn(2, heads, seq, d, device="cuda", dtype=dtype)
        k, v = (torch.randn(2, kv_heads, seq, d, device="cuda", dtype=dtype)
                for _ in range(2))
        dout = torch.randn_like(q)
        local = [fd.shard(t, causal=causal).requires_grad_() for t in (q, k, v)]
        out, lse = fd.ring_attention(*local, causal=causal, return_lse=True,
                                     score_mod=score_mod, mask_mod=mask_mod)
        (out.float() * fd.shard(dout, causal=causal).float()).sum().backward()
        whole = [fd.unshard(t, causal=causal) for t in
                 (out.detach(), lse.detach().unsqueeze(-1),
                  *(t.grad for t in local))]
        if rank:
            return
        x64 = [t.double().requires_grad_() for t in (q, k, v)]
        out64, lse64 = attention_reference(*x64, causal, score_mod=score_mod,
                                           mask_mod=mask_mod)
        grads64 = torch.autograd.grad((out64 * dout.double()).sum(), x64)
        refs = (out64.detach(), lse64.detach().unsqueeze(-1), *grads64)
        errors = [((a.double() - r).norm() / r.norm()).item()
                  for a, r in zip(whole, refs)]
        finite = all(torch.isfinite(t).all().item() for t in whole)
        check(f"{dtype} d={d} causal={causal} heads {heads}/{kv_heads} "
              f"seq {seq}{name}", finite and max(errors) < BOUNDS[dtype],
              "out/lse/dq/dk/dv rel_l2 " + " ".join(f"{e:.1e}" for e in errors))

    for dtype in (torch.float16, torch.bfloat16):
        for d in (64, 128):
            for causal in (False, True):
                for heads, kv_heads in ((4, 4), (8, 2)):
                    compare("", dtype, d, causal, heads, kv_heads)
        # Modifiers on global positions (their kernels: --warm).
        for name, causal, score_mod, mask_mod in mod_cases():
            compare(f" {name}", dtype, 64, causal, 8, 2, score_mod, mask_mod)
    odd = torch.empty(1, 2, 7, 64, device="cuda", dtype=torch.float16)
    if rank == 0:
        raises("causal with an odd shard", ValueError,
               lambda: fd.ring_attention(odd, odd, odd, causal=True))
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        results.put(dict(_counts))


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    mp.spawn(worker, args=(29600 + os.getpid() % 300, results), nprocs=WORLD)
    counts = results.get()
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)
