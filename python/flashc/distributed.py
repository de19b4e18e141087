"""Ring attention (context parallelism) over a torch.distributed group.

Each rank holds a shard of the sequence of q, k and v ([batch, heads,
seq_shard, head_dim]). K/V shards travel around the ring (rank r sends to
r + 1 and receives from r - 1) while each rank runs flashc's kernel on the
shard it holds; the partial outputs are merged by their log-sum-exp. The
backward runs the ring again: dq stays, and each K/V shard's dk/dv travel
with it and go home at the end.

    import flashc.distributed as fd
    q_local = fd.shard(q, group, causal=True)            # the same for k, v
    out_local = fd.ring_attention(q_local, k_local, v_local, causal=True)
    out = fd.unshard(out_local, group, causal=True)      # whole sequence

Causal attention is load-balanced: the sequence is cut into 2 * world
chunks and rank r holds chunks r and 2 * world - 1 - r (shard() does
this), so every rank has the same work. Without causal, rank r holds
chunk r. Every rank's shard has the same length.

The transfers use torch.distributed point-to-point operations on the
group's backend: with NCCL, the GPU tensors themselves, overlapped with the
kernels; with a backend that carries only CPU tensors (gloo, used to test
two processes on one GPU), staged through host memory.

Needs torch; flashc.attention's requirements hold for each shard.
"""

import torch
import torch.distributed as dist

from . import _autograd
from ._shards import global_modifiers, placement

__all__ = ["ring_attention", "shard", "unshard", "merge"]


def _ranks(group):
    return dist.get_rank(group), dist.get_world_size(group)


def _chunks(world, causal):
    """How many chunks the sequence is cut into, and rank r's chunks."""
    if causal:
        return 2 * world, lambda r: (r, 2 * world - 1 - r)
    return world, lambda r: (r,)


def shard(x, group=None, causal=False, dim=2):
    """This rank's shard of the whole-sequence tensor `x` (sequence along
    `dim`): chunk r, or with causal chunks r and 2 * world - 1 - r."""
    rank, world = _ranks(group)
    count, mine = _chunks(world, causal)
    if x.shape[dim] % count:
        raise ValueError(f"the sequence ({x.shape[dim]}) must be a multiple of "
                         f"{count} ({'2 * ' if causal else ''}world size)")
    pieces = x.chunk(count, dim)
    return torch.cat([pieces[i] for i in mine(rank)], dim).contiguous()


def unshard(x, group=None, causal=False, dim=2):
    """The whole-sequence tensor from every rank's shard `x` (all-gather)."""
    rank, world = _ranks(group)
    count, mine = _chunks(world, causal)
    shards = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(shards, x.contiguous(), group=group)
    pieces = [None] * count
    for r, s in enumerate(shards):
        for index, piece in zip(mine(r), s.chunk(len(mine(r)), dim)):
            pieces[index] = piece
    return torch.cat(pieces, dim)


def merge(out, lse, part_out, part_lse):
    """Two partial attentions over disjoint keys merged into one, by their
    log-sum-exp (float32 out and lse; a row that saw no key has lse -inf
    and adds nothing). Returns (out, lse)."""
    new = torch.logaddexp(lse, part_lse)
    # exp(-inf - -inf) for a row neither part saw: 0 instead of NaN.
    safe = torch.where(new == -torch.inf, 0.0, new)
    a = torch.exp(lse - safe).unsqueeze(-1)
    b = torch.exp(part_lse - safe).unsqueeze(-1)
    return out * a + part_out.float() * b, new


class _Ring:
    """Sends tensors to the next rank and receives as many from the previous
    one, started together and waited for later."""

    def __init__(self, group):
        self.group = group
        rank, world = _ranks(group)
        self.next = dist.get_global_rank(group, (rank + 1) % world) \
            if group is not None else (rank + 1) % world
        self.prev = dist.get_global_rank(group, (rank - 1) % world) \
            if group is not None else (rank - 1) % world
        self.staged = dist.get_backend(group) != dist.Backend.NCCL

    def start(self, tensors, tag=0):
        """Starts the transfer; returns a function that waits for it and
        gives the received tensors. Transfers in flight together take
        different tags (a backend matches messages by sender and tag)."""
        if self.staged:
            sends = [t.cpu() for t in tensors]
            received = [torch.empty_like(t) for t in sends]
            requests = [dist.isend(t, self.next, self.group, tag) for t in sends]
            requests += [dist.irecv(t, self.prev, self.group, tag)
                         for t in received]
        else:
            sends = [t.contiguous() for t in tensors]
            received = [torch.empty_like(t) for t in sends]
            requests = dist.batch_isend_irecv(
                [dist.P2POp(dist.isend, t, self.next, self.group) for t in sends] +
                [dist.P2POp(dist.irecv, t, self.prev, self.group) for t in received])
        device = tensors[0].device

        def wait():
            for request in requests:
                request.wait()
            return [t.to(device) for t in received] if self.staged else received
        return wait


def _step_slices(rank, source, causal, seq):
    """What rank `rank`'s queries see of the K/V shard of rank `source`:
    (query rows, key rows, causal within them), or None. Each shard is
    two chunks of seq / 2 with causal (see the module's doc)."""
    if not causal:
        return slice(0, seq), slice(0, seq), False
    half = seq // 2
    if source == rank:
        return slice(0, seq), slice(0, seq), True
    if source < rank:  # its first chunk precedes both of ours
        return slice(0, seq), slice(0, half), False
    return slice(half, seq), slice(0, seq), False  # both precede our second


def _step_modifiers(mods, rank, source, world, causal, seq, rows, cols,
                    device):
    """The user's modifiers (score_mod, mask_mod) for one step, or Nones."""
    if not any(mods):
        return None, None
    places = torch.tensor(
        [rows.start, *placement(rank, world, causal, seq),
         cols.start, *placement(source, world, causal, seq)],
        dtype=torch.int32, device=device)
    return global_modifiers(*mods, places)


def _forward_step(q, keys, values, step_causal, scale, modifiers):
    """A step's partial output and log-sum-exp."""
    if not any(modifiers):
        return _autograd.attention_forward(q, keys, values, step_causal,
                                           scale, False)
    from . import attention
    return attention(q, keys, values, causal=step_causal, scale=scale,
                     score_mod=modifiers[0], mask_mod=modifiers[1],
                     return_lse=True, _differentiable=False)


def _ring_steps(group, causal, seq, mods, device, k, v):
    """The steps of the ring, in order: (step, query rows, key rows, causal
    within them, modifiers, the K and V shard held). The next shard's
    transfer starts before a step is given and is waited for after it."""
    rank, world = _ranks(group)
    ring = _Ring(group)
    keys, values = k, v
    for step in range(world):
        source = (rank - step) % world
        pending = ring.start([keys, values]) if step < world - 1 else None
        rows, cols, step_causal = _step_slices(rank, source, causal, seq)
        modifiers = _step_modifiers(mods, rank, source, world, causal, seq,
                                    rows, cols, device)
        yield step, rows, cols, step_causal, modifiers, keys, values
        if pending:
            keys, values = pending()


class _RingAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal, scale, group, mods):
        for step, rows, cols, step_causal, modifiers, keys, values in \
                _ring_steps(group, causal, q.shape[2], mods, q.device, k, v):
            part_out, part_lse = _forward_step(
                q[:, :, rows], keys[:, :, cols], values[:, :, cols],
                step_causal, scale, modifiers)
            if step == 0:  # the rank's own shard, every row: nothing to merge
                out, lse = part_out.float(), part_lse
            else:
                out[:, :, rows], lse[:, :, rows] = merge(
                    out[:, :, rows], lse[:, :, rows], part_out, part_lse)
        out = out.to(q.dtype)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.options = (causal, scale, group, mods)
        return out, lse

    @staticmethod
    def backward(ctx, grad_out, grad_lse):
        q, k, v, out, lse = ctx.saved_tensors
        causal, scale, group, mods = ctx.options
        if grad_lse is None:
            grad_lse = torch.zeros_like(lse)
        grad_out = grad_out.to(q.dtype)
        dq = torch.zeros(q.shape, dtype=torch.float32, device=q.device)
        dk = torch.zeros(k.shape, dtype=torch.float32, device=k.device)
        dv = torch.zeros(v.shape, dtype=torch.float32, device=v.device)
        # dk and dv travel with their shard, one hop a step while the next
        # step computes (under another tag than the K/V shards); a last hop
        # brings each home.
        grads_ring = _Ring(group) if _ranks(group)[1] > 1 else None
        pending_grads = None
        for _, rows, cols, step_causal, modifiers, keys, values in \
                _ring_steps(group, causal, q.shape[2], mods, q.device, k, v):
            # The probabilities of a shard's keys against the merged lse and
            # out are its share of the whole softmax: the shares' gradients
            # add up to the whole one (summed in float32; each share from
            # the compiled backward where it reaches, else PyTorch's).
            part_dq, part_dk, part_dv = _autograd.backward_grads(
                grad_out[:, :, rows], grad_lse[:, :, rows], q[:, :, rows],
                keys[:, :, cols], values[:, :, cols], out[:, :, rows],
                lse[:, :, rows], step_causal, scale, False, *modifiers)
            dq[:, :, rows] += part_dq
            if pending_grads:
                dk, dv = pending_grads()
            dk[:, :, cols] += part_dk
            dv[:, :, cols] += part_dv
            if grads_ring:
                pending_grads = grads_ring.start([dk, dv], tag=1)
        if pending_grads:
            dk, dv = pending_grads()
        return (dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), None, None,
                None, None)


def ring_attention(q, k, v, causal=False, scale=None, group=None,
                   return_lse=False, score_mod=None, mask_mod=None):
    """softmax(scale * q k^T [causal]) v over the whole sequence, on this
    rank's shards (see shard()): q [batch, heads, seq_shard, head_dim], k
    and v [batch, kv_heads, seq_shard, head_dim], every rank's seq_shard
    the same (even with causal). Returns this rank's shard of the output
    (and with return_lse its float32 log-sum-exp over the whole sequence).
    score_mod and mask_mod are flashc.attention's Python functions, given
    positions in the whole sequence (q_idx, kv_idx). Differentiable: dk
    and dv come back to the rank that holds k and v."""
    if not dist.is_initialized():
        raise RuntimeError("flashc.distributed.ring_attention needs "
                           "torch.distributed initialised (a process group)")
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")
    if causal and q.shape[2] % 2:
        raise ValueError(f"with causal, the shard's sequence ({q.shape[2]}) "
                         "must be even: two chunks (see shard())")
    if k.shape[2] != q.shape[2]:
        raise ValueError(f"q's shard ({q.shape[2]} rows) and k's "
                         f"({k.shape[2]}) must have one length")
    for name, fn in (("score_mod", score_mod), ("mask_mod", mask_mod)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be a Python function (MLIR text "
                            f"is not supported here), got {type(fn).__name__}")
    out, lse = _RingAttention.apply(q, k, v, causal, scale, group,
                                    (score_mod, mask_mod))
    return (out, lse) if return_lse else out
