// Gemma-2's logit softcap: every scaled score s becomes 50 · tanh(s / 50)
// before the softmax, with a causal mask. A score_mod region sees the
// scaled score and the element's coordinates (unused here).
func.func @softcap(%q: memref<2x16x1024x64xf16>, %k: memref<2x16x1024x64xf16>,
                   %v: memref<2x16x1024x64xf16>, %o: memref<2x16x1024x64xf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<2x16x1024x64xf16>, memref<2x16x1024x64xf16>,
        memref<2x16x1024x64xf16> -> memref<2x16x1024x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index,
       %sk: index):
    %cap = arith.constant 50.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %y = arith.mulf %t, %cap : f32
    flash.yield %y : f32
  }
  return
}
