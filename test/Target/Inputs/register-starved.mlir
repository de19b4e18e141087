// 128x128 tiles at head_dim 128 on wgmma with a TMA producer warpgroup:
// 384 threads a program. Two programs an SM leave ptxas 80 registers a
// thread, fewer than the products need.
func.func @starved(%q: memref<1x2x512x128xf16>, %k: memref<1x2x512x128xf16>,
                   %v: memref<1x2x512x128xf16>, %o: memref<1x2x512x128xf16>) {
  flash.attention %q, %k, %v -> %o causal config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 2>)
      : memref<1x2x512x128xf16>, memref<1x2x512x128xf16>,
        memref<1x2x512x128xf16> -> memref<1x2x512x128xf16>
  return
}
