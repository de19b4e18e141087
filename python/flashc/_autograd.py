"""Gradients of flashc.attention, for torch.autograd and torch.compile.

flashc.attention with q, k or v requiring grad (or inside torch.compile)
calls the custom op flashc::attention_forward, which returns the output
and the rows' log-sum-exp. Its backward is the custom op
flashc::attention_backward: FlashAttention-2's algorithm (probabilities
recomputed from the saved log-sum-exp, D = rowsum(dO * O)), run by
flashc's compiled backward kernels (_backward_kernels.py) where they
reach (head dims up to 176), else (or with FLASHC_BACKWARD=pytorch) by
PyTorch ops on blocks of query rows in float32, so that no
[seq_q, seq_k] matrix of the whole problem is held (docs/Backward.md).
Both ops have fake implementations, so torch.compile traces them without
graph breaks. Calls with Python score_mod / mask_mod functions go through
ModifiedAttention instead (an autograd.Function: the functions are not op
arguments), whose backward evaluates the functions on tensors.

Imported only where torch is: flashc itself works without it.
"""

import math
import os
from typing import Optional

import torch

from ._backward_kernels import compiled_backward, fused_is_faster

# Float32 bytes of the score-sized temporaries of one block of query rows
# (scores, probabilities, dP, dS).
_BLOCK_BYTES = 1 << 29


def output_like(q, k, v):
    """The output tensor flashc.attention writes for q, k, v: shaped (and
    strided) like q where the kernel can write that layout in place, else
    row-major. Shared by the op and its fake, whose strides must agree."""
    from . import _readable_in_place
    out = torch.empty_like(q)
    views = not all(t.is_contiguous() for t in (q, k, v))
    if views and not _readable_in_place(out, check_alignment=False):
        out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    return out


@torch.library.custom_op("flashc::attention_forward", mutates_args=())
def attention_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                      causal: bool, scale: Optional[float],
                      bottom_right: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from . import _plans
    return _plans.attention(q, k, v, causal, scale, bottom_right, True)


@attention_forward.register_fake
def _(q, k, v, causal, scale, bottom_right):
    return output_like(q, k, v), q.new_empty(q.shape[:3], dtype=torch.float32)


@torch.library.custom_op("flashc::attention_backward", mutates_args=())
def attention_backward(grad_out: torch.Tensor, grad_lse: torch.Tensor,
                       q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       out: torch.Tensor, lse: torch.Tensor, causal: bool,
                       scale: Optional[float], bottom_right: bool
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    dq, dk, dv = backward_grads(grad_out, grad_lse, q, k, v, out, lse,
                                causal, scale, bottom_right)
    # Fresh tensors shaped and strided like the inputs (views included), as
    # the op's fake says.
    return (torch.empty_like(q).copy_(dq), torch.empty_like(k).copy_(dk),
            torch.empty_like(v).copy_(dv))


@attention_backward.register_fake
def _(grad_out, grad_lse, q, k, v, out, lse, causal, scale, bottom_right):
    return torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)


def backward_grads(grad_out, grad_lse, q, k, v, out, lse, causal, scale,
                   bottom_right, score_mod=None, mask_mod=None, traced=None,
                   block_map=None):
    """dq, dk, dv of flashc.attention: flashc's compiled backward where it
    reaches (in q's dtype), else blocked_backward (float32). grad_lse may
    be None (no loss reads the log-sum-exp). FLASHC_BACKWARD: "compiled"
    (the default: head dims up to 176, up to 128 with Python modifiers,
    whose score_mod the compiler differentiates; every op a modifier can
    trace has a derivative rule), "atomic" or "pytorch" (never compiled).
    "compiled" runs two deterministic programs, except with a score_mod
    on mma_sync programs (not Hopper's wgmma ones): then one program adding
    dQ by atomics (faster there: the dQ program would recompute the
    score_mod and its derivative); "atomic" runs that one wherever it
    reaches (head dims up to 128; slower without a score_mod).
    torch.use_deterministic_algorithms(True) keeps the two programs. `traced`: the forward's trace of the modifiers (Modifiers,
    captured values), else they are traced again; `block_map`: the
    forward's prebuilt BlockMap, which then keeps the programs' maps."""
    mode = os.environ.get("FLASHC_BACKWARD", "compiled")
    if mode not in ("compiled", "atomic", "pytorch"):
        raise ValueError("FLASHC_BACKWARD must be compiled, atomic or "
                         f"pytorch, got {mode!r}")
    if mode != "pytorch":
        atomic = not torch.are_deterministic_algorithms_enabled() and (
            mode == "atomic" or score_mod is not None and q.is_cuda and
            fused_is_faster(q))
        grads = compiled_backward(grad_out, grad_lse, q, k, v, out, lse,
                                  causal, scale, bottom_right, score_mod,
                                  mask_mod, atomic=atomic, traced=traced,
                                  block_map=block_map)
        if grads is not None:
            return grads
    if grad_lse is None:
        grad_lse = torch.zeros_like(lse)
    return blocked_backward(grad_out, grad_lse, q, k, v, out, lse, causal,
                            scale, bottom_right, score_mod, mask_mod)


def _setup_context(ctx, inputs, output):
    q, k, v, causal, scale, bottom_right = inputs
    out, lse = output
    ctx.save_for_backward(q, k, v, out, lse)
    ctx.options = (causal, scale, bottom_right)


def _backward(ctx, grad_out, grad_lse):
    q, k, v, out, lse = ctx.saved_tensors
    # Gradients the loss does not reach arrive as None (or zeros).
    if grad_out is None:
        grad_out = torch.zeros_like(out)
    if grad_lse is None:
        grad_lse = torch.zeros_like(lse)
    dq, dk, dv = attention_backward(grad_out, grad_lse, q, k, v, out, lse,
                                    *ctx.options)
    return dq, dk, dv, None, None, None


torch.library.register_autograd("flashc::attention_forward", _backward,
                                setup_context=_setup_context)


class _EagerAttention(torch.autograd.Function):
    """The same forward and backward as the custom ops, for eager autograd:
    an autograd.Function calls the implementations directly, without the
    dispatcher's round trips into Python and the custom ops' checks (about
    5 % of a small differentiable call, bench/RESULTS.md entry 35), and
    lets a log-sum-exp no loss reads arrive as None. torch.compile traces
    the custom ops instead (differentiable_attention)."""

    @staticmethod
    def forward(ctx, q, k, v, causal, scale, bottom_right):
        from . import _plans
        out, lse = _plans.attention(q, k, v, causal, scale, bottom_right,
                                    True)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.options = (causal, scale, bottom_right)
        # A log-sum-exp no loss reads arrives as None, not as zeros to
        # subtract.
        ctx.set_materialize_grads(False)
        return out, lse

    @staticmethod
    def backward(ctx, grad_out, grad_lse):
        q, k, v, out, lse = ctx.saved_tensors
        if grad_out is None:
            grad_out = torch.zeros_like(out)
        dq, dk, dv = backward_grads(grad_out, grad_lse, q, k, v, out, lse,
                                    *ctx.options)
        return (dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), None, None,
                None)


def differentiable_attention(q, k, v, causal, scale, bottom_right):
    """(out, lse) of flashc.attention, recorded for autograd: the custom op
    when torch.compile traces the call, else _EagerAttention."""
    if torch.compiler.is_compiling():
        return attention_forward(q, k, v, causal, scale, bottom_right)
    return _EagerAttention.apply(q, k, v, causal, scale, bottom_right)


class _TensorFloat32:
    """CUDA float32 matrix products on TF32 tensor cores while active (a
    process-wide setting, restored on exit). Exact for products of f16 or
    bf16 values (their significands fit TF32's); probabilities and dS
    rounded to TF32 keep about the precision FlashAttention's f16 P and
    dS have."""

    def __enter__(self):
        matmul = torch.backends.cuda.matmul
        self.new_api = hasattr(matmul, "fp32_precision")
        self.saved = matmul.fp32_precision if self.new_api else matmul.allow_tf32
        if self.new_api:
            matmul.fp32_precision = "tf32"
        else:
            matmul.allow_tf32 = True

    def __exit__(self, *exc):
        if self.new_api:
            torch.backends.cuda.matmul.fp32_precision = self.saved
        else:
            torch.backends.cuda.matmul.allow_tf32 = self.saved


def blocked_backward(grad_out, grad_lse, q, k, v, out, lse, causal, scale,
                     bottom_right, score_mod=None, mask_mod=None):
    """dq, dk, dv (float32) of out = softmax(scale * q k^T [causal]) v and
    lse = logsumexp(scale * q k^T [causal]) over keys, for the upstream
    gradients grad_out and grad_lse, on any device: FlashAttention-2's
    backward on blocks of query rows. q: [batch, heads, seq_q, head_dim];
    k, v: [batch, kv_heads, seq_k, head_dim] (kv_heads dividing heads:
    dk, dv sum over the query heads of a group). Rows that see no key
    (lse = -inf) have zero gradients. score_mod(score, b, h, q_idx,
    kv_idx) and mask_mod(b, h, q_idx, kv_idx), if given, are called on
    tensors (the scores of a block and broadcast index grids), as
    FlexAttention evaluates them, and score_mod is differentiated by
    autograd. Products run on TF32 tensor cores (_TensorFloat32)."""
    with _TensorFloat32():
        return _blocked_backward(grad_out, grad_lse, q, k, v, out, lse,
                                 causal, scale, bottom_right, score_mod,
                                 mask_mod)


def _blocked_backward(grad_out, grad_lse, q, k, v, out, lse, causal, scale,
                      bottom_right, score_mod, mask_mod):
    f32 = torch.float32
    batch, heads, seq_q, head_dim = q.shape
    kv_heads, seq_k = k.shape[1], k.shape[2]
    group = heads // kv_heads
    scale = 1.0 / math.sqrt(head_dim) if scale is None else float(scale)
    # d lse_i / d s_ij = p_ij, so grad_lse joins D: ds = p * (dp - D + dlse).
    delta = (grad_out.to(f32) * out.to(f32)).sum(-1) - grad_lse.to(f32)

    def grouped(t):  # [batch, heads, ...] -> [batch, kv_heads, group, ...]
        return t.unflatten(1, (kv_heads, group))

    qg, dog, lseg, deltag = (grouped(t) for t in (q, grad_out, lse, delta))
    kf = k.to(f32).unsqueeze(2)  # [batch, kv_heads, 1, seq_k, head_dim]
    vf = v.to(f32).unsqueeze(2)
    dq = torch.empty(qg.shape, dtype=f32, device=q.device)
    dk = torch.zeros(k.shape, dtype=f32, device=q.device)
    dv = torch.zeros(v.shape, dtype=f32, device=q.device)
    # A score_mod's autograd keeps a few more score-sized tensors.
    per_row = 16 * batch * heads * seq_k * (3 if score_mod else 1)
    rows = max(1, _BLOCK_BYTES // per_row)
    keys = torch.arange(seq_k, device=q.device)
    offset = seq_k - seq_q if bottom_right else 0
    # Index grids in the grouped layout [batch, kv_heads, group, rows, keys].
    batch_idx = torch.arange(batch, device=q.device).view(-1, 1, 1, 1, 1)
    head_idx = torch.arange(heads, device=q.device).view(1, kv_heads, group, 1, 1)
    key_idx = keys.view(1, 1, 1, 1, -1)
    for start in range(0, seq_q, rows):
        stop = min(seq_q, start + rows)
        qc = qg[..., start:stop, :].to(f32)
        doc = dog[..., start:stop, :].to(f32)
        lsec = lseg[..., start:stop].to(f32).unsqueeze(-1)
        raw = (qc @ kf.transpose(-1, -2)) * scale
        queries = torch.arange(start, stop, device=q.device)
        query_idx = queries.view(1, 1, 1, -1, 1)
        scores = raw
        if score_mod is not None:
            with torch.enable_grad():
                raw.requires_grad_()
                scores = score_mod(raw, batch_idx, head_idx, query_idx,
                                   key_idx).to(f32)
        hidden = lsec == -math.inf  # rows without a key
        if causal:
            hidden = hidden | (keys > queries.unsqueeze(-1) + offset)
        if mask_mod is not None:
            hidden = hidden | ~mask_mod(batch_idx, head_idx, query_idx, key_idx)
        p = torch.where(hidden, 0.0, torch.exp(scores.detach() - lsec))
        dp = doc @ vf.transpose(-1, -2)
        ds = p * (dp - deltag[..., start:stop].unsqueeze(-1))
        if score_mod is not None:  # through the modifier to the raw scores
            (ds,) = torch.autograd.grad(scores, raw, ds)
        dv += (p.transpose(-1, -2) @ doc).sum(2)
        dk += (ds.transpose(-1, -2) @ qc).sum(2) * scale
        dq[..., start:stop, :] = (ds @ kf) * scale
    return dq.flatten(1, 2), dk, dv


class ModifiedAttention(torch.autograd.Function):
    """flashc.attention with Python score_mod / mask_mod functions, for
    autograd: the forward is flashc's kernel with the log-sum-exp, the
    backward backward_grads (the compiled programs with the forward's
    trace, or blocked_backward with the same functions evaluated on
    tensors). Captured tensors get no gradient. (An autograd.Function, not
    a custom op: its arguments include Python functions, so torch.compile
    breaks the graph around it.)"""

    @staticmethod
    def forward(ctx, q, k, v, options):
        from . import _plans
        from ._backward_kernels import modifiers_of
        out, lse, (regions, captured, types) = _plans.modified_attention(
            q, k, v, options["causal"], options["scale"],
            options["bottom_right"], True, options["score_mod"],
            options["mask_mod"], options["block_map"])
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.options = options
        # The compiled backward takes the forward's trace.
        ctx.traced = (modifiers_of(regions, types), captured)
        # A log-sum-exp no loss reads arrives as None: the dQ program then
        # computes D itself.
        ctx.set_materialize_grads(False)
        return out, lse

    @staticmethod
    def backward(ctx, grad_out, grad_lse):
        q, k, v, out, lse = ctx.saved_tensors
        o = ctx.options
        if grad_out is None:
            grad_out = torch.zeros_like(out)
        dq, dk, dv = backward_grads(
            grad_out, grad_lse, q, k, v, out, lse, o["causal"],
            o["scale"], o["bottom_right"], o["score_mod"], o["mask_mod"],
            ctx.traced, o["block_map"])
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), None


def records_grad(*tensors):
    """Whether autograd would record an op on these tensors."""
    return torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


def wanted(q, k, v):
    """Whether flashc.attention(q, k, v) should go through the op: when
    torch.compile traces it, or when autograd records it."""
    return torch.compiler.is_compiling() or records_grad(q, k, v)


def refuse_gradients(what, *tensors):
    """The error of a call that has no backward yet, where autograd would
    record it: refused rather than silently detached."""
    if records_grad(*tensors):
        raise NotImplementedError(
            f"flashc.{what}: no gradients yet; call it under torch.no_grad() "
            "(or on tensors that do not require grad) for inference")
