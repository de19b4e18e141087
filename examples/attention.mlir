// The project's origin shape: non-causal attention over one batch of 8 heads,
// 512 tokens, head_dim 64, in f16. `flashc examples/attention.mlir` compiles
// it to a kernel bundle; the tile configuration is left to flashc.
func.func @attention(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>,
                     %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>,
        memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
