// Grouped-query attention as Llama 3 8B has it: 32 query heads share 8 K/V
// heads (query head h reads K/V head h / 4), head_dim 128, causal, bf16;
// batch and sequence lengths are given at launch.
//   flashc examples/gqa.mlir --run --batch 2 --seq 1000
func.func @gqa(%q: memref<?x32x?x128xbf16>, %k: memref<?x8x?x128xbf16>,
               %v: memref<?x8x?x128xbf16>, %o: memref<?x32x?x128xbf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<?x32x?x128xbf16>, memref<?x8x?x128xbf16>,
        memref<?x8x?x128xbf16> -> memref<?x32x?x128xbf16>
  return
}
