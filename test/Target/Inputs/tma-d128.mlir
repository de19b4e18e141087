// Attention whose K/V copies are TMA loads (policy prefetch = tma).
func.func @tma(%q: memref<?x?x?x128xbf16>, %k: memref<?x?x?x128xbf16>,
               %v: memref<?x?x?x128xbf16>, %o: memref<?x?x?x128xbf16>) {
  flash.attention %q, %k, %v -> %o causal
      config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 4>)
      policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>)
      : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>
        -> memref<?x?x?x128xbf16>
  return
}
