// Mistral-style sliding window: each query sees itself and the 4095
// keys before it (a left window of 4096, with the causal mask). The mask_mod
// region says which (query, key) pairs are seen.
func.func @sliding_window_4096(%q: memref<1x16x16384x64xf16>, %k: memref<1x16x16384x64xf16>,
                           %v: memref<1x16x16384x64xf16>, %o: memref<1x16x16384x64xf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<1x16x16384x64xf16>, memref<1x16x16384x64xf16>,
        memref<1x16x16384x64xf16> -> memref<1x16x16384x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %window = arith.constant 4096 : index
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi slt, %d, %window : index
    flash.yield %near : i1
  }
  return
}
