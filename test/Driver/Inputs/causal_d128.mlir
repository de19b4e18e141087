func.func @causal_d128(%q: memref<?x?x?x128xf16>, %k: memref<?x?x?x128xf16>,
                       %v: memref<?x?x?x128xf16>, %o: memref<?x?x?x128xf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>,
        memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}
