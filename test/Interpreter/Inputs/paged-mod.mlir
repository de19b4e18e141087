// Chunked prefill against a paged cache: dynamic pages and page size,
// grouped heads, bottom-right causal, an LSE, and a score modifier that
// depends on the batch index (the sequence).
func.func @paged_mod(%q: memref<?x4x?x64xf16, strided<[?, ?, ?, 1]>>,
                     %k_cache: memref<?x2x?x64xf16, strided<[?, 64, 128, 1]>>,
                     %v_cache: memref<?x2x?x64xf16, strided<[?, 64, 128, 1]>>,
                     %o: memref<?x4x?x64xf16, strided<[?, ?, ?, 1]>>,
                     %lse: memref<?x4x?xf32>,
                     %block_table: memref<?x?xi32>, %seqlens_k: memref<?xi32>) {
  flash.attention %q, %k_cache, %v_cache -> %o lse(%lse : memref<?x4x?xf32>)
      paged(%block_table, %seqlens_k : memref<?x?xi32>, memref<?xi32>)
      causal bottom_right
      : memref<?x4x?x64xf16, strided<[?, ?, ?, 1]>>,
        memref<?x2x?x64xf16, strided<[?, 64, 128, 1]>>,
        memref<?x2x?x64xf16, strided<[?, 64, 128, 1]>>
        -> memref<?x4x?x64xf16, strided<[?, ?, ?, 1]>>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index,
       %sk: index):
    %bi = arith.index_cast %b : index to i32
    %bf = arith.sitofp %bi : i32 to f32
    %quarter = arith.constant 0.25 : f32
    %one = arith.constant 1.0 : f32
    %t = arith.mulf %bf, %quarter : f32
    %factor = arith.addf %one, %t : f32
    %y = arith.mulf %s, %factor : f32
    flash.yield %y : f32
  }
  return
}
