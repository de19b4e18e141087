// The attention inside a host loop: a bundle would launch it once.
func.func @attend_in_loop(%q: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    flash.attention %q, %q, %q -> %o : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  }
  return
}
