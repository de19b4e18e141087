// Causal (decoder) attention with dynamic batch, heads and sequence length:
// query row i attends to key columns j <= i. head_dim 64, f16, the scale
// given explicitly (1/sqrt(64)) and an explicit tile configuration.
func.func @causal_attention(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                            %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>) {
  flash.attention %q, %k, %v -> %o causal scale(0.125)
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4,
                           strategy = mma_sync>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>,
        memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}
