// ALiBi: a per-head slope times the key's distance behind the query is
// added to each score (slope[h] · (kv - q), never positive under the causal
// mask). The slopes are a captured operand, one per head.
func.func @alibi(%q: memref<2x16x1024x64xf16>, %k: memref<2x16x1024x64xf16>,
                 %v: memref<2x16x1024x64xf16>, %o: memref<2x16x1024x64xf16>,
                 %slopes: memref<16xf32>) {
  flash.attention %q, %k, %v -> %o causal captures(%slopes : memref<16xf32>)
      : memref<2x16x1024x64xf16>, memref<2x16x1024x64xf16>,
        memref<2x16x1024x64xf16> -> memref<2x16x1024x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index,
       %sk: index, %slope_table: memref<16xf32>):
    %slope = memref.load %slope_table[%h] : memref<16xf32>
    %d = arith.subi %kv, %qi : index
    %di = arith.index_cast %d : index to i32
    %df = arith.sitofp %di : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %y = arith.addf %s, %bias : f32
    flash.yield %y : f32
  }
  return
}
