// One decoding step of Llama-3 8B's attention (32 query heads over 8 K/V
// heads, head_dim 128, bf16): one new query row per sequence against a K/V
// cache of any length, any batch. The static query length of 1 gives 64-row
// blocks, and the dynamic sizes a kernel whose K/V loop the runtime splits
// at each launch to fill the GPU (docs/ModelShapes.md, "Decoding").
//   flashc examples/decode.mlir --arch sm_90 --run --batch 8 --seq-k 16384
func.func @decode(%q: memref<?x32x1x128xbf16>, %k: memref<?x8x?x128xbf16>,
                  %v: memref<?x8x?x128xbf16>, %o: memref<?x32x1x128xbf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<?x32x1x128xbf16>, memref<?x8x?x128xbf16>,
        memref<?x8x?x128xbf16> -> memref<?x32x1x128xbf16>
  return
}
