// RUN: flashc-opt %s --flash-to-gpu --split-input-file --verify-diagnostics

// Outside the K/V loop only Q is loaded.
func.func @load_k_outside(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %alias = memref.cast %q : memref<1x1x64x64xf16> to memref<1x1x64x64xf16>
    // expected-error @+1 {{flash-to-gpu: outside flash.kv_loop only the Q tile is loaded}}
    %t = flash.load_tile %alias[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
  }
  return
}

// -----

// A dot whose rhs is not a K/V tile of the loop has no mapping.
func.func @dot_of_q(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: rhs must be a K or V tile of the enclosing flash.kv_loop}}
    %s = flash.dot %t, %t transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  }
  return
}

// -----

// flash.attention is expanded to the tile level by another pass first.
func.func @unexpanded(%q: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{flash-to-gpu: expand to the tile level first (--flash-expand-attention)}}
  flash.attention %q, %q, %q -> %q : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}
