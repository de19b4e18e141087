// Varlen, grouped heads, bottom-right causal, an LSE, and a score modifier
// that depends on the batch index (the sequence in a varlen program).
func.func @varlen_mod(%q: memref<1x4x?x64xf16, strided<[?, 64, 256, 1]>>,
                      %k: memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>,
                      %v: memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>,
                      %o: memref<1x4x?x64xf16, strided<[?, 64, 256, 1]>>,
                      %lse: memref<1x4x?xf32>,
                      %cu_q: memref<?xi32>, %cu_k: memref<?xi32>) {
  flash.attention %q, %k, %v -> %o lse(%lse : memref<1x4x?xf32>)
      varlen(%cu_q, %cu_k : memref<?xi32>, memref<?xi32>) causal bottom_right
      : memref<1x4x?x64xf16, strided<[?, 64, 256, 1]>>,
        memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>,
        memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>
        -> memref<1x4x?x64xf16, strided<[?, 64, 256, 1]>>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index,
       %sk: index):
    %bi = arith.index_cast %b : index to i32
    %bf = arith.sitofp %bi : i32 to f32
    %quarter = arith.constant 0.25 : f32
    %one = arith.constant 1.0 : f32
    %t = arith.mulf %bf, %quarter : f32
    %factor = arith.addf %one, %t : f32
    %y = arith.mulf %s, %factor : f32
    flash.yield %y : f32
  }
  return
}
