//===- FlashOps.td - flash dialect operations --------------*- tablegen -*-===//

#ifndef FLASHC_DIALECT_FLASH_IR_FLASHOPS_TD
#define FLASHC_DIALECT_FLASH_IR_FLASHOPS_TD

include "flashc/Dialect/Flash/IR/FlashDialect.td"
include "flashc/Dialect/Flash/IR/FlashAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Flash_Tensor4 : MemRefRankOf<[F16, BF16], [4]>;
def Flash_Tile2 : TensorRankOf<[F16, BF16, F32], [2]>;
def Flash_Row1 : TensorRankOf<[F32], [1]>;

//===----------------------------------------------------------------------===//
// User level
//===----------------------------------------------------------------------===//

// Isolated from above: the modifier regions are scalar functions of their
// arguments (so that the canonicalizer keeps their constants inside).
def Flash_AttentionOp : Flash_Op<"attention", [AttrSizedOperandSegments,
                                               IsolatedFromAbove]> {
  let summary = "scaled dot-product attention, O = softmax(scale·Q·Kᵀ)·V";
  let description = [{
    Computes attention for every (batch, head): `O = softmax(mod(scale · Q ·
    Kᵀ) [masked]) · V`, the softmax taken along the key axis.

    Operands are memrefs `[batch, heads, seq, head_dim]` of one element type,
    f16 or bf16, row-major or strided (`strided<[?, ?, ?, 1]>`: a unit
    head_dim stride, offset 0, static strides multiples of 8; a view of
    `[batch, seq, heads, head_dim]` storage, strides given at launch). K and V may have fewer heads than Q, a divisor of Q's
    (grouped-query attention, multi-query with one): query head `h` reads
    K/V head `h / (heads / kv_heads)`. Batch, heads and seq may be dynamic (`?`); head_dim must be
    static, a multiple of 16 from 32 to 256. K and V have the same seq (the key length),
    which may differ from Q's; O has Q's shape. Accumulation is in f32.

    - `lse`: an optional output `[batch, heads, seq_q]` f32 memref that
      receives each row's log-sum-exp, `log(sum_j exp(mod(scale·s[i, j])))`
      over the keys the row sees (natural log); `-inf` for a row that sees
      none (whose output row is 0).
    - `varlen`: sequences of different lengths packed along seq
      (FlashAttention's varlen form): `cu_seqlens_q` and `cu_seqlens_k`,
      i32 memrefs `[sequences + 1]` in device memory, hold where each
      sequence starts in Q's (and O's) and in K/V's seq axis, and where the
      last one ends. Q, K, V and O then have batch 1 and seq the total
      length: a packed `[total, heads, head_dim]` buffer is read as
      `[1, heads, total, head_dim]` (`strided<[?, ?, ?, 1]>`), and `lse`
      is `[1, heads, total_q]`. Every sequence attends only to its own
      keys; `causal`, `bottom_right`, the key length and the modifiers'
      `batch`, `q_idx`, `kv_idx`, `seq_q` and `seq_k` are those of the
      sequence. Sequences of length 0 are allowed.
    - `paged`: K and V are a paged cache (FlashAttention's
      `block_table` form): `[pages, kv_heads, page_size, head_dim]` (a
      `[pages, page_size, kv_heads, head_dim]` cache read through a
      strided view), a page size that is a multiple of 16. `block_table`,
      i32 `[batch, max_pages]`, lists each sequence's pages in order, and
      `seqlens_k`, i32 `[batch]`, its key length: key j of sequence b is
      row `j mod page_size` of page `block_table[b, j / page_size]`. The
      modifiers' and the mask's `seq_k` is the sequence's length.
    - `causal`: query row i attends to key columns j <= i (top-left aligned,
      as PyTorch's `is_causal`). With `bottom_right`, j <= i + seq_k - seq_q
      (FlashAttention's alignment: the last query sees every key).
    - `scale`: multiplies the scores; default 1/sqrt(head_dim).
    - `captures`: extra operands the modifier regions read: memrefs of any
      rank (global memory, row-major) and index, integer or float scalars.
    - `score_mod` region: `(score: f32, batch, head, q_idx, kv_idx, seq_q,
      seq_k: index, captures...)`, yields the f32 score to use instead of
      `score` (the scaled one).
    - `mask_mod` region: `(batch, head, q_idx, kv_idx, seq_q, seq_k: index,
      captures...)`, yields an i1: true where query q_idx may see key
      kv_idx. Applied together with `causal` and the key length.
    - `config`: the tile configuration; when absent `flash-select-config`
      picks one.
    - `policy`: what the lowering does for speed with that configuration
      (`#flash.policy`); needs `config`; when absent `flash-select-config`
      picks one.

    The regions hold only pure scalar `arith` and `math` ops (selects
    included), `memref.load` from captured memrefs, and a `flash.yield`;
    they use nothing from outside but their arguments.

    ```mlir
    flash.attention %q, %k, %v -> %o causal scale(0.125) :
        memref<1x8x512x64xf16>, memref<1x8x512x64xf16>,
        memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
    score_mod {
    ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index,
         %sq: index, %sk: index):
      %cap = arith.constant 50.0 : f32
      %x = arith.divf %s, %cap : f32
      %t = math.tanh %x : f32
      %y = arith.mulf %t, %cap : f32
      flash.yield %y : f32
    }
    ```
  }];
  // AnyMemRef: the verifier names the operand and the rule it breaks.
  let arguments = (ins Arg<AnyMemRef, "queries", [MemRead]>:$q,
                       Arg<AnyMemRef, "keys", [MemRead]>:$k,
                       Arg<AnyMemRef, "values", [MemRead]>:$v,
                       Arg<AnyMemRef, "output", [MemWrite]>:$o,
                       Arg<Optional<AnyMemRef>, "log-sum-exp", [MemWrite]>:$lse,
                       Arg<Optional<AnyMemRef>, "sequence starts of Q", [MemRead]>:$cu_seqlens_q,
                       Arg<Optional<AnyMemRef>, "sequence starts of K/V", [MemRead]>:$cu_seqlens_k,
                       Arg<Optional<AnyMemRef>, "pages of each sequence", [MemRead]>:$block_table,
                       Arg<Optional<AnyMemRef>, "K/V length of each sequence", [MemRead]>:$seqlens_k,
                       Arg<Variadic<AnyType>, "modifier operands", [MemRead]>:$captures,
                       UnitAttr:$causal,
                       UnitAttr:$bottom_right,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<Flash_TileConfigAttr>:$config,
                       OptionalAttr<Flash_PolicyAttr>:$policy);
  let regions = (region MaxSizedRegion<1>:$score_mod,
                        MaxSizedRegion<1>:$mask_mod);
  let assemblyFormat = [{
    $q `,` $k `,` $v `->` $o (`lse` `(` $lse^ `:` type($lse) `)`)?
    (`varlen` `(` $cu_seqlens_q^ `,` $cu_seqlens_k `:` type($cu_seqlens_q) `,`
      type($cu_seqlens_k) `)`)?
    (`paged` `(` $block_table^ `,` $seqlens_k `:` type($block_table) `,`
      type($seqlens_k) `)`)?
    (`causal` $causal^)? (`bottom_right` $bottom_right^)?
    (`scale` `(` $scale^ `)`)?
    (`config` `(` qualified($config)^ `)`)? (`policy` `(` qualified($policy)^ `)`)?
    (`captures` `(` $captures^ `:` type($captures) `)`)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `->` type($o)
    (`score_mod` $score_mod^)? (`mask_mod` $mask_mod^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale in force: the attribute, else 1/sqrt(head_dim).
    float getEffectiveScale();
    int64_t getHeadDim();
    bool hasScoreMod() { return !getScoreMod().empty(); }
    bool isVarlen() { return static_cast<bool>(getCuSeqlensQ()); }
    bool isPaged() { return static_cast<bool>(getBlockTable()); }
    bool hasMaskMod() { return !getMaskMod().empty(); }
  }];
}

//===----------------------------------------------------------------------===//
// Tile level
//===----------------------------------------------------------------------===//

def Flash_TiledOp : Flash_Op<"tiled", [SingleBlock, NoTerminator,
                                       AttrSizedOperandSegments]> {
  let summary = "the per-program body of a tiled attention kernel";
  let description = [{
    Runs its region once for every program of the grid
    `(ceildiv(seq_q, block_m), batch·heads)`. The region's two `index`
    arguments are the program's query block and its batch·head index
    (`b·heads + h`, of Q). K and V may have fewer heads than Q, a divisor
    of them (grouped-query attention). Inside, tile ops read and write `q`, `k`, `v` and `o`
    (captured from above). One program is one GPU thread block of
    `32·warps` threads. `lse` (optional) is the log-sum-exp output that
    `flash.store_lse` writes, and `captures` the operands that modifier ops
    (`flash.score_mod`, `flash.mask_mod`) read: the kernel takes all of
    them. With `varlen` (as on `flash.attention`), the grid's batch is
    the number of sequences, and inside the region `q`, `k`, `v`, `o` and
    `lse` stand for the program's sequence `b`: batch `b` of them holds its
    rows, and seq is its length. With `paged`, `k` and `v` are the caches
    (seq the page size): the program reads its key length from `seqlens_k`
    (`pagedKeyLength`), and the lowering's copies find each key row
    through the block table. `policy` (optional) says what the lowering does for
    speed (`#flash.policy`); without it the lowering follows
    `getDefaultPolicy` of the configuration, as `flash-select-config` would.

    ```mlir
    flash.tiled %q, %k, %v -> %o config(#flash.config<block_m = 64,
        block_n = 64, stages = 2, warps = 4, strategy = wmma>)
        : memref<?x?x?x64xf16>, ... {
    ^bb0(%qblock: index, %bh: index):
      ...
    }
    ```
  }];
  let arguments = (ins AnyMemRef:$q, AnyMemRef:$k, AnyMemRef:$v,
                       AnyMemRef:$o, Optional<AnyMemRef>:$lse,
                       Optional<AnyMemRef>:$cu_seqlens_q,
                       Optional<AnyMemRef>:$cu_seqlens_k,
                       Optional<AnyMemRef>:$block_table,
                       Optional<AnyMemRef>:$seqlens_k,
                       Variadic<AnyType>:$captures,
                       Flash_TileConfigAttr:$config,
                       OptionalAttr<Flash_PolicyAttr>:$policy);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $q `,` $k `,` $v `->` $o (`lse` `(` $lse^ `:` type($lse) `)`)?
    (`varlen` `(` $cu_seqlens_q^ `,` $cu_seqlens_k `:` type($cu_seqlens_q) `,`
      type($cu_seqlens_k) `)`)?
    (`paged` `(` $block_table^ `,` $seqlens_k `:` type($block_table) `,`
      type($seqlens_k) `)`)?
    `config` `(` qualified($config) `)`
    (`policy` `(` qualified($policy)^ `)`)?
    (`captures` `(` $captures^ `:` type($captures) `)`)?
    attr-dict `:` type($q) `,`
    type($k) `,` type($v) `->` type($o) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getHeadDim();
    /// The tiles besides Q that the program keeps in shared memory for its
    /// whole run: its top-level flash.load_tile ops of a capture (the
    /// backward's V), in order.
    ::llvm::SmallVector<LoadTileOp> getResidentCaptureTiles();
    /// Whether the program stages a tile through shared memory (it has a
    /// flash.atomic_add_dot).
    bool hasStagingTile();
    /// The shared memory the program keeps besides its configuration's:
    /// one block_m-row tile per resident capture tile, and the staging
    /// tile.
    int64_t getKeptTileBytes();
    /// The kernel's dynamic shared memory: the configuration's and
    /// getKeptTileBytes().
    int64_t getSharedMemoryBytes();
    /// The policy in force: the attribute, else getDefaultPolicy's.
    PolicyAttr getEffectivePolicy();
    /// True if any flash.mask of the program is causal.
    bool isCausal();
    bool isVarlen() { return static_cast<bool>(getCuSeqlensQ()); }
    bool isPaged() { return static_cast<bool>(getBlockTable()); }
    ::mlir::Value getQueryBlock() { return getBody().getArgument(0); }
    ::mlir::Value getBatchHead() { return getBody().getArgument(1); }
  }];
}

def Flash_LoadTileOp : Flash_Op<"load_tile"> {
  let summary = "load a block of rows of one (batch, head) into a tile";
  let description = [{
    Reads rows `[row, row + R)` of head `bh` (`b·heads + h`) of `source`,
    all `head_dim` columns, into an `R x head_dim` tile. Rows at or past the
    source's seq are read as zero. The tile's element type is the source's.

    ```mlir
    %qt = flash.load_tile %q[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    ```
  }];
  let arguments = (ins Arg<Flash_Tensor4, "", [MemRead]>:$source,
                       Index:$batch_head, Index:$row);
  let results = (outs Flash_Tile2:$result);
  let assemblyFormat = [{
    $source `[` $batch_head `,` $row `]` attr-dict `:` type($source) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Flash_StoreTileOp : Flash_Op<"store_tile"> {
  let summary = "store a tile into a block of rows of one (batch, head)";
  let description = [{
    Writes the `R x head_dim` tile to rows `[row, row + R)` of head `bh` of
    `dest`; rows at or past the destination's seq are not written. The tile's
    element type is the destination's.

    ```mlir
    flash.store_tile %ot, %o[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
    ```
  }];
  let arguments = (ins Flash_Tile2:$value,
                       Arg<Flash_Tensor4, "", [MemWrite]>:$dest,
                       Index:$batch_head, Index:$row);
  let assemblyFormat = [{
    $value `,` $dest `[` $batch_head `,` $row `]` attr-dict `:` type($value)
    `->` type($dest)
  }];
  let hasVerifier = 1;
}

def Flash_KVLoopOp : Flash_Op<"kv_loop", [
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects,
    AttrSizedOperandSegments]> {
  let summary = "loop over the key/value blocks of one (batch, head)";
  let description = [{
    Iterates `start = 0, block_n, 2·block_n, ...` while `start < upper`, with
    `block_n` from the enclosing `flash.tiled` configuration; with `lower`
    (at least 0) it starts at the block that holds key `lower`,
    `floor(lower / block_n)·block_n`, so that blocks no query of the
    program sees are never loaded. Each iteration's
    region receives `start`, the K and V tiles of rows `[start, start +
    block_n)` of head `bh` of K and V (`b·kv_heads + h`, their own heads:
    with grouped-query attention the program computes it from its own;
    rows past the key length read as zero), and the loop-carried values; `flash.yield` gives the next ones. The results are
    the values after the last iteration (the initial values when there is
    none).

    The loads are part of the loop so that the lowering may keep the next
    `stages - 1` blocks in flight while the current one is computed.

    An affine `flash.mask_mod` in the body may narrow the iterations
    further. It must be at position `start`, with its other coordinates
    defined outside the loop, and its result must reach every yielded
    value and every `flash.atomic_add_dot`. flash-to-gpu then skips the
    blocks the mask hides from the program's rows, since they contribute
    nothing.

    ```mlir
    %r:3 = flash.kv_loop %k, %v [%bh] upper %hi init(%m0, %l0, %acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>,
          tensor<64xf32>, tensor<64x64xf32>
        -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>,
         %m: tensor<64xf32>, %l: tensor<64xf32>, %acc: tensor<64x64xf32>):
      ...
      flash.yield %m1, %l1, %acc1 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    ```
  }];
  let arguments = (ins Arg<Flash_Tensor4, "", [MemRead]>:$k,
                       Arg<Flash_Tensor4, "", [MemRead]>:$v,
                       Index:$batch_head, Optional<Index>:$lower, Index:$upper,
                       Variadic<AnyType>:$inits);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $k `,` $v `[` $batch_head `]` (`lower` $lower^)? `upper` $upper
    `init` `(` $inits `)`
    attr-dict `:` type($k) `,` type($v) (`,` type($inits)^)?
    (`->` type($results)^)? $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let builders = [OpBuilder<(ins "::mlir::Value":$k, "::mlir::Value":$v,
      "::mlir::Value":$batchHead, "::mlir::Value":$lower,
      "::mlir::Value":$upper, "::mlir::ValueRange":$inits,
      "int64_t":$blockN)>];
}

def Flash_YieldOp : Flash_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["KVLoopOp", "AttentionOp", "ScoreModOp", "MaskModOp"]>]> {
  let summary = "the next loop-carried values, or a modifier's result";
  let description = [{
    Ends the body of a `flash.kv_loop` (the next loop-carried values) or a
    `score_mod` / `mask_mod` region (the modified score, or whether the key
    is seen).
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

def Flash_DotOp : Flash_Op<"dot", [Pure]> {
  let summary = "tile matrix product on tensor cores, f32 accumulation";
  let description = [{
    `result = lhs · rhs (+ acc)`, or `lhs · rhsᵀ` with `transpose_rhs`.
    `lhs` is `M x K`, `rhs` is `K x N` (`N x K` transposed); operands are f16
    or bf16 (both the same), the result and `acc` f32 `M x N`. M, N and K are
    multiples of 16 (the tensor-core tile).

    ```mlir
    %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %o = flash.dot %p, %vt acc %o0 : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Flash_Tile2:$lhs, Flash_Tile2:$rhs,
                       Optional<Flash_Tile2>:$acc, UnitAttr:$transpose_rhs);
  let results = (outs Flash_Tile2:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`transpose_rhs` $transpose_rhs^)? (`acc` $acc^)? attr-dict
    `:` type($lhs) `,` type($rhs) (`,` type($acc)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Flash_MaskOp : Flash_Op<"mask", [Pure, AllTypesMatch<["scores", "result"]>]> {
  let summary = "set masked scores to -inf";
  let description = [{
    For a score tile whose element (i, j) is query row `row + i` against key
    column `col + j`, sets the element to -inf when `col + j >= limit` (past
    the key length) or, with `causal`, when `col + j > row + i + diagonal`
    (`diagonal`, a signed index, defaults to 0: top-left alignment; seq_k -
    seq_q gives bottom-right). A block that needs no masking is left
    unchanged; the lowering tests this once per block, so that only tail and
    diagonal blocks pay for it.

    With `transposed` the tile holds the transposed scores, as the
    backward's dK/dV program computes them (K·Qᵀ): element (i, j) is key
    `row + i` against query `col + j`, so `limit` bounds the queries and,
    with `causal`, the element is hidden when `row + i > col + j +
    diagonal`.

    ```mlir
    %sm = flash.mask %s row %row col %start limit %seq_k causal : tensor<64x64xf32>
    %sb = flash.mask %s row %row col %start limit %seq_k causal diagonal %d : tensor<64x64xf32>
    %st = flash.mask %s row %key0 col %start limit %seq_q causal transposed : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Flash_Tile2:$scores, Index:$row, Index:$col,
                       Index:$limit, UnitAttr:$causal,
                       Optional<Index>:$diagonal, UnitAttr:$transposed);
  let results = (outs Flash_Tile2:$result);
  let assemblyFormat = [{
    $scores `row` $row `col` $col `limit` $limit (`causal` $causal^)?
    (`diagonal` $diagonal^)? (`transposed` $transposed^)? attr-dict `:`
    type($scores)
  }];
  let hasVerifier = 1;
}

def Flash_ScoreModOp : Flash_Op<"score_mod", [
    RecursiveMemoryEffects, IsolatedFromAbove, AllTypesMatch<["scores", "result"]>]> {
  let summary = "apply a score_mod region to every element of a score tile";
  let description = [{
    For the score tile whose element (i, j) is query `row + i` against key
    `col + j` of head `batch_head` (`b·heads + h`), replaces every element
    by what the region yields for it. The region is a user-level
    `score_mod` (see `flash.attention`): `(score: f32, batch, head, q_idx,
    kv_idx, seq_q, seq_k: index, captures...)`; `seq_q` and `seq_k` are the
    operands of those names. The lowering visits each element in the lane
    that holds it. With `transposed` the tile holds transposed scores (the
    backward's dK/dV program): element (i, j) is key `row + i` against
    query `col + j`, and the region still receives them as `q_idx` and
    `kv_idx`.

    ```mlir
    %s1 = flash.score_mod %s [%bh, %row, %start] seq(%seq_q, %seq_k)
        : tensor<64x64xf32> {
    ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index,
         %sq: index, %sk: index):
      ...
      flash.yield %y : f32
    }
    ```
  }];
  let arguments = (ins Flash_Tile2:$scores, Index:$batch_head, Index:$row,
                       Index:$col, Index:$seq_q, Index:$seq_k,
                       UnitAttr:$transposed, Variadic<AnyType>:$captures);
  let results = (outs Flash_Tile2:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $scores `[` $batch_head `,` $row `,` $col `]` `seq` `(` $seq_q `,` $seq_k `)`
    (`transposed` $transposed^)?
    (`captures` `(` $captures^ `:` type($captures) `)`)? attr-dict `:`
    type($scores) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Flash_MaskModOp : Flash_Op<"mask_mod", [
    RecursiveMemoryEffects, IsolatedFromAbove, AllTypesMatch<["scores", "result"]>]> {
  let summary = "set the scores a mask_mod region hides to -inf";
  let description = [{
    Like `flash.score_mod`, with a user-level `mask_mod` region
    (`(batch, head, q_idx, kv_idx, seq_q, seq_k: index, captures...)`,
    yielding an i1): elements where it yields false become -inf.
    `transposed` as for `flash.score_mod`.

    ```mlir
    %s1 = flash.mask_mod %s [%bh, %row, %start] seq(%seq_q, %seq_k)
        captures(%doc : memref<4096xi32>) : tensor<64x64xf32> {
    ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index,
         %sk: index, %ids: memref<4096xi32>):
      ...
      flash.yield %same : i1
    }
    ```
  }];
  let arguments = (ins Flash_Tile2:$scores, Index:$batch_head, Index:$row,
                       Index:$col, Index:$seq_q, Index:$seq_k,
                       UnitAttr:$transposed, Variadic<AnyType>:$captures);
  let results = (outs Flash_Tile2:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $scores `[` $batch_head `,` $row `,` $col `]` `seq` `(` $seq_q `,` $seq_k `)`
    (`transposed` $transposed^)?
    (`captures` `(` $captures^ `:` type($captures) `)`)? attr-dict `:`
    type($scores) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Flash_StoreLseOp : Flash_Op<"store_lse", [AllTypesMatch<["max", "sum"]>]> {
  let summary = "store the rows' log-sum-exp after the K/V loop";
  let description = [{
    From the final running max `max` (in `scale_log2e` units, as
    `flash.softmax_step` keeps it) and sum `sum` of rows `[row, row + R)` of
    head `batch_head`, writes `lse = ln(2) · (max + log2(sum))` (the natural
    log-sum-exp of the scaled, modified scores) to `dest[b, h, row + i]`;
    rows at or past the destination's seq are not written, and a row that
    saw no key gets -inf.

    ```mlir
    flash.store_lse %m, %l, %lse[%bh, %row] : tensor<64xf32> -> memref<?x?x?xf32>
    ```
  }];
  let arguments = (ins Flash_Row1:$max, Flash_Row1:$sum,
                       Arg<MemRefRankOf<[F32], [3]>, "", [MemWrite]>:$dest,
                       Index:$batch_head, Index:$row);
  let assemblyFormat = [{
    $max `,` $sum `,` $dest `[` $batch_head `,` $row `]` attr-dict `:`
    type($max) `->` type($dest)
  }];
  let hasVerifier = 1;
}

def Flash_SoftmaxStepOp : Flash_Op<"softmax_step", [Pure,
    AllTypesMatch<["max_in", "sum_in", "max_out", "sum_out", "alpha"]>]> {
  let summary = "one online-softmax step over a block of scores";
  let description = [{
    With `c = scale_log2e` (the attention scale times log2(e), folded into one
    multiply) and the running row max `m` kept in those scaled units:

    ```
    m_new[i] = max(m[i], max_j c·s[i, j])
    p[i, j]  = exp2(c·s[i, j] - m_new[i])      (rounded to p's element type)
    alpha[i] = exp2(m[i] - m_new[i])
    l_new[i] = alpha[i]·l[i] + sum_j p[i, j]
    ```

    Where m_new[i] is -inf (nothing unmasked in the row yet) 0 stands in for
    it in p and alpha, so that the row gives p = 0 and alpha = 0 (its sum and
    accumulator are still 0) instead of NaN.

    ```mlir
    %p, %m1, %l1, %alpha = flash.softmax_step %s, %m, %l scale_log2e(0.180337) :
        tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    ```
  }];
  let arguments = (ins Flash_Tile2:$scores, Flash_Row1:$max_in,
                       Flash_Row1:$sum_in, F32Attr:$scale_log2e);
  let results = (outs Flash_Tile2:$probs, Flash_Row1:$max_out,
                      Flash_Row1:$sum_out, Flash_Row1:$alpha);
  let assemblyFormat = [{
    $scores `,` $max_in `,` $sum_in `scale_log2e` `(` $scale_log2e `)` attr-dict
    `:` type($scores) `,` type($max_in) `->` type($probs)
  }];
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "::mlir::Value":$scores, "::mlir::Value":$max,
      "::mlir::Value":$sum, "float":$scaleLog2e, "::mlir::Type":$probType)>];
}

def Flash_RescaleOp : Flash_Op<"rescale", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "multiply each row of a tile by a per-row factor";
  let description = [{
    `result[i, j] = acc[i, j] · factor[i]`: brings the output accumulator to
    the new running max after a softmax step.

    ```mlir
    %acc1 = flash.rescale %acc, %alpha : tensor<64x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Flash_Tile2:$acc, Flash_Row1:$factor);
  let results = (outs Flash_Tile2:$result);
  let assemblyFormat = [{
    $acc `,` $factor attr-dict `:` type($acc) `,` type($factor)
  }];
  let hasVerifier = 1;
}

def Flash_NormalizeOp : Flash_Op<"normalize", [Pure]> {
  let summary = "divide the accumulator by the row sums, once, and round";
  let description = [{
    `result[i, j] = acc[i, j] / sum[i]` rounded to the result's element type
    (f16 or bf16); rows with `sum = 0` (nothing attended) give 0.

    ```mlir
    %ot = flash.normalize %acc, %l : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    ```
  }];
  let arguments = (ins Flash_Tile2:$acc, Flash_Row1:$sum);
  let results = (outs Flash_Tile2:$result);
  let assemblyFormat = [{
    $acc `,` $sum attr-dict `:` type($acc) `,` type($sum) `->` type($result)
  }];
  let hasVerifier = 1;
}

include "flashc/Dialect/Flash/IR/FlashBackwardOps.td"

#endif // FLASHC_DIALECT_FLASH_IR_FLASHOPS_TD
