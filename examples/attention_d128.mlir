// Non-causal attention with head_dim 128 in bf16 (as in many LLMs), batch 2,
// 16 heads, 1024 tokens. At head_dim 128 flashc halves block_n to keep the
// double-buffered K/V tiles within 99 KiB of shared memory.
func.func @attention_d128(%q: memref<2x16x1024x128xbf16>,
                          %k: memref<2x16x1024x128xbf16>,
                          %v: memref<2x16x1024x128xbf16>,
                          %o: memref<2x16x1024x128xbf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>,
        memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16>
  return
}
