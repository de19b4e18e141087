// Packed training sequences: each batch row holds several documents, and a
// query sees only earlier keys of its own document. The document id of
// every token is a captured [batch, seq] i32 operand.
func.func @document_mask(%q: memref<2x16x1024x64xf16>, %k: memref<2x16x1024x64xf16>,
                         %v: memref<2x16x1024x64xf16>, %o: memref<2x16x1024x64xf16>,
                         %docs: memref<2x1024xi32>) {
  flash.attention %q, %k, %v -> %o causal captures(%docs : memref<2x1024xi32>)
      : memref<2x16x1024x64xf16>, memref<2x16x1024x64xf16>,
        memref<2x16x1024x64xf16> -> memref<2x16x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index,
       %ids: memref<2x1024xi32>):
    %dq = memref.load %ids[%b, %qi] : memref<2x1024xi32>
    %dk = memref.load %ids[%b, %kv] : memref<2x1024xi32>
    %same = arith.cmpi eq, %dq, %dk : i32
    flash.yield %same : i1
  }
  return
}
