// 128x128 tiles with 4 warps at head_dim 128: each warp holds two 16-row
// strips of 128-column scores and output accumulators, more than its
// registers.
func.func @spilling(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 128, stages = 1, warps = 4, strategy = mma_sync>) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}
