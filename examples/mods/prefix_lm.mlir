// Prefix-LM: the first 256 tokens (the prefix) are seen by every query;
// after them, a query sees only keys up to itself. No causal flag: the
// mask_mod region is the whole mask.
func.func @prefix_lm(%q: memref<2x16x1024x64xf16>, %k: memref<2x16x1024x64xf16>,
                     %v: memref<2x16x1024x64xf16>, %o: memref<2x16x1024x64xf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<2x16x1024x64xf16>, memref<2x16x1024x64xf16>,
        memref<2x16x1024x64xf16> -> memref<2x16x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %prefix = arith.constant 256 : index
    %in_prefix = arith.cmpi ult, %kv, %prefix : index
    %before = arith.cmpi ule, %kv, %qi : index
    %seen = arith.ori %in_prefix, %before : i1
    flash.yield %seen : i1
  }
  return
}
