// RUN: flashc-opt %s --flash-select-config --split-input-file | FileCheck %s -enable-var-scope

// f16 on the default sm_89 (58 SMs): the 1x8x512 grid with 128-row blocks
// (32 programs) would not fill the SMs, so 64-row blocks (64 programs);
// that fills them, so no split, and some SMs hold two programs, so no third
// stage either. mma.sync, double-buffered.
// The policy for it: Q in registers (one strip a warp), no stale max at
// block_n 64, the prefetch right after the barrier (2 stages), and 2 blocks
// of 128 threads per SM (2 x 40 KiB of shared memory on the 100 KiB SMs).
// CHECK-LABEL: func.func @d64
// CHECK: flash.attention
// CHECK-SAME: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
// CHECK-SAME: policy(#flash.policy<q = registers, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 2>)
func.func @d64(%q: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %q, %q -> %o : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}

// -----

// bf16, head_dim 128, causal: 64x64. Its sizes are dynamic, so its grid
// may be small (a decode step): with one strip a warp, up to 16 programs
// may share a query block's K/V loop, the runtime choosing how many at each
// launch. (Two strips a warp, as in @d128_f16 and @d64_dynamic, do not
// split: they would spill.)
// CHECK-LABEL: func.func @d128
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
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

// f16 at head_dim 128 without a mask: 128x32, two strips per warp, Q read
// from shared memory.
// CHECK-LABEL: func.func @d128_f16
// CHECK: config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
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
// RUN: flashc-opt %s --flash-select-config=strategy=wmma --split-input-file | FileCheck %s -enable-var-scope --check-prefix=WMMA
// WMMA-LABEL: func.func @wmma_d128
// WMMA: config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>)
func.func @wmma_d128(%q: memref<1x1x64x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x1x64x128xf16>, memref<1x1x64x128xf16>, memref<1x1x64x128xf16> -> memref<1x1x64x128xf16>
  return
}

// -----

// A large static grid keeps 128-row blocks: 8x16x512 is 512 programs.
// CHECK-LABEL: func.func @d64_big_grid
// CHECK: config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @d64_big_grid(%q: memref<8x16x512x64xf16>) {
  flash.attention %q, %q, %q -> %q : memref<8x16x512x64xf16>, memref<8x16x512x64xf16>, memref<8x16x512x64xf16> -> memref<8x16x512x64xf16>
  return
}

// -----

// On sm_90 (132 SMs) the 64 programs of 1x8x512 leave each SM one program
// at most: a third stage. Without a mask they fill more than a quarter of
// the SMs: no split.
// RUN: flashc-opt %s --flash-select-config=arch=sm_90 --split-input-file | FileCheck %s -enable-var-scope --check-prefix=H100
// H100-LABEL: func.func @d64
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync>)
// Dynamic sizes: no grid to fit; one strip a warp splits at launch.
// H100-LABEL: func.func @d128
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
// Dynamic sizes keep 2 stages (the 3-stage kernel spills).
// H100-LABEL: func.func @d128_f16
// H100: config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
// H100-LABEL: func.func @d64_big_grid
// H100: config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
// H100-LABEL: func.func @tiny
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync>)
func.func @tiny(%q: memref<1x1x64x64xf16>) {
  // One K/V block: nothing to split.
  flash.attention %q, %q, %q -> %q : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Causal: at most half of the SMs, so the K/V loop is split in two (at
// least two K/V blocks per split).
// H100-LABEL: func.func @origin_causal
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync, kv_splits = 2>)
func.func @origin_causal(%q: memref<1x8x512x64xf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}

// -----

// 16 programs without a mask fill under a quarter of the 132 SMs: split
// in four (eight K/V blocks, two per split).
// H100-LABEL: func.func @quarter_full
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync, kv_splits = 4>)
func.func @quarter_full(%q: memref<1x2x512x64xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x2x512x64xf16>, memref<1x2x512x64xf16>, memref<1x2x512x64xf16> -> memref<1x2x512x64xf16>
  return
}

// -----

// A static head_dim-128 grid without a mask: a third stage where two
// programs of 80 KiB still share an SM (sm_80, sm_90), not on sm_89.
// CHECK-LABEL: func.func @d128_static
// CHECK: config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
// H100-LABEL: func.func @d128_static
// H100: config(#flash.config<block_m = 128, block_n = 32, stages = 3, warps = 4, strategy = mma_sync>)
// RUN: flashc-opt %s --flash-select-config=arch=sm_80 --split-input-file | FileCheck %s -enable-var-scope --check-prefix=A100
// A100-LABEL: func.func @d128_static
// A100: config(#flash.config<block_m = 128, block_n = 32, stages = 3, warps = 4, strategy = mma_sync>)
func.func @d128_static(%q: memref<4x16x2048x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<4x16x2048x128xf16>, memref<4x16x2048x128xf16>, memref<4x16x2048x128xf16> -> memref<4x16x2048x128xf16>
  return
}

// -----

// Causal head_dim 128 from 16384 tokens on: 128x32 (the diagonal is a small
// share of the work); below, 64x64.
// CHECK-LABEL: func.func @long_causal
// CHECK: config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
// H100-LABEL: func.func @long_causal
// H100: config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
func.func @long_causal(%q: memref<1x16x16384x128xf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<1x16x16384x128xf16>, memref<1x16x16384x128xf16>, memref<1x16x16384x128xf16> -> memref<1x16x16384x128xf16>
  return
}

// -----

// H100-LABEL: func.func @shorter_causal
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @shorter_causal(%q: memref<1x16x8192x128xf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<1x16x8192x128xf16>, memref<1x16x8192x128xf16>, memref<1x16x8192x128xf16> -> memref<1x16x8192x128xf16>
  return
}

// -----

// A small static head_dim-128 grid without a mask: the third stage that
// 128x32 would get is dropped with the move to 64x64 (112 KiB would not
// fit), and 16 programs split in eight (a quarter of 132 SMs or less).
// H100-LABEL: func.func @small_d128
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 8>)
func.func @small_d128(%q: memref<1x1x1024x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x1x1024x128xf16>, memref<1x1x1024x128xf16>, memref<1x1x1024x128xf16> -> memref<1x1x1024x128xf16>
  return
}

// -----

// An explicit configuration gets the policy made for it: two strips per
// warp at head_dim 128 keep Q in shared memory, block_n 32 keeps a stale
// max, 3 stages prefetch after the first product, one block per SM.
// CHECK-LABEL: func.func @policy_for_explicit
// CHECK: policy(#flash.policy<q = shared, stale_max_log2 = 8, prefetch = after_first_dot, min_blocks_per_sm = 1>)
func.func @policy_for_explicit(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 32, stages = 3, warps = 4, strategy = mma_sync>) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}

// -----

// An explicit policy is kept.
// CHECK-LABEL: func.func @explicit_policy
// CHECK: policy(#flash.policy<q = registers, stale_max_log2 = 4, prefetch = after_first_dot, min_blocks_per_sm = 1>)
func.func @explicit_policy(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = registers, stale_max_log2 = 4, prefetch = after_first_dot, min_blocks_per_sm = 1>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

// -----

// Modifiers with a dynamic sequence length take 64-row programs (one strip
// a warp) where the default has two strips a warp: their per-element
// coordinates and per-block mask test would spill.
// CHECK-LABEL: func.func @modified_dynamic
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
func.func @modified_dynamic(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %w = arith.constant 256 : index
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }
  return
}

// -----

// A small static grid with a log-sum-exp output: on sm_90 no split K/V loop
// (the split merge writes no LSE yet), only the 64-row blocks and the third
// stage; on sm_89 the grid fills the GPU.
// CHECK-LABEL: func.func @small_with_lse
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
// H100-LABEL: func.func @small_with_lse
// H100: config(#flash.config<block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync>)
func.func @small_with_lse(%q: memref<1x8x512x64xf16>, %lse: memref<1x8x512xf32>) {
  flash.attention %q, %q, %q -> %q lse(%lse : memref<1x8x512xf32>) : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}


// -----

// A static query length of at most 64 against keys of any length (a decode
// step): 64-row blocks, one strip a warp, where 128 rows would be mostly
// empty; with the rest dynamic, split at launch.
// CHECK-LABEL: func.func @decode
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
func.func @decode(%q: memref<?x32x1x128xbf16>, %k: memref<?x32x?x128xbf16>) {
  flash.attention %q, %k, %k -> %q : memref<?x32x1x128xbf16>, memref<?x32x?x128xbf16>, memref<?x32x?x128xbf16> -> memref<?x32x1x128xbf16>
  return
}

// -----

// A static batch keeps batch · kv_splits within grid z's 65535: 5000
// sequences may split 13 ways, 40000 not at all.
// CHECK-LABEL: func.func @many_sequences
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 13>)
func.func @many_sequences(%q: memref<5000x?x?x128xbf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<5000x?x?x128xbf16>, memref<5000x?x?x128xbf16>, memref<5000x?x?x128xbf16> -> memref<5000x?x?x128xbf16>
  return
}
// CHECK-LABEL: func.func @too_many_to_split
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
func.func @too_many_to_split(%q: memref<40000x?x?x128xbf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<40000x?x?x128xbf16>, memref<40000x?x?x128xbf16>, memref<40000x?x?x128xbf16> -> memref<40000x?x?x128xbf16>
  return
}

// -----

// Past head_dim 64, a mask served by a block map beside a score_mod that
// loads at the element's coordinates takes 32 keys a step (64 spilled on
// sm_90); the same mask alone keeps 64.
// CHECK-LABEL: func.func @documents_relative_bias_128
// CHECK: config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
func.func @documents_relative_bias_128(%q: memref<?x?x?x128xf16>,
                                       %ids: memref<?x?xi32>,
                                       %bias: memref<?xf32>) {
  flash.attention %q, %q, %q -> %q causal bottom_right
      captures(%ids, %bias : memref<?x?xi32>, memref<?xf32>)
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index, %d: memref<?x?xi32>, %table: memref<?xf32>):
    %at = arith.subi %j, %i : index
    %x = memref.load %table[%at] : memref<?xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index,
       %d: memref<?x?xi32>, %table: memref<?xf32>):
    %x = memref.load %d[%b, %i] : memref<?x?xi32>
    %y = memref.load %d[%b, %j] : memref<?x?xi32>
    %same = arith.cmpi eq, %x, %y : i32
    flash.yield %same : i1
  }
  return
}
// CHECK-LABEL: func.func @documents_128
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)
func.func @documents_128(%q: memref<?x?x?x128xf16>, %ids: memref<?x?xi32>) {
  flash.attention %q, %q, %q -> %q causal bottom_right
      captures(%ids : memref<?x?xi32>)
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index,
       %d: memref<?x?xi32>):
    %x = memref.load %d[%b, %i] : memref<?x?xi32>
    %y = memref.load %d[%b, %j] : memref<?x?xi32>
    %same = arith.cmpi eq, %x, %y : i32
    flash.yield %same : i1
  }
  return
}
