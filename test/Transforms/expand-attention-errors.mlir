// RUN: flashc-opt %s --flash-expand-attention --verify-diagnostics

// Without flash-select-config first, an attention with no config is an error.
func.func @no_config(%q: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{has no tile config: run flash-select-config first}}
  flash.attention %q, %q, %q -> %q : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}
