// Decoding against a paged K/V cache (FlashAttention's block_table form):
// the caches are [pages, page_size, kv_heads, head_dim] buffers read as
// [pages, kv_heads, page_size, head_dim], 64-row pages here; sequence b's
// keys are the rows of pages block_table[b, 0], block_table[b, 1], ...,
// seqlens_k[b] of them. Llama-3 8B's heads (32 over 8, head_dim 128, bf16),
// one new query row per sequence; the K/V loop splits at launch.
// Python's flashc.paged_attention compiles this form.
func.func @paged(%q: memref<?x32x1x128xbf16, strided<[?, ?, ?, 1]>>,
                 %k_cache: memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>>,
                 %v_cache: memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>>,
                 %o: memref<?x32x1x128xbf16, strided<[?, ?, ?, 1]>>,
                 %block_table: memref<?x?xi32>, %seqlens_k: memref<?xi32>) {
  flash.attention %q, %k_cache, %v_cache -> %o
      paged(%block_table, %seqlens_k : memref<?x?xi32>, memref<?xi32>)
      : memref<?x32x1x128xbf16, strided<[?, ?, ?, 1]>>,
        memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>>,
        memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>>
        -> memref<?x32x1x128xbf16, strided<[?, ?, ?, 1]>>
  return
}
