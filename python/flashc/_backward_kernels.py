"""The backward's compiled kernels: FlashAttention-2's two tile programs
(examples/tile/backward_dq.mlir and backward_dkdv.mlir, written here for
any head dim, dtype, scale and causal alignment), compiled and cached as
modified-attention kernels are (by their MLIR text), and launched by
attention_backward.

    dQ program:   one program per query block; K/V blocks streamed;
                  dQ = sum_j dS_j K_j.
    dK/dV program: one program per key block (its "q" is K); blocks of Q
                  and dO streamed; dV = sum_i P_iᵀ dO_i, dK = sum_i dS_iᵀ Q_i.

No atomics: each program writes its own rows once, so the result does not
depend on scheduling (deterministic). The fused program (fused_program:
the dK/dV program also adds dQ by atomics) is the opt-in alternative.

With Python modifiers (trace_modifiers, modified_programs) the programs
carry the forward's regions and flash-to-gpu differentiates the score_mod
(an op without a derivative rule is a FlashcError naming it).
"""

import functools
import math
from typing import NamedTuple, Optional, Tuple

# Tiles per head dim: (block_m, block_n, warps, where the kept tile's
# fragments live) of the dQ program and of the dK/dV program, with no spill
# on sm_80-sm_90 (test/Python/backward_programs.test). A head dim takes the
# row of the smallest listed one at least as large (registers grow with
# it); past 176 there is none (dK and dV, two 16 x head_dim f32
# accumulators per warp, spill at 192) and the PyTorch backward runs. The
# rows of 64 and 128 are the fastest of bench/backward_kernels.py's choices
# on the H200 (bench/RESULTS.md, entry 34); 48 and 176 were not timed.
TILES = {
    # At 48, K's fragments kept in registers spill on sm_80 (causal).
    48: ((64, 64, 4, "registers"), (64, 64, 4, "shared")),
    64: ((64, 64, 4, "registers"), (64, 64, 4, "registers")),
    128: ((128, 32, 8, "registers"), (64, 32, 4, "shared")),
    # 64-row tiles: with 128 (and Q's or K's, dO's or V's tile kept for
    # the program) both exceed the 99 KiB of shared memory of sm_86/sm_89.
    176: ((64, 32, 4, "shared"), (64, 16, 4, "shared")),
}

# With modifiers (their regions and derivatives take registers): no spill
# on sm_80-sm_90 for a softcap with a window, ALiBi and a document mask;
# past 128 the PyTorch backward.
MODIFIER_TILES = {
    64: ((64, 64, 4, "registers"), (64, 32, 4, "shared")),
    128: ((64, 32, 4, "registers"), (64, 32, 4, "shared")),
}

# The fused program (FlashAttention-2's default: one program per key block
# adds each block's dQ by f32 atomics, five products a block instead of the
# two programs' seven) reaches head dims up to 128; at 176 it spills. On
# the H200 it is slower than the two programs, except with a score_mod on
# mma_sync programs (whose recomputation in the dQ program costs more than
# the atomics; not on wgmma's): bench/RESULTS.md, entries 37 and 42;
# _autograd.backward_grads chooses (fused_is_faster).
FUSED_MAX_HEAD_DIM = 128

_MEM4 = "memref<?x?x?x{d}x{t}>"
_MEM3 = "memref<?x?x?xf32>"


# On sm_90a, the programs at head dims 64 and 128 (wgmma needs a multiple
# of 64) take wgmma: one warpgroup, the kept tiles read from shared memory.
# The fastest of bench/backward_kernels.py's wgmma choices on the H200
# (bench/RESULTS.md, entry 41); dK/dV at 128 needs 32-column blocks for
# its registers.
_WG = ("shared", "wgmma")
WGMMA_TILES = {
    64: ((64, 64, 4, *_WG), (64, 64, 4, *_WG)),
    128: ((64, 64, 4, *_WG), (64, 32, 4, *_WG)),
}
# With modifiers: at 64 the unmodified tiles (no spill for the modifiers
# of test/Python/backward_programs.test, nor for a softcap over ALiBi with
# a document mask: 255 registers; 64-key dK/dV blocks are faster than 32,
# bench/RESULTS.md entry 43); at 128 32-column blocks, where 64 spill.
WGMMA_MODIFIER_TILES = {
    64: ((64, 64, 4, *_WG), (64, 64, 4, *_WG)),
    128: ((64, 32, 4, *_WG), (64, 32, 4, *_WG)),
}


# A mask served by a block map (mapped_mask): the maps' values push the
# larger tiles into spills, so the programs keep Q (dQ) in shared memory
# and the dK/dV program takes narrower blocks; on sm_90a dQ keeps wgmma's
# tiles, and dK/dV takes 32-key wgmma blocks at 64 and mma_sync's at 128
# (wgmma's spill there). No spill for a document mask, alone or with a
# softcap or ALiBi, on sm_80, sm_90 and sm_90a (bench/RESULTS.md, 45).
MAPPED_TILES = {
    64: ((64, 64, 4, "shared"), (64, 32, 4, "shared")),
    128: ((64, 32, 4, "shared"), (64, 16, 4, "shared")),
}
WGMMA_MAPPED_DKDV_TILES = {64: (64, 32, 4, *_WG)}


# The ops an affine mask (lib/Analysis/AffineMask.cpp) is made of; a mask
# with any other op may get a block map.
_AFFINE_OPS = ("arith.constant", "arith.addi", "arith.subi", "arith.muli",
               "arith.index_cast", "arith.extsi", "arith.cmpi", "arith.andi",
               "arith.ori", "arith.xori", "arith.select", "flash.yield")


def mapped_mask(mods):
    """Whether the Modifiers (or None) have a mask that flash-to-gpu
    serves with a block map: one that loads captured data, or has an op an
    affine mask has not. (Approximate: a mask of these ops that AffineMask
    still refuses, a product of two positions, gets a map and the larger
    tiles.)"""
    if mods is None or mods.mask_region is None:
        return False
    ops = [line.split("=", 1)[1].split()[0]
           for line in mods.mask_region.splitlines() if " = " in line]
    return any(op not in _AFFINE_OPS for op in ops)


def tiles_for(head_dim, modified=False, arch=None, mapped=False):
    """The (dQ, dK/dV) tiles of `head_dim` (with modifiers: `modified`;
    with a mask served by a block map: `mapped`) for `arch` (None: any),
    or None where the compiled backward does not reach."""
    if arch == "sm_90a" and head_dim in WGMMA_TILES:
        tiles = (WGMMA_MODIFIER_TILES if modified else WGMMA_TILES)[head_dim]
        if mapped:
            return tiles[0], WGMMA_MAPPED_DKDV_TILES.get(
                head_dim, MAPPED_TILES[head_dim][1])
        return tiles
    table = MAPPED_TILES if mapped else MODIFIER_TILES if modified else TILES
    for limit in sorted(table):
        if head_dim <= limit:
            return table[limit]
    return None


@functools.lru_cache(maxsize=None)
def programs(head_dim, dtype, causal, bottom_right, scale, arch=None,
             own_delta=False):
    """The MLIR texts of the dQ and dK/dV programs ("f16" or "bf16"; scale
    None for 1/sqrt(head_dim)) for `arch` (None: any); with `own_delta`
    the dQ program computes D itself (dq_program)."""
    return modified_programs(head_dim, dtype, causal, bottom_right, scale,
                             None, arch, own_delta)


def modified_programs(head_dim, dtype, causal, bottom_right, scale, mods,
                      arch=None, own_delta=False):
    """programs() with the forward's modifiers (Modifiers, or None) in
    both."""
    scale = 1.0 / math.sqrt(head_dim) if scale is None else float(scale)
    dq_tiles, dkdv_tiles = tiles_for(head_dim, mods is not None, arch,
                                     mapped_mask(mods))
    return (dq_program(head_dim, dtype, causal, bottom_right, scale,
                       dq_tiles, mods=mods, own_delta=own_delta),
            dkdv_program(head_dim, dtype, causal, bottom_right, scale,
                         dkdv_tiles, mods=mods))


def fused_program(head_dim, dtype, causal, bottom_right, scale, mods=None):
    """The MLIR text of the fused program (the dK/dV program adding dQ by
    atomics), or None past FUSED_MAX_HEAD_DIM."""
    if head_dim > FUSED_MAX_HEAD_DIM:
        return None
    scale = 1.0 / math.sqrt(head_dim) if scale is None else float(scale)
    tiles = tiles_for(head_dim, mods is not None, None, mapped_mask(mods))[1]
    # 64-column blocks with K's fragments in registers spill on sm_80
    # (bf16, bottom-right) once dQ's product joins: 32 columns.
    if tiles == (64, 64, 4, "registers"):
        tiles = (64, 32, 4, "registers")
    return dkdv_program(head_dim, dtype, causal, bottom_right, scale, tiles,
                        mods=mods, fused=True)


def fused_is_faster(q):
    """Whether, with a score_mod, the fused program beats the two programs
    on q's (CUDA) device: on mma_sync programs it does (the dQ program's
    recomputation of the score_mod costs more than the atomics), on wgmma
    programs it does not (bench/RESULTS.md, entries 37 and 42)."""
    import torch
    from . import _runtime_of
    tiles = tiles_for(q.shape[-1], True, _runtime_of(torch, q)[1])
    return tiles is not None and "wgmma" not in tiles[0]


@functools.lru_cache(maxsize=None)
def _unmodified_fused_program(head_dim, dtype, causal, bottom_right, scale):
    """fused_program without modifiers, written once per call signature
    (as programs() is)."""
    return fused_program(head_dim, dtype, causal, bottom_right, scale)


def all_programs(head_dim, dtype, causal, bottom_right, scale, mods=None,
                 arch=None):
    """Every program either mode may run on `arch`: dQ (computing D or
    reading it), dK/dV, and the fused one where it reaches."""
    texts = list(modified_programs(head_dim, dtype, causal, bottom_right,
                                   scale, mods, arch))
    texts.append(modified_programs(head_dim, dtype, causal, bottom_right,
                                   scale, mods, arch, own_delta=True)[0])
    fused = fused_program(head_dim, dtype, causal, bottom_right, scale, mods)
    return texts + ([fused] if fused else [])


def warm(head_dim, dtype, causal, bottom_right=False, scale=None,
         arch="sm_90a"):
    """Compiles the programs into the disk cache (on a machine with the
    compiler), for a GPU machine that has only the runtime."""
    from . import _modified_bundle
    for text in all_programs(head_dim, dtype, causal, bottom_right, scale,
                             arch=arch):
        _modified_bundle(text, arch)


def _kernel(runtime, text, arch):
    from . import _lock, _modified_bundle
    key = ("backward", text, arch)
    kernel = runtime.kernels.get(key)
    if kernel is None:
        with _lock:
            kernel = runtime.kernel(key, _modified_bundle(text, arch))
    return kernel


def compiled_backward(grad_out, grad_lse, q, k, v, out, lse, causal, scale,
                      bottom_right, score_mod=None, mask_mod=None,
                      atomic=False, traced=None, block_map=None):
    """dq, dk, dv (in q's dtype) from flashc's backward kernels, or None
    where they do not reach (not CUDA, or a head dim past TILES or, with
    Python modifiers, MODIFIER_TILES). Shapes as
    _autograd.blocked_backward's (grad_lse may be None). The dQ and dK/dV
    programs, or with `atomic` the fused program where it reaches; launched
    by the plan of the call's signature (_plans.backward), with modifiers
    also of their trace: `traced` (Modifiers, captured values), the
    forward's, or traced here from score_mod and mask_mod; `block_map` the
    forward's prebuilt map, if any."""
    from . import _plans
    modified = score_mod is not None or mask_mod is not None
    if not q.is_cuda or tiles_for(q.shape[-1], modified) is None:
        return None
    mods, captured = (traced or trace_modifiers(score_mod, mask_mod)) \
        if modified else (None, ())
    return _plans.backward(grad_out, grad_lse, q, k, v, out, lse, causal,
                           scale, bottom_right, atomic, mods, captured,
                           block_map)


def backward_kernels(q, causal, scale, bottom_right, atomic, mods=None,
                     own_delta=False):
    """(runtime, dq, dkdv, fused) kernels of a backward on q's device: the
    two programs (with `own_delta` the dQ program computing D), or with
    `atomic` the fused one where it reaches; `mods` the forward's
    Modifiers, or None."""
    import torch
    from . import _runtime_of
    runtime, arch = _runtime_of(torch, q)
    args = (q.shape[-1], _dtype(q), causal, bottom_right, scale)
    if mods is None:
        fused = _unmodified_fused_program(*args) if atomic else None
        texts = (None, None, fused) if fused else (
            *programs(*args, arch, own_delta), None)
    else:
        fused = fused_program(*args, mods) if atomic else None
        texts = (None, None, fused) if fused else (
            *modified_programs(*args, mods, arch, own_delta), None)
    return _kernels(runtime, arch, texts)


def _dtype(q):
    import torch
    return {torch.float16: "f16", torch.bfloat16: "bf16"}[q.dtype]


def _kernels(runtime, arch, texts):
    """(runtime, *kernels) of the program texts for `arch` (None stays
    None)."""
    return (runtime, *(_kernel(runtime, text, arch) if text else None
                       for text in texts))


def _config(block_m, block_n, warps, q, strategy="mma_sync"):
    """The flash.tiled's config and policy clauses; `q` says where the
    program's kept tile's fragments live ("registers", or "shared": read on
    every step, fewer registers; wgmma reads it from shared memory)."""
    return (f"config(#flash.config<block_m = {block_m}, block_n = {block_n}, "
            f"stages = 2, warps = {warps}, strategy = {strategy}>) "
            f"policy(#flash.policy<q = {q}, stale_max_log2 = 0, "
            f"prefetch = after_barrier, min_blocks_per_sm = 1>)")


def _scales(scale):
    return (f"scale_log2e({scale * math.log2(math.e):.9e}) "
            f"scale({scale:.9e})")


class Modifiers(NamedTuple):
    """Score and mask modifiers for the two programs: the regions of
    flashc.mods.trace (text, or None) and their captures' memref types.
    The compiled programs differentiate the score_mod (flash.grad_scores
    on modified scores). Hashable: a modified call's backward plan is kept
    per Modifiers (_plans.backward)."""

    score_region: Optional[str] = None
    mask_region: Optional[str] = None
    capture_types: Tuple[str, ...] = ()


def trace_modifiers(score_mod, mask_mod):
    """(Modifiers, the captured tensors) of Python functions."""
    from . import mods
    text, captured, types = mods.trace(score_mod, mask_mod)
    return modifiers_of(text, types), captured


def modifiers_of(text, types):
    """The Modifiers of flashc.mods.trace's text and capture types."""
    # The text is `  score_mod {` region, then `  mask_mod {` region (each
    # present or not); a region's body runs to the next header.
    bodies = {}
    for kind in ("score_mod", "mask_mod"):
        header = f"  {kind} {{"
        start = text.find(header)
        if start < 0:
            continue
        end = text.find("\n  mask_mod {", start + 1)
        bodies[kind] = text[start + len(header):end if end >= 0 else None]
    return Modifiers(bodies.get("score_mod"), bodies.get("mask_mod"),
                     tuple(types))


def _modifier_captures(mods):
    """The modifiers' captures: [(name, memref type)]."""
    types = mods.capture_types if mods else []
    return [(f"%modcap{i}", t) for i, t in enumerate(types)]


def _function(name, tensors, tensor_type, config, captures, block, lines,
              mods):
    """A func.func around one flash.tiled: `tensors` its q, k, v and
    output (all of `tensor_type`), then `captures` [(name, type)] and the
    modifiers' as parameters and captures; the region's first argument is
    `block`, its body `lines`."""
    captures = captures + _modifier_captures(mods)
    params = [(n, tensor_type) for n in tensors] + captures
    q, k, v, out = tensors
    return (f"func.func @{name}("
            + ", ".join(f"{n}: {t}" for n, t in params) + ") {\n"
            f"  flash.tiled {q}, {k}, {v} -> {out} {config}\n"
            f"      captures({', '.join(n for n, _ in captures)} : "
            f"{', '.join(t for _, t in captures)})\n"
            f"      : {tensor_type}, {tensor_type}, {tensor_type} -> "
            f"{tensor_type} {{\n"
            f"  ^bb0({block}: index, %bh: index):\n" + "\n".join(lines) +
            "\n  }\n  return\n}\n")


def _score_chain(scores, scores_type, mods, row, col, transposed, scale):
    """The forward's modifier chain on a program's scores (as
    flash-expand-attention writes it: the scale as a product, the
    score_mod, the mask_mod): (lines, the result's name, the grad_scores
    scales)."""
    if mods is None:
        return [], scores, _scales(scale)
    captured = _modifier_captures(mods)
    clause = (f" captures({', '.join(n for n, _ in captured)} : "
              f"{', '.join(t for _, t in captured)})" if captured else "")
    flag = " transposed" if transposed else ""
    head = f"[%bh, {row}, {col}] seq(%seq_q, %seq_k){flag}{clause}"
    lines = []
    scales = _scales(scale)
    if mods.score_region:
        lines += [
            f"      %mod_scale = arith.constant dense<{scale:.9e}> : {scores_type}",
            f"      %mod_scaled = arith.mulf {scores}, %mod_scale : {scores_type}",
            f"      %mod_score = flash.score_mod %mod_scaled {head} : "
            f"{scores_type} {{" + mods.score_region]
        scores = "%mod_score"
        # The scale is in the chain (and in its derivative).
        scales = f"scale_log2e({math.log2(math.e):.9e}) scale(1.0)"
    if mods.mask_region:
        lines.append(f"      %mod_mask = flash.mask_mod {scores} {head} : "
                     f"{scores_type} {{" + mods.mask_region)
        scores = "%mod_mask"
    return lines, scores, scales


def dq_program(head_dim, dtype, causal, bottom_right, scale, tiles=None,
               mods=None, own_delta=False):
    """MLIR text of the dQ program: (q, k, v, dq, captures dout, lse,
    delta, with `own_delta` out, then the modifiers' captures); `tiles`
    overrides TILES' (block_m, block_n, warps, q); `mods` (Modifiers) the
    forward's. With `own_delta` the program computes D = rowsum(dO∘O) from
    dO and the forward's output and writes it to delta (for the dK/dV
    program) instead of reading it."""
    bm, bn, warps, q, *strategy = (tiles or
                                   tiles_for(head_dim, mods is not None)[0])
    t4 = _MEM4.format(d=head_dim, t=dtype)
    tile = f"tensor<{bm}x{head_dim}x{dtype}>"
    ktile = f"tensor<{bn}x{head_dim}x{dtype}>"
    acc = f"tensor<{bm}x{head_dim}xf32>"
    scores = f"tensor<{bm}x{bn}xf32>"
    rows = f"tensor<{bm}xf32>"
    lines = [
        "    %c0 = arith.constant 0 : index",
        "    %c2 = arith.constant 2 : index",
        f"    %cbm = arith.constant {bm} : index",
        "    %row = arith.muli %qblock, %cbm : index",
        f"    %seq_q = memref.dim %q, %c2 : {t4}",
        f"    %seq_k = memref.dim %k, %c2 : {t4}",
        "    %diag = arith.subi %seq_k, %seq_q : index",
        # K and V's batch·head for grouped-query attention:
        # b·kv_heads + h / (heads / kv_heads).
        "    %c1 = arith.constant 1 : index",
        f"    %heads = memref.dim %q, %c1 : {t4}",
        f"    %kv_heads = memref.dim %k, %c1 : {t4}",
        "    %group = arith.divui %heads, %kv_heads : index",
        "    %batch = arith.divui %bh, %heads : index",
        "    %head = arith.remui %bh, %heads : index",
        "    %kv_base = arith.muli %batch, %kv_heads : index",
        "    %kv_head = arith.divui %head, %group : index",
        "    %kv_bh = arith.addi %kv_base, %kv_head : index",
    ]
    mask = "limit %seq_k"
    upper = "%seq_k"
    if causal:
        # The block's last query sees keys up to its row (+ seq_k - seq_q
        # bottom-right): the loop stops there.
        lines.append("    %end = arith.addi %row, %cbm : index")
        if bottom_right:
            lines += ["    %shifted = arith.addi %end, %diag : index",
                      "    %reach = arith.maxsi %shifted, %c0 : index"]
        else:
            lines.append("    %reach = arith.addi %end, %c0 : index")
        lines.append("    %upper = arith.minui %seq_k, %reach : index")
        upper = "%upper"
        mask += " causal" + (" diagonal %diag" if bottom_right else "")
    lines += [
        f"    %qt = flash.load_tile %q[%bh, %row] : {t4} -> {tile}",
        f"    %dot = flash.load_tile %dout[%bh, %row] : {t4} -> {tile}",
        f"    %lse_rows = flash.load_rows %lse[%bh, %row] : {_MEM3} -> {rows}",
    ]
    if own_delta:
        lines += [
            f"    %delta_rows = flash.row_dot %dout, %out[%bh, %row] : {t4}, "
            f"{t4} -> {rows}",
            f"    flash.store_rows %delta_rows, %delta[%bh, %row] : {rows} -> "
            f"{_MEM3}"]
    else:
        lines.append(f"    %delta_rows = flash.load_rows %delta[%bh, %row] : "
                     f"{_MEM3} -> {rows}")
    lines += [
        f"    %acc0 = arith.constant dense<0.0> : {acc}",
        f"    %r = flash.kv_loop %k, %v [%kv_bh] upper {upper} init(%acc0)"
        f" : {t4}, {t4}, {acc} -> {acc} {{",
        f"    ^bb0(%start: index, %kt: {ktile}, %vt: {ktile}, %a: {acc}):",
        f"      %s = flash.dot %qt, %kt transpose_rhs : {tile}, {ktile} -> {scores}",
    ]
    chain, modified, scales = _score_chain("%s", scores, mods, "%row",
                                           "%start", False, scale)
    lines += chain + [
        f"      %masked = flash.mask {modified} row %row col %start {mask} : {scores}",
        f"      %dp = flash.dot %dot, %vt transpose_rhs : {tile}, {ktile} -> {scores}",
        f"      %ds = flash.grad_scores %masked, %dp, %lse_rows, %delta_rows "
        f"{scales} : {scores}, {rows} -> tensor<{bm}x{bn}x{dtype}>",
        f"      %a1 = flash.dot %ds, %kt acc %a : tensor<{bm}x{bn}x{dtype}>, "
        f"{ktile}, {acc} -> {acc}",
        f"      flash.yield %a1 : {acc}",
        "    }",
        f"    %dqt = arith.truncf %r : {acc} to {tile}",
        f"    flash.store_tile %dqt, %dq[%bh, %row] : {tile} -> {t4}",
    ]
    return _function(
        "backward_dq", ["%q", "%k", "%v", "%dq"], t4,
        _config(bm, bn, warps, q, *strategy),
        [("%dout", t4), ("%lse", _MEM3), ("%delta", _MEM3)]
        + ([("%out", t4)] if own_delta else []), "%qblock", lines, mods)


def dkdv_program(head_dim, dtype, causal, bottom_right, scale, tiles=None,
                 mods=None, fused=False):
    """MLIR text of the dK/dV program: (k, q, dout, dv, captures v, dk, lse,
    delta, with `fused` dq_acc, then the modifiers' captures); its grid runs
    over key blocks; `tiles` and `mods` as dq_program's (the modifiers
    transposed). `fused` also adds each block's dQ to dq_acc (f32, zero
    before the launch) by atomics: the whole backward in one program."""
    bm, bn, warps, q, *strategy = (tiles or
                                   tiles_for(head_dim, mods is not None, None,
                                             mapped_mask(mods))[1])
    t4 = _MEM4.format(d=head_dim, t=dtype)
    tile = f"tensor<{bm}x{head_dim}x{dtype}>"
    qtile = f"tensor<{bn}x{head_dim}x{dtype}>"
    acc = f"tensor<{bm}x{head_dim}xf32>"
    scores = f"tensor<{bm}x{bn}xf32>"
    half = f"tensor<{bm}x{bn}x{dtype}>"
    cols = f"tensor<{bn}xf32>"
    lines = [
        "    %c0 = arith.constant 0 : index",
        "    %c2 = arith.constant 2 : index",
        f"    %cbm = arith.constant {bm} : index",
        "    %row = arith.muli %kblock, %cbm : index",
        f"    %seq_q = memref.dim %q, %c2 : {t4}",
        f"    %seq_k = memref.dim %k, %c2 : {t4}",
        "    %diag = arith.subi %seq_k, %seq_q : index",
    ]
    mask = "limit %seq_q"
    lower = ""
    if causal:
        # The block's first key is seen from query row (- (seq_k - seq_q)
        # bottom-right) on: the loop starts there.
        if bottom_right:
            lines += ["    %first = arith.subi %row, %diag : index",
                      "    %lower = arith.maxsi %first, %c0 : index"]
        else:
            lines.append("    %lower = arith.addi %row, %c0 : index")
        lower = " lower %lower"
        mask += " causal" + (" diagonal %diag" if bottom_right else "")
    mask += " transposed"
    lines += [
        f"    %kt = flash.load_tile %k[%bh, %row] : {t4} -> {tile}",
        f"    %vt = flash.load_tile %v[%bh, %row] : {t4} -> {tile}",
        f"    %zero = arith.constant dense<0.0> : {acc}",
        f"    %r:2 = flash.kv_loop %q, %dout [%bh]{lower} upper %seq_q "
        f"init(%zero, %zero) : {t4}, {t4}, {acc}, {acc} -> {acc}, {acc} {{",
        f"    ^bb0(%start: index, %qt: {qtile}, %dot: {qtile}, %dk_acc: {acc}, "
        f"%dv_acc: {acc}):",
        f"      %st = flash.dot %kt, %qt transpose_rhs : {tile}, {qtile} -> {scores}",
    ]
    chain, modified, scales = _score_chain("%st", scores, mods, "%row",
                                           "%start", True, scale)
    lines += chain + [
        f"      %masked = flash.mask {modified} row %row col %start {mask} : {scores}",
        f"      %dpt = flash.dot %vt, %dot transpose_rhs : {tile}, {qtile} -> {scores}",
        # After the products: loaded earlier, the columns' values would
        # hold registers across them.
        f"      %lse_cols = flash.load_cols %lse[%bh, %start] : {_MEM3} -> {cols}",
        f"      %delta_cols = flash.load_cols %delta[%bh, %start] : {_MEM3} -> {cols}",
        f"      %dst, %pt = flash.grad_scores %masked, %dpt, %lse_cols, %delta_cols "
        f"{scales} transposed : {scores}, {cols} -> {half}, {half}",
        f"      %dv1 = flash.dot %pt, %dot acc %dv_acc : {half}, {qtile}, {acc} -> {acc}",
        f"      %dk1 = flash.dot %dst, %qt acc %dk_acc : {half}, {qtile}, {acc} -> {acc}",
    ]
    if fused:
        lines.append(f"      flash.atomic_add_dot %dst, %kt, %dq_acc[%bh, %start]"
                     f" : {half}, {tile} -> {_MEM4.format(d=head_dim, t='f32')}")
    lines += [
        f"      flash.yield %dk1, %dv1 : {acc}, {acc}",
        "    }",
        f"    %dkt = arith.truncf %r#0 : {acc} to {tile}",
        f"    flash.store_tile %dkt, %dk[%bh, %row] : {tile} -> {t4}",
        f"    %dvt = arith.truncf %r#1 : {acc} to {tile}",
        f"    flash.store_tile %dvt, %dv[%bh, %row] : {tile} -> {t4}",
    ]
    captures = [("%v", t4), ("%dk", t4), ("%lse", _MEM3), ("%delta", _MEM3)]
    if fused:
        captures.append(("%dq_acc", _MEM4.format(d=head_dim, t="f32")))
    return _function(
        "backward_fused" if fused else "backward_dkdv",
        ["%k", "%q", "%dout", "%dv"], t4, _config(bm, bn, warps, q, *strategy),
        captures, "%kblock", lines, mods)
