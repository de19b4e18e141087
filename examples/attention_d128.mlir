// Non-causal attention with head_dim 128 in bf16 (as in many LLMs), batch 2,
// 16 heads, 1024 tokens. The default mma.sync kernel keeps S and P in
// registers, so 64x64 tiles double-buffered fit in 99 KiB of shared memory
// at head_dim 128 (87040 bytes).
func.func @attention_d128(%q: memref<2x16x1024x128xbf16>,
                          %k: memref<2x16x1024x128xbf16>,
                          %v: memref<2x16x1024x128xbf16>,
                          %o: memref<2x16x1024x128xbf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>,
        memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16>
  return
}
