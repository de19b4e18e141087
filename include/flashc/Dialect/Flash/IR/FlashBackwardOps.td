//===- FlashBackwardOps.td - the backward's tile ops -------*- tablegen -*-===//
//
// Tile-level ops that the backward's programs use (docs/Backward.md):
// per-row and per-column loads of the forward's statistics, the scores'
// gradient, and dQ added atomically. Included by FlashOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_DIALECT_FLASH_IR_FLASHBACKWARDOPS_TD
#define FLASHC_DIALECT_FLASH_IR_FLASHBACKWARDOPS_TD

def Flash_LoadRowsOp : Flash_Op<"load_rows"> {
  let summary = "load one f32 value per row of a tile";
  let description = [{
    Reads `source[b, h, row + i]` for the `R` rows of a tile (`batch_head` is
    `b·heads + h`); rows at or past the source's seq read as 0. The backward
    reads the forward's log-sum-exp and its row term D = rowsum(dO∘O) so.

    ```mlir
    %lse_rows = flash.load_rows %lse[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    ```
  }];
  let arguments = (ins Arg<MemRefRankOf<[F32], [3]>, "", [MemRead]>:$source,
                       Index:$batch_head, Index:$row);
  let results = (outs Flash_Row1:$result);
  let assemblyFormat = [{
    $source `[` $batch_head `,` $row `]` attr-dict `:` type($source) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Flash_LoadColsOp : Flash_Op<"load_cols"> {
  let summary = "load one f32 value per column of a tile";
  let description = [{
    Reads `source[b, h, col + j]` for the `C` columns of a tile
    (`batch_head` is `b·heads + h`); columns at or past the source's seq
    read as 0. The backward's dK/dV program, whose score tiles are
    transposed (a column per query), reads the forward's log-sum-exp and the
    row term D of its queries so.

    ```mlir
    %lse_cols = flash.load_cols %lse[%bh, %start] : memref<?x?x?xf32> -> tensor<64xf32>
    ```
  }];
  let arguments = (ins Arg<MemRefRankOf<[F32], [3]>, "", [MemRead]>:$source,
                       Index:$batch_head, Index:$col);
  let results = (outs Flash_Row1:$result);
  let assemblyFormat = [{
    $source `[` $batch_head `,` $col `]` attr-dict `:` type($source) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Flash_RowDotOp : Flash_Op<"row_dot"> {
  let summary = "one f32 per row: the dot product of two tensors' rows";
  let description = [{
    Gives `sum_c lhs[b, h, row + i, c] · rhs[b, h, row + i, c]` (in f32)
    for the `R` rows of a tile (`batch_head` is `b·heads + h`); rows at or
    past `lhs`'s seq give 0, and `rhs` must be at least as long. Both are
    row-major with one element type and head dim, read in 16-byte chunks:
    as for `flash.load_tile`'s sources, their data must be 16-byte
    aligned. `b` and `h` come from `batch_head` by the program's heads
    (Q's), as for `flash.load_rows`.
    The backward's dQ program computes its row term D = rowsum(dO∘O) so,
    from dO and the forward's output, instead of a separate reduction
    before it.

    ```mlir
    %delta_rows = flash.row_dot %dout, %out[%bh, %row] : memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> tensor<64xf32>
    ```
  }];
  let arguments = (ins Arg<Flash_Tensor4, "", [MemRead]>:$lhs,
                       Arg<Flash_Tensor4, "", [MemRead]>:$rhs,
                       Index:$batch_head, Index:$row);
  let results = (outs Flash_Row1:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs `[` $batch_head `,` $row `]` attr-dict `:` type($lhs) `,`
    type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Flash_StoreRowsOp : Flash_Op<"store_rows"> {
  let summary = "store one f32 value per row of a tile";
  let description = [{
    Writes `rows[i]` to `dest[b, h, row + i]` for the `R` rows of a tile
    (`batch_head` is `b·heads + h`); rows at or past `dest`'s seq are not
    written. The dQ program stores its row term D so, for the dK/dV
    program that runs after it.

    ```mlir
    flash.store_rows %delta_rows, %delta[%bh, %row] : tensor<64xf32> -> memref<?x?x?xf32>
    ```
  }];
  let arguments = (ins Flash_Row1:$rows,
                       Arg<MemRefRankOf<[F32], [3]>, "", [MemWrite]>:$dest,
                       Index:$batch_head, Index:$row);
  let assemblyFormat = [{
    $rows `,` $dest `[` $batch_head `,` $row `]` attr-dict `:` type($rows)
    `->` type($dest)
  }];
  let hasVerifier = 1;
}

def Flash_GradScoresOp : Flash_Op<"grad_scores", [Pure,
    AllTypesMatch<["scores", "dp"]>, AllTypesMatch<["lse", "delta"]>]> {
  let summary = "the scores' gradient, from the forward's log-sum-exp";
  let description = [{
    The backward's element-wise step (FlashAttention-2's): with
    `c = scale_log2e` (the attention scale times log2(e)) and the forward's
    natural log-sum-exp `lse` of each row, the probabilities are recomputed
    as `p = 2^(s·c - lse·log2(e))`, and the result is
    `ds = scale · p · (dp - delta)`: the gradient of the scaled scores, times
    the scale, so that `dQ = ds · K` (and `dK = dsᵀ · Q`) need no further
    multiply. `dp` is `dO · Vᵀ` for the same block and `delta` the row term
    `rowsum(dO∘O)`. Masked scores (-inf, from `flash.mask`) and rows whose
    `lse` is -inf (they saw no key) give 0. The result is rounded to f16 or
    bf16 for the next product.

    With `transposed` the tiles are transposed (a row per key, a column per
    query: the dK/dV program's `K·Qᵀ` and `V·dOᵀ`), and `lse` and `delta`
    hold one value per column (`flash.load_cols`). The optional second
    result is `p` itself, rounded the same way, from the same visit of the
    elements: the dK/dV program needs both (`dV += pᵀ·dO`).

    ```mlir
    %ds = flash.grad_scores %s, %dp, %lse_rows, %delta_rows scale_log2e(0.180336878) scale(0.125)
        : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    %dst, %pt = flash.grad_scores %st, %dpt, %lse_cols, %delta_cols scale_log2e(0.180336878)
        scale(0.125) transposed
        : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>, tensor<64x64xf16>
    ```
  }];
  let arguments = (ins Flash_Tile2:$scores, Flash_Tile2:$dp, Flash_Row1:$lse,
                       Flash_Row1:$delta, F32Attr:$scale_log2e,
                       F32Attr:$scale, UnitAttr:$transposed);
  let results = (outs Flash_Tile2:$result, Optional<Flash_Tile2>:$probs);
  let assemblyFormat = [{
    $scores `,` $dp `,` $lse `,` $delta `scale_log2e` `(` $scale_log2e `)`
    `scale` `(` $scale `)` (`transposed` $transposed^)? attr-dict `:`
    type($scores) `,` type($lse) `->` type($result) (`,` type($probs)^)?
  }];
  let hasVerifier = 1;
}

def Flash_AtomicAddDotOp : Flash_Op<"atomic_add_dot"> {
  let summary = "add lhsᵀ · rhs to rows of an f32 tensor, atomically";
  let description = [{
    With `lhs` an `M x N` tile and `rhs` an `M x head_dim` tile, adds
    `sum_j lhs[j, i] · rhs[j, c]` to `dest[b, h, row + i, c]` for the `N`
    rows `i` (`batch_head` is `b·heads + h`); rows at or past the
    destination's seq are not written. The additions are atomic (f32), so
    programs may add to the same rows in any order: the backward's dK/dV
    program adds each block's `dQ = dSᵀᵀ · K` so, with `lhs` its
    transposed `dSᵀ` (a row per key) and `rhs` its K, instead of a second
    program recomputing the scores for dQ. The sum's order, and so its
    rounding, depends on scheduling.

    ```mlir
    flash.atomic_add_dot %dst, %kt, %dq_acc[%bh, %start]
        : tensor<64x32xf16>, tensor<64x64xf16> -> memref<?x?x?x64xf32>
    ```
  }];
  let arguments = (ins Flash_Tile2:$lhs, Flash_Tile2:$rhs,
                       Arg<MemRefRankOf<[F32], [4]>, "",
                           [MemRead, MemWrite]>:$dest,
                       Index:$batch_head, Index:$row);
  let assemblyFormat = [{
    $lhs `,` $rhs `,` $dest `[` $batch_head `,` $row `]` attr-dict `:`
    type($lhs) `,` type($rhs) `->` type($dest)
  }];
  let hasVerifier = 1;
}

#endif // FLASHC_DIALECT_FLASH_IR_FLASHBACKWARDOPS_TD
