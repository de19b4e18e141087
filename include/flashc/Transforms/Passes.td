//===- Passes.td - flash dialect transformations -----------*- tablegen -*-===//

#ifndef FLASHC_TRANSFORMS_PASSES_TD
#define FLASHC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FlashSelectConfig : Pass<"flash-select-config"> {
  let summary = "Give every flash.attention a tile configuration and a policy";
  let description = [{
    Leaves an explicit `config` alone. Otherwise, in this order: the entry of
    the tune cache (`tune-cache`, written by `flashc tune`) for (`arch`,
    element type, head_dim, causal, seq bucket), if it verifies; else the
    configuration measured fastest on an H100 (bench/RESULTS.md) without
    spills, strategy `mma_sync` for f16 and bf16 with 2 stages and 4 warps:
    128x64 up to head_dim 80 (two 16-row strips per warp), 128x32 up to
    head_dim 128 without a mask and 64x64 causal, and past 128 128x32 up
    to 160 without a mask, else 64x32 (one strip per warp: O alone takes
    head_dim / 2 registers a lane per strip). With static shapes:
    causal head_dim 128 takes 128x32 from 16384 tokens on; 128x32 without
    a mask gets a third stage where two such programs still share an SM
    (sm_80, sm_90); a grid that does not fill the `arch`'s SMs takes 64x64
    instead (with a third stage where it fits and each SM holds one program
    at most), and if the grid then fills at most half of them (causal) or a
    quarter (no mask) it sets `kv_splits` (split K/V loops; with one query
    block per head, up to two programs per SM). A static query length of
    at most 64 takes 64-row blocks (64x64 where it fits). Where the grid is
    known only at launch (a dynamic size), a configuration with one strip
    per warp gets `kv_splits = 16`: the runtime chooses 1 to 16 splits at
    each launch (flashc/Runtime/KVSplits.h, the same rule); two strips a
    warp, and strided operands past head_dim 128, would spill with the
    split's registers, so they do not split. Varlen takes the head dim's
    default tiles (seq is the packed total, and it does not split yet); a
    paged cache takes the query-side fits and may split at launch (its
    key length is known only then).
    `wmma` stays selectable
    (option `strategy`, flashc `--mma=wmma`, or an explicit config) up to
    head_dim 128: 64x64, or 64x32 past head_dim 64.
    With `arch = sm_90a` the heuristic's strategy is `wgmma` (measured on
    the H200, bench/RESULTS.md entry 22) where the head_dim is a multiple
    of 64, except for a static query length of at most 64 and a paged
    cache (decoding), which keep `mma_sync`:
    64x128 with 4 warps at head_dim 64; from 128 on 128 rows with 8 warps
    and the most keys a step (128, 64, 32) that fit in two stages of
    sm_90a's 227 KiB; with dynamic sizes `kv_splits = 16` (split at
    launch) from head_dim 128 on, and a static grid below the SMs takes 64 rows (4 warps) and
    the split rule of mma_sync's small grids. Strategy `wgmma` forced or
    in an explicit config on another arch, or forced at a head_dim that is
    not a multiple of 64, is an error. At head_dim 64 on `wgmma` a
    `mask_mod` served by a block map (a document mask) takes 64x64 tiles,
    and a narrow sliding window (at most 512 keys a query) 64x64 at any
    head_dim.

    Then, unless the op has one, the `policy` for its configuration
    (`getDefaultPolicy`): Q in registers unless its fragments would spill
    (strips per warp times head_dim above 128 with two strips, head_dim
    above 192 with one); the stale row max (2^8) at block_n 32 with
    `mma_sync`; the prefetch after the first product with 3+ stages; and
    the blocks per SM that the shared memory allows on the smallest SM of
    the supported architectures (at most what 200 registers a thread
    allow); where the heuristic chose the config, a modified one-warpgroup
    program at head_dim 64 on `wgmma` gets more blocks per SM than its
    registers would otherwise take (four for a mask served by a block map
    without a loading score_mod; three for a score_mod that loads from its
    captures, not at the element's coordinates; bench/RESULTS.md entry
    47). `flash-expand-attention` carries it to the tile program, where
    `flashc --emit=tile` shows it.
  }];
  let options = [
    Option<"tuneCache", "tune-cache", "std::string", /*default=*/"\"\"",
           "Tune cache file to consult first (empty: none)">,
    Option<"arch", "arch", "std::string", /*default=*/"\"sm_89\"",
           "Target architecture, the cache key's first field">,
    Option<"strategy", "strategy", "std::string", /*default=*/"\"\"",
           "Force a tensor-core strategy for the heuristic: wmma, mma_sync "
           "or wgmma (empty: the fastest measured: wgmma on sm_90a where it "
           "applies, else mma_sync)">,
  ];
}

def FlashExpandAttention : Pass<"flash-expand-attention"> {
  let summary = "Expand flash.attention into the tiled online-softmax program";
  let description = [{
    Rewrites each `flash.attention` (which must have a `config`; run
    `flash-select-config` first) into a `flash.tiled` program with the same
    `config` and `policy`: the Q block
    of rows `[qblock·block_m, +block_m)` of head `bh` is loaded once; a
    `flash.kv_loop` walks the K/V blocks carrying the running row max and row
    sum (f32, max in scale·log2(e) units) and the f32 output accumulator;
    each step is `dot(Q, Kᵀ)`, `mask`, `softmax_step` (exp2 with
    scale·log2(e) folded into one multiply), `rescale` and `dot(P, V)`; after
    the loop one `normalize` divides by the row sum, and `store_tile` writes
    O in the input's element type.

    Causal attention ends the loop at `min(seq_k, (qblock + 1)·block_m)`, so
    blocks wholly above the diagonal are never visited; `flash.mask` masks
    only the blocks that cross the diagonal or the key length. Query rows and
    key rows past the sequence end are read as zero and masked (key side) or
    not stored (query side), so any seq >= 1 works.

    `varlen(...)` and `paged(...)` pass through to `flash.tiled`. With
    `paged`, the key length is not K's seq (the page size) but the
    sequence's `seqlens_k` entry, at most what its block-table row holds
    (`pagedKeyLength`).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // FLASHC_TRANSFORMS_PASSES_TD
