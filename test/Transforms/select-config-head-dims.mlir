// RUN: flashc-opt %s --flash-select-config --split-input-file | FileCheck %s -enable-var-scope
// RUN: not flashc-opt %s --flash-select-config=strategy=wmma 2>&1 | FileCheck %s -enable-var-scope --check-prefix=WMMA

// Head dims other than 64 and 128 (bench/RESULTS.md, entry 15): 128x64 up
// to 80, causal too (Q in shared memory: two strips of 80 columns); 128x32
// at 96 without a mask as at 128; past 128, 128x32 up to 160 without a
// mask, else one strip a warp (64x32) with Q in registers up to 192 and in
// shared memory at 256. Dynamic sizes with one strip a warp: split K/V
// loops chosen at launch (up to 16).
// CHECK-LABEL: func.func @d80_causal
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared,
// CHECK-LABEL: func.func @d96
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared,
// CHECK-LABEL: func.func @d160
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared,
// CHECK-LABEL: func.func @d160_causal
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>) policy(#flash.policy<q = registers,
// CHECK-LABEL: func.func @d192
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>) policy(#flash.policy<q = registers,
// CHECK-LABEL: func.func @d256_causal
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>) policy(#flash.policy<q = shared,
func.func @d80_causal(%q: memref<?x?x?x80xbf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x80xbf16>, memref<?x?x?x80xbf16>, memref<?x?x?x80xbf16> -> memref<?x?x?x80xbf16>
  return
}
func.func @d96(%q: memref<?x?x?x96xbf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x96xbf16>, memref<?x?x?x96xbf16>, memref<?x?x?x96xbf16> -> memref<?x?x?x96xbf16>
  return
}
func.func @d160(%q: memref<?x?x?x160xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x160xf16>, memref<?x?x?x160xf16>, memref<?x?x?x160xf16> -> memref<?x?x?x160xf16>
  return
}
func.func @d160_causal(%q: memref<?x?x?x160xf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x160xf16>, memref<?x?x?x160xf16>, memref<?x?x?x160xf16> -> memref<?x?x?x160xf16>
  return
}
func.func @d192(%q: memref<?x?x?x192xbf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x192xbf16>, memref<?x?x?x192xbf16>, memref<?x?x?x192xbf16> -> memref<?x?x?x192xbf16>
  return
}
func.func @d256_causal(%q: memref<?x?x?x256xbf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x256xbf16>, memref<?x?x?x256xbf16>, memref<?x?x?x256xbf16> -> memref<?x?x?x256xbf16>
  return
}

// A static grid too small for the SMs takes 64-row blocks, keeping 32-key
// steps where 64 would not fit (head_dim 160: 107520 bytes).
// CHECK-LABEL: func.func @d160_small_grid
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 32,
func.func @d160_small_grid(%q: memref<1x8x512x160xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x8x512x160xf16>, memref<1x8x512x160xf16>, memref<1x8x512x160xf16> -> memref<1x8x512x160xf16>
  return
}

// WMMA stops at head_dim 128: asked for it past 128, the pass names the op
// and the rule.
// WMMA: error: 'flash.attention' op flash-select-config: strategy wmma supports head_dim up to 128, got 160; use mma_sync

// -----

// A static query length of at most 64 past head_dim 128, where 64x64 does
// not fit: 64 rows with the default's key step, split at launch.
// CHECK-LABEL: func.func @decode_d256
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
func.func @decode_d256(%q: memref<?x8x16x256xbf16>, %k: memref<?x8x?x256xbf16>) {
  flash.attention %q, %k, %k -> %q : memref<?x8x16x256xbf16>, memref<?x8x?x256xbf16>, memref<?x8x?x256xbf16> -> memref<?x8x16x256xbf16>
  return
}

// Strided operands past head_dim 128 do not split (with the split's values
// and merge they spill, one strip a warp too); at 128 they do.
// CHECK-LABEL: func.func @strided_d192
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
func.func @strided_d192(%q: memref<?x?x?x192xbf16, strided<[?, ?, ?, 1]>>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x192xbf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x192xbf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x192xbf16, strided<[?, ?, ?, 1]>> -> memref<?x?x?x192xbf16, strided<[?, ?, ?, 1]>>
  return
}
// CHECK-LABEL: func.func @strided_d128_causal
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
func.func @strided_d128_causal(%q: memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>> -> memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>>
  return
}

// -----

// Varlen and paged programs find their rows through sequence bounds or a
// block table, which takes registers: one 16-row strip a warp (64 rows)
// where the plain program takes two (two spilled 4-128 bytes), and, paged,
// Q in shared memory past head_dim 160.
// CHECK-LABEL: func.func @varlen_d80
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @varlen_d80(%q: memref<1x?x?x80xf16, strided<[?, ?, ?, 1]>>, %k: memref<1x?x?x80xf16, strided<[?, ?, ?, 1]>>, %cq: memref<?xi32>, %ck: memref<?xi32>) {
  flash.attention %q, %k, %k -> %q varlen(%cq, %ck : memref<?xi32>, memref<?xi32>) : memref<1x?x?x80xf16, strided<[?, ?, ?, 1]>>, memref<1x?x?x80xf16, strided<[?, ?, ?, 1]>>, memref<1x?x?x80xf16, strided<[?, ?, ?, 1]>> -> memref<1x?x?x80xf16, strided<[?, ?, ?, 1]>>
  return
}
// CHECK-LABEL: func.func @paged_d160
// CHECK: config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync{{.*}}>) policy(#flash.policy<q = registers,
func.func @paged_d160(%q: memref<?x?x?x160xf16, strided<[?, ?, ?, 1]>>, %kc: memref<?x?x?x160xf16, strided<[?, ?, ?, 1]>>, %t: memref<?x?xi32>, %l: memref<?xi32>) {
  flash.attention %q, %kc, %kc -> %q paged(%t, %l : memref<?x?xi32>, memref<?xi32>) : memref<?x?x?x160xf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x160xf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x160xf16, strided<[?, ?, ?, 1]>> -> memref<?x?x?x160xf16, strided<[?, ?, ?, 1]>>
  return
}
// CHECK-LABEL: func.func @paged_d192_causal
// CHECK: config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync{{.*}}>) policy(#flash.policy<q = shared,
func.func @paged_d192_causal(%q: memref<?x?x?x192xf16, strided<[?, ?, ?, 1]>>, %kc: memref<?x?x?x192xf16, strided<[?, ?, ?, 1]>>, %t: memref<?x?xi32>, %l: memref<?xi32>) {
  flash.attention %q, %kc, %kc -> %q paged(%t, %l : memref<?x?xi32>, memref<?xi32>) causal : memref<?x?x?x192xf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x192xf16, strided<[?, ?, ?, 1]>>, memref<?x?x?x192xf16, strided<[?, ?, ?, 1]>> -> memref<?x?x?x192xf16, strided<[?, ?, ?, 1]>>
  return
}
