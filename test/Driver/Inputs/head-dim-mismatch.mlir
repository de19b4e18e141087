func.func @mismatch(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x32xf16>,
                    %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<1x8x512x64xf16>, memref<1x8x512x32xf16>,
        memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
