// A learned relative position bias (T5-style, without buckets): the score
// of query q against key kv gets table[kv - q + 1023] added, one entry per
// distance in [-1023, 1023]. The table is a captured operand.
func.func @relative_bias(%q: memref<2x16x1024x64xf16>, %k: memref<2x16x1024x64xf16>,
                         %v: memref<2x16x1024x64xf16>, %o: memref<2x16x1024x64xf16>,
                         %table: memref<2047xf32>) {
  flash.attention %q, %k, %v -> %o captures(%table : memref<2047xf32>)
      : memref<2x16x1024x64xf16>, memref<2x16x1024x64xf16>,
        memref<2x16x1024x64xf16> -> memref<2x16x1024x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index,
       %sk: index, %bias: memref<2047xf32>):
    %c1023 = arith.constant 1023 : index
    %d = arith.subi %kv, %qi : index
    %i = arith.addi %d, %c1023 : index
    %x = memref.load %bias[%i] : memref<2047xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }
  return
}
