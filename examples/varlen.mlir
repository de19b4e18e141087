// Variable-length sequences packed in one batch (FlashAttention's varlen
// form): Q, K, V and O are packed [total, heads, head_dim] buffers read as
// [1, heads, total, head_dim], and sequence i owns rows [cu[i], cu[i + 1])
// (cu_seqlens_q for Q and O, cu_seqlens_k for K and V; i32, in device
// memory). Llama-3 8B's heads: 32 query heads over 8 K/V heads, head_dim
// 128, bf16, causal. Python's flashc.varlen_attention compiles this form.
func.func @varlen(%q: memref<1x32x?x128xbf16, strided<[?, 128, 4096, 1]>>,
                  %k: memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>,
                  %v: memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>,
                  %o: memref<1x32x?x128xbf16, strided<[?, 128, 4096, 1]>>,
                  %cu_seqlens_q: memref<?xi32>, %cu_seqlens_k: memref<?xi32>) {
  flash.attention %q, %k, %v -> %o
      varlen(%cu_seqlens_q, %cu_seqlens_k : memref<?xi32>, memref<?xi32>) causal
      : memref<1x32x?x128xbf16, strided<[?, 128, 4096, 1]>>,
        memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>,
        memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>
        -> memref<1x32x?x128xbf16, strided<[?, 128, 4096, 1]>>
  return
}
