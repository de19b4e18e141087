"""Launch plans: what an attention call and its compiled backward work out
on every call of one signature (the operands' checks, the kernel's
lookup, the launch's ctypes structures), worked out once and kept: a small
call's time is otherwise mostly Python on the host (bench/RESULTS.md,
entries 38 and 42).

A signature is everything a plan depends on: the operands' shapes,
strides, dtypes and devices, whether their rows are 16-byte aligned, and
the call's options; with Python modifiers also their trace's text and
capture types (the trace runs on every call: the captured tensors may
differ). A call whose signature has no plan takes the checked
path, which raises for bad operands and otherwise makes the plan.

Imported only where torch is: flashc itself works without it.
"""

import ctypes

import torch

from . import (FlashcError, _Capture, _check_captured, _check_coordinates,
               _fill_captures, _Shape, _Strides, _cached_bundle, _lock,
               _prepare, _short_queries, _traced_kernel, attention_mlir, mods)

_forward_plans = {}
_modified_plans = {}
_backward_plans = {}
_MAX_PLANS = 1024


def _signature(q, k, v, *options):
    """The plan key of a call on q, k, v, or None where the operands are not
    tensors (the checked path says what is wrong)."""
    try:
        return (q.shape, k.shape, v.shape, q.stride(), k.stride(), v.stride(),
                q.dtype, k.dtype, v.dtype, q.device, k.device, v.device,
                (q.data_ptr() | k.data_ptr() | v.data_ptr()) % 16 == 0,
                *options)
    except (AttributeError, RuntimeError, TypeError):
        return None


def _stream_getter():
    """index -> the device's current stream as an int: PyTorch's raw getter
    where it has one (a C call), else torch.cuda.current_stream (a Python
    object made on every call)."""
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    if raw is not None:
        return raw
    return lambda index: torch.cuda.current_stream(index).cuda_stream


_current_stream = _stream_getter()


def _capture_array(*shapes):
    """A _Capture array with these sizes; a call copies it and fills in the
    data pointers."""
    array = (_Capture * max(1, len(shapes)))()
    for slot, shape in zip(array, shapes):
        slot.sizes[:len(shape)] = list(shape)
    return array


def _with_data(template, tensors):
    array = type(template).from_buffer_copy(template)
    for slot, t in zip(array, tensors):
        slot.data = t.data_ptr()
    return array


def _outputs(q, out_from_q, return_lse):
    """A call's new output (strided like q, or row-major) and log-sum-exp
    (or None)."""
    out = torch.empty_like(q) if out_from_q else \
        torch.empty(q.shape, dtype=q.dtype, device=q.device)
    lse = torch.empty(q.shape[:3], dtype=torch.float32,
                      device=q.device) if return_lse else None
    return out, lse


class _ForwardPlan:
    """One unmodified attention kernel's launch for one signature."""

    def __init__(self, runtime, kernel, plain, shape, strides, out_from_q,
                 return_lse):
        self.runtime, self.kernel = runtime, kernel
        # Plain kernels (no LSE, no strides, no bottom-right causal) take
        # the runtime's plain launch; the others the general one, with the
        # strides of views.
        self.plain = plain
        self.shape, self.strides = shape, strides  # kept for their byrefs
        self.shape_ref = ctypes.byref(shape)
        self.strides_ref = ctypes.byref(strides) if strides else None
        self.out_from_q = out_from_q
        self.return_lse = return_lse
        self.no_captures = _capture_array()

    def run(self, q, k, v):
        out, lse = _outputs(q, self.out_from_q, self.return_lse)
        stream = _current_stream(q.device.index)
        lib = self.runtime.lib
        if self.plain:
            status = lib.flashc_kernel_launch(
                self.kernel, self.shape_ref, q.data_ptr(), k.data_ptr(),
                v.data_ptr(), out.data_ptr(), stream)
        else:
            status = lib.flashc_kernel_launch_strided(
                self.kernel, self.shape_ref, self.strides_ref, q.data_ptr(),
                k.data_ptr(), v.data_ptr(), out.data_ptr(),
                lse.data_ptr() if lse is not None else 0, self.no_captures,
                0, None, stream)
        if status != 0:
            raise FlashcError("flashc launch: " + self.runtime.error())
        return (out, lse) if self.return_lse else out


def attention(q, k, v, causal, scale, bottom_right, return_lse):
    """flashc.attention without modifiers (out, or (out, lse) with
    return_lse), by the plan of the call's signature."""
    # The options' types too: causal=1 is refused where causal=True runs.
    options = (causal, scale, bottom_right, return_lse)
    key = _signature(q, k, v, *options, *map(type, options))
    try:
        plan = _forward_plans.get(key)
    except TypeError:  # an unhashable option: the checks name it
        plan = key = None
    if plan is None:
        plan = _forward_plan(q, k, v, causal, scale, bottom_right, return_lse)
        _keep(_forward_plans, key, plan)
    return plan.run(q, k, v)


def _keep(plans, key, plan):
    """Keeps a plan; a process that meets very many signatures (every
    sequence length of a server, say) starts again past _MAX_PLANS."""
    if key is None:
        return
    if len(plans) >= _MAX_PLANS:
        plans.clear()
    plans[key] = plan


def _forward_plan(q, k, v, causal, scale, bottom_right, return_lse):
    dtype, runtime, arch, strided, out = _prepare(torch, q, k, v, scale,
                                                  causal)
    head_dim = q.shape[3]
    out_from_q = out.stride() == torch.empty_like(q).stride()
    batch, heads, seq_q, _ = q.shape
    kv_heads, seq_k = k.shape[1], k.shape[2]
    if strided or bottom_right or return_lse:
        text, _ = attention_mlir(head_dim, dtype, causal, scale, None, None,
                                 bottom_right, return_lse, [], strided,
                                 _short_queries(seq_q))
        kernel, _ = _traced_kernel(runtime, torch, q, text, [], (), arch)
        plain, strides = False, _Strides.of(q, k, v, out) if strided else None
    else:
        # Decoding with grouped-query attention: the query heads that share
        # a K/V head are contiguous rows of q, so without a mask they are
        # one head of their rows together, which reads each K/V head once
        # where each query head would read it again.
        group = heads // kv_heads
        if group > 1 and not causal and group * seq_q <= 64:
            heads, seq_q = heads // group, group * seq_q
        key = (dtype, head_dim, bool(causal), scale, arch,
               _short_queries(seq_q))
        kernel = runtime.kernels.get(key)
        if kernel is None:
            with _lock:
                kernel = runtime.kernel(key, _cached_bundle(*key))
        plain, strides = True, None
    shape = _Shape(batch, heads, seq_q, seq_k, kv_heads)
    return _ForwardPlan(runtime, kernel, plain, shape, strides, out_from_q,
                        bool(return_lse))


class _ModifiedPlan:
    """One attention kernel with Python modifiers, for one signature and
    one trace: the kernel of the trace's text and the launch's
    structures. A call fills in the captured tensors, which its trace
    gives anew (the functions may close over other tensors)."""

    def __init__(self, runtime, kernel, shape, strides, out_from_q,
                 return_lse, captures):
        self.runtime, self.kernel = runtime, kernel
        self.shape, self.strides = shape, strides  # kept for their byrefs
        self.shape_ref = ctypes.byref(shape)
        self.strides_ref = ctypes.byref(strides) if strides else None
        self.out_from_q = out_from_q
        self.return_lse = return_lse
        self.captures = (_Capture * max(1, captures))()

    def run(self, q, k, v, captured, block_map):
        _check_captured(torch, q, captured)
        out, lse = _outputs(q, self.out_from_q, self.return_lse)
        array = type(self.captures).from_buffer_copy(self.captures)
        _fill_captures(torch, array, captured)
        if self.runtime.lib.flashc_kernel_launch_strided(
                self.kernel, self.shape_ref, self.strides_ref, q.data_ptr(),
                k.data_ptr(), v.data_ptr(), out.data_ptr(),
                lse.data_ptr() if lse is not None else 0, array,
                len(captured), block_map.handle if block_map else None,
                _current_stream(q.device.index)) != 0:
            raise FlashcError("flashc launch: " + self.runtime.error())
        return out, lse


def modified_attention(q, k, v, causal, scale, bottom_right, return_lse,
                       score_mod, mask_mod, block_map):
    """flashc.attention with Python modifiers, by the plan of the call's
    signature and trace: (out, lse or None, (regions, captured, types)),
    flashc.mods.trace's, for the backward."""
    regions, captured, types = mods.trace(score_mod, mask_mod)
    options = (causal, scale, bottom_right, return_lse)
    key = _signature(q, k, v, *options, *map(type, options), regions,
                     tuple(types))
    try:
        plan = _modified_plans.get(key)
    except TypeError:  # an unhashable option: the checks name it
        plan = key = None
    if plan is None:
        plan = _modified_plan(q, k, v, causal, scale, bottom_right,
                              return_lse, regions, captured, types)
        _keep(_modified_plans, key, plan)
    out, lse = plan.run(q, k, v, captured, block_map)
    return out, lse, (regions, captured, types)


def _modified_plan(q, k, v, causal, scale, bottom_right, return_lse,
                   regions, captured, types):
    dtype, runtime, arch, strided, out = _prepare(torch, q, k, v, scale,
                                                  causal)
    _check_coordinates(*q.shape[:3], k.shape[2])
    # The regions go in as text: the functions were traced once already.
    text, _ = attention_mlir(q.shape[3], dtype, causal, scale, regions or None,
                             None, bottom_right, return_lse, types, strided,
                             _short_queries(q.shape[2]))
    kernel, _ = _traced_kernel(runtime, torch, q, text, captured, (), arch)
    shape = _Shape(q.shape[0], q.shape[1], q.shape[2], k.shape[2], k.shape[1])
    strides = _Strides.of(q, k, v, out) if strided else None
    return _ModifiedPlan(runtime, kernel, shape, strides,
                         out.stride() == torch.empty_like(q).stride(),
                         bool(return_lse), len(captured))


class _BackwardPlan:
    """The compiled backward's launches for one signature: the dQ and dK/dV
    programs, or the fused one (dQ added by atomics into a float32 tensor);
    `kernels` is (runtime, dq, dkdv, fused), dq and dkdv None with fused.
    Grouped K/V are expanded to the query heads for the dK/dV (or fused)
    program and its results summed over each group."""

    def __init__(self, q, k, kernels, own_delta=False):
        self.runtime, self.dq, self.dkdv, self.fused = kernels
        # The dQ program computes D (from dO and out) and writes it.
        self.own_delta = own_delta and not self.fused
        batch, heads, seq_q, head_dim = q.shape
        kv_heads, seq_k = k.shape[1], k.shape[2]
        self.group = heads // kv_heads
        # The dK/dV program's "q" is K (expanded), its "k" Q.
        self.shapes = (_Shape(batch, heads, seq_q, seq_k, kv_heads),
                       _Shape(batch, heads, seq_k, seq_q, heads))
        self.shape_refs = tuple(ctypes.byref(s) for s in self.shapes)
        rows, kv = q.shape[:3], (batch, heads, seq_k, head_dim)
        # Captures: dQ's (dO, lse, D); dK/dV's (V, dK, lse, D), the fused
        # program's also dQ's float32 accumulator.
        self.dq_captures = _capture_array(
            q.shape, rows, rows, *([q.shape] if self.own_delta else []))
        self.kv_captures = _capture_array(kv, kv, rows, rows,
                                          *([q.shape] if self.fused else []))

    def run(self, grad_out, grad_lse, q, k, v, out, lse, captured=(),
            block_map=None):
        if grad_out.shape != q.shape or out.shape != q.shape:
            raise ValueError(f"grad_out {tuple(grad_out.shape)} and out "
                             f"{tuple(out.shape)} must be shaped like q "
                             f"{tuple(q.shape)}")
        q, k, v, grad_out = (t.contiguous() for t in (q, k, v, grad_out))
        if self.own_delta:
            if grad_lse is not None:
                raise FlashcError("internal: a plan whose dQ program computes "
                                  "D cannot take grad_lse")
            out = out.contiguous()
            delta = torch.empty(q.shape[:3], device=q.device,
                                dtype=torch.float32)
        else:
            # d lse_i / d s_ij = p_ij, so grad_lse joins D:
            # ds = p * (dp - D + dlse).
            delta = out.float().mul_(grad_out).sum(-1)
            if grad_lse is not None:
                delta -= grad_lse
        lse = lse.float().contiguous()
        stream = _current_stream(q.device.index)

        def launch(kernel, shape, operands, template, tensors):
            array = _with_data(template, tensors)
            if captured:  # the modifiers', after the program's own
                array = (array._type_ * (len(array) + len(captured)))(*array)
                _fill_captures(torch, array, captured, len(tensors))
            # With a prebuilt map, the program's own map (its mask's data
            # the same, as promised), else the launch builds one.
            derived = block_map.for_kernel(
                (kernel.value, tuple(operands[0].shape),
                 tuple(operands[1].shape)),
                lambda: self.runtime.build_block_map(
                    kernel, *operands, None, (*tensors, *captured))) \
                if block_map is not None else None
            if self.runtime.lib.flashc_kernel_launch_strided(
                    kernel, shape, None, *(t.data_ptr() for t in operands), 0,
                    array, len(array), derived.handle if derived else None,
                    stream) != 0:
                raise FlashcError("flashc launch: " + self.runtime.error())

        if self.fused:
            dq_acc = torch.zeros(q.shape, device=q.device,
                                 dtype=torch.float32)
        else:
            dq = torch.empty_like(q)
            launch(self.dq, self.shape_refs[0], (q, k, v, dq),
                   self.dq_captures, (grad_out, lse, delta,
                                      *([out] if self.own_delta else [])))
        if self.group > 1:
            k, v = (t.repeat_interleave(self.group, 1) for t in (k, v))
        dk, dv = torch.empty_like(k), torch.empty_like(v)
        if self.fused:
            launch(self.fused, self.shape_refs[1], (k, q, grad_out, dv),
                   self.kv_captures, (v, dk, lse, delta, dq_acc))
            dq = dq_acc.to(q.dtype)
        else:
            launch(self.dkdv, self.shape_refs[1], (k, q, grad_out, dv),
                   self.kv_captures, (v, dk, lse, delta))
        if self.group > 1:
            kv_heads = k.shape[1] // self.group
            dk, dv = (t.unflatten(1, (kv_heads, self.group)).float().sum(2)
                      .to(q.dtype) for t in (dk, dv))
        return dq, dk, dv


def backward(grad_out, grad_lse, q, k, v, out, lse, causal, scale,
             bottom_right, atomic, mods=None, captured=(), block_map=None):
    """dq, dk, dv from the compiled backward, by the plan of the call's
    signature: its shapes, options, and with modifiers their Modifiers
    (the regions' text and capture types); `captured` the values the
    modifiers' captures take in this call; `block_map` the forward's
    prebuilt map (BlockMap, or None), which keeps the programs' maps."""
    # Without a loss on the log-sum-exp the dQ program computes D itself.
    own_delta = grad_lse is None
    key = (q.shape, k.shape, q.dtype, q.device, causal, scale, bottom_right,
           atomic, own_delta, mods)
    plan = _backward_plans.get(key)
    if plan is None:
        from ._backward_kernels import backward_kernels
        plan = _BackwardPlan(q, k, backward_kernels(
            q, causal, scale, bottom_right, atomic, mods, own_delta),
            own_delta)
        _keep(_backward_plans, key, plan)
    return plan.run(grad_out, grad_lse, q, k, v, out, lse, captured,
                    block_map)
