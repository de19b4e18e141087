#!/usr/bin/env python3
"""Times flashc.distributed.ring_attention on the ranks of a process group
against one GPU doing the whole sequence and against PyTorch's
context_parallel with SDPA, in one run.

    torchrun --nproc-per-node 2 bench/ring.py [--seqs 32768,65536,131072,262144]
        [--iters 3] [--backward] [--no-context-parallel]

One process per GPU, NCCL. Each row: batch 1, 16 heads of 128, f16,
causal (load-balanced shards) or not; medians of --iters steps of
forward (and with --backward of forward + backward), timed with CUDA events between
barriers, the slowest rank's. "1 GPU" runs flashc.attention on the whole
sequence on rank 0 alone (forward + backward: flashc's differentiable
call); "speed-up" is its time over the ring's. "compute" is the ring's
kernels alone (the same calls on local shards, no transfers), so that
ring - compute is the time the transfers leave exposed. The
context_parallel column uses torch.distributed.tensor.experimental with
SDPA's default backend on the same shards. Prints a table; never asserts
a time. With one process it runs too (a plumbing check: no transfers).
"""
import argparse
import os
import statistics

import torch
import torch.distributed as dist
import torch.nn.functional as F

import flashc
import flashc.distributed as fd
from flashc import _autograd


def timed(fn, iters, setup=lambda: None):
    """Median milliseconds of fn() over `iters` runs (each after an untimed
    setup()), the slowest rank's."""
    setup()
    fn()
    times = []
    for _ in range(iters):
        setup()
        dist.barrier()
        start, stop = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    # NCCL reduces GPU tensors; gloo (the one-process check) CPU ones.
    device = "cuda" if dist.get_backend() == dist.Backend.NCCL else "cpu"
    median = torch.tensor([statistics.median(times)], device=device)
    dist.all_reduce(median, op=dist.ReduceOp.MAX)
    return median.item()


def compute_only(q, k, v, causal):
    """The ring's kernels without its transfers: each step's call on this
    rank's own shards, shaped as the step would be."""
    rank, world = dist.get_rank(), dist.get_world_size()
    seq = q.shape[2]
    for step in range(world):
        rows, cols, step_causal = fd._step_slices(
            rank, (rank - step) % world, causal, seq)
        _autograd.attention_forward(q[:, :, rows], k[:, :, cols],
                                    v[:, :, cols], step_causal, None, False)


def context_parallel_step(q, k, v, causal, backward):
    """PyTorch's context_parallel with SDPA: (setup, step). It shards its
    buffers in place on entry, so setup() makes fresh whole-sequence
    copies before each step. Its load balancing is for causal only."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.experimental import _attention, context_parallel
    if hasattr(_attention, "_cp_options"):
        _attention._cp_options.enable_load_balance = causal
    mesh = init_device_mesh("cuda", (dist.get_world_size(),))
    buffers = []

    def setup():
        buffers[:] = [t.detach().clone() for t in (q, k, v)]

    def step():
        with context_parallel(mesh, buffers=buffers, buffer_seq_dims=[2, 2, 2],
                              no_restore_buffers=set(buffers)):
            inputs = [t.requires_grad_(backward) for t in buffers]
            out = F.scaled_dot_product_attention(*inputs, is_causal=causal)
            if backward:
                out.backward(torch.ones_like(out))
    return setup, step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seqs", default="32768,65536,131072,262144")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--backward", action="store_true",
                    help="also forward + backward (slow until flashc's "
                    "backward is compiled: docs/Backward.md)")
    ap.add_argument("--no-context-parallel", action="store_true")
    args = ap.parse_args()
    seqs = [int(s) for s in args.seqs.split(",")]
    dist.init_process_group("nccl" if torch.cuda.device_count() > 1 else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)) %
                          torch.cuda.device_count())
    if rank == 0:
        print(f"{world} ranks ({dist.get_backend()}) on "
              f"{torch.cuda.get_device_name()}; batch 1, {args.heads} heads, "
              "head_dim 128, f16; ms, medians, slowest rank")
        print(f"{'mask':6} {'seq':>7} {'pass':8} {'1 GPU':>9} {'ring':>9} "
              f"{'compute':>9} {'exposed':>8} {'speed-up':>8} {'ctx par':>9} "
              f"{'vs ctx':>7}")
    passes = ["fwd"] + (["fwd+bwd"] if args.backward else [])
    for causal in (True, False):
        for seq in seqs:
            torch.manual_seed(seq)
            q, k, v = (torch.randn(1, args.heads, seq, 128, device="cuda",
                                   dtype=torch.float16) for _ in range(3))
            local = [fd.shard(t, causal=causal) for t in (q, k, v)]
            for name in passes:
                backward = name == "fwd+bwd"
                grads = [t.detach().requires_grad_(backward) for t in local]

                def ring():
                    out = fd.ring_attention(*grads, causal=causal)
                    if backward:
                        out.backward(torch.ones_like(out))
                ring_ms = timed(ring, args.iters)
                compute_ms = timed(lambda: compute_only(*local, causal),
                                   args.iters) if not backward else float("nan")
                one_ms = float("nan")
                if rank == 0:
                    whole = [t.detach().requires_grad_(backward) for t in (q, k, v)]

                    def one():
                        out = flashc.attention(*whole, causal=causal)
                        if backward:
                            out.backward(torch.ones_like(out))
                    one()
                    torch.cuda.synchronize()
                    start, stop = (torch.cuda.Event(enable_timing=True)
                                   for _ in range(2))
                    runs = []
                    for _ in range(args.iters):
                        start.record()
                        one()
                        stop.record()
                        torch.cuda.synchronize()
                        runs.append(start.elapsed_time(stop))
                    one_ms = statistics.median(runs)
                dist.barrier()
                cp_ms = float("nan")
                if not args.no_context_parallel:
                    try:
                        setup, step = context_parallel_step(q, k, v, causal,
                                                            backward)
                        cp_ms = timed(step, args.iters, setup)
                    except Exception as e:  # report, keep the other columns
                        if rank == 0:
                            print(f"context_parallel failed: {type(e).__name__}: {e}")
                if rank == 0:
                    print(f"{'causal' if causal else 'full':6} {seq:7d} {name:8} "
                          f"{one_ms:9.2f} {ring_ms:9.2f} {compute_ms:9.2f} "
                          f"{ring_ms - compute_ms:8.2f} {one_ms / ring_ms:8.2f} "
                          f"{cp_ms:9.2f} {cp_ms / ring_ms:7.2f}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
