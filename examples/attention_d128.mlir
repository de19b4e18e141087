// Non-causal attention with head_dim 128 in bf16 (as in many LLMs), batch 2,
// 16 heads, 1024 tokens. The default mma.sync kernel keeps S and P in
// registers; without a mask it takes 128x32 tiles, two 16-row strips per
// warp with Q read from shared memory, double-buffered (65536 bytes).
func.func @attention_d128(%q: memref<2x16x1024x128xbf16>,
                          %k: memref<2x16x1024x128xbf16>,
                          %v: memref<2x16x1024x128xbf16>,
                          %o: memref<2x16x1024x128xbf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>,
        memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16>
  return
}
