// RUN: flashc-opt %s --flash-select-config --split-input-file | FileCheck %s

// f16: mma.sync, 64x64 tiles, double-buffered.
// CHECK-LABEL: func.func @d64
// CHECK: flash.attention
// CHECK-SAME: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @d64(%q: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %q, %q -> %o : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}

// -----

// bf16, head_dim 128: the same.
// CHECK-LABEL: func.func @d128
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @d128(%q: memref<?x?x?x128xbf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> memref<?x?x?x128xbf16>
  return
}

// -----

// An explicit configuration is kept.
// CHECK-LABEL: func.func @explicit
// CHECK: config(#flash.config<block_m = 32, block_n = 16, stages = 3, warps = 2, strategy = wmma>)
func.func @explicit(%q: memref<1x1x64x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 32, block_n = 16, stages = 3, warps = 2, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// f16 at head_dim 128: mma.sync keeps S and P in registers, so 64x64 fits.
// CHECK-LABEL: func.func @d128_f16
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @d128_f16(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}

// -----

// head_dim 64 with a dynamic (taken as long) query length: 128-row blocks,
// two 16-row strips per warp.
// CHECK-LABEL: func.func @d64_dynamic
// CHECK: config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @d64_dynamic(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

// -----

// --mma=wmma (the pass's strategy option) picks the WMMA configuration.
// RUN: flashc-opt %s --flash-select-config=strategy=wmma --split-input-file | FileCheck %s --check-prefix=WMMA
// WMMA-LABEL: func.func @wmma_d128
// WMMA: config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>)
func.func @wmma_d128(%q: memref<1x1x64x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x1x64x128xf16>, memref<1x1x64x128xf16>, memref<1x1x64x128xf16> -> memref<1x1x64x128xf16>
  return
}
