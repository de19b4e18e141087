// Host code beside the attention: a copy that a bundle would never run.
func.func @copy_then_attend(%q: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>, %tmp: memref<1x8x512x64xf16>) {
  memref.copy %q, %tmp : memref<1x8x512x64xf16> to memref<1x8x512x64xf16>
  flash.attention %tmp, %tmp, %tmp -> %o : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
