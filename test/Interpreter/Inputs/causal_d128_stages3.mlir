func.func @causal_d128(%q: memref<?x?x?x128xf16>, %k: memref<?x?x?x128xf16>,
                       %v: memref<?x?x?x128xf16>, %o: memref<?x?x?x128xf16>) {
  flash.attention %q, %k, %v -> %o causal scale(0.05)
      config(#flash.config<block_m = 32, block_n = 16, stages = 3, warps = 2,
                           strategy = wmma>)
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>,
        memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}
