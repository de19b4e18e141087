// RUN: flashc-opt %s --flash-select-config="arch=sm_90a" --split-input-file | FileCheck %s -enable-var-scope
// RUN: not flashc-opt %s --flash-select-config="arch=sm_90a strategy=wgmma" --split-input-file 2>&1 >/dev/null | FileCheck %s -enable-var-scope --check-prefix=D96
// RUN: not flashc-opt %s --flash-select-config="arch=sm_90 strategy=wgmma" --split-input-file 2>&1 >/dev/null | FileCheck %s -enable-var-scope --check-prefix=SM90
// RUN: not flashc-opt %s --flash-select-config="arch=sm_89" --split-input-file 2>&1 >/dev/null | FileCheck %s -enable-var-scope --check-prefix=EXPLICIT
// RUN: not flashc-opt %s --flash-select-config="strategy=tcgen05" 2>&1 | FileCheck %s -enable-var-scope --check-prefix=UNKNOWN

// UNKNOWN: error: flash-select-config: unknown strategy 'tcgen05' (expected wmma, mma_sync or wgmma)

// On sm_90a the heuristic takes strategy wgmma (bench/RESULTS.md, entry
// 22): at head_dim 64 one warpgroup (64 rows, 4 warps) with 128 keys a
// step; from 128 on two warpgroups (128 rows, 8 warps) with the most keys a
// step that fit in two stages of sm_90a's 227 KiB. Q stays in shared
// memory, where the products read it. With dynamic sizes the K/V loop may
// split at launch (one strip a warp, as mma_sync's), except at head_dim 64,
// where being able to cost more than it gave. Two warpgroups get a producer
// warpgroup filling an mbarrier ring by TMA (prefetch = tma) at every head
// dim; one warpgroup a program copies with every thread.
// CHECK-LABEL: func.func @d64
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier,
func.func @d64(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}
// 163968 bytes of shared memory: more than the 99 KiB of the portable
// strategies, within sm_90a's.
// CHECK-LABEL: func.func @d128_causal
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>)
func.func @d128_causal(%q: memref<?x?x?x128xbf16>) {
  flash.attention %q, %q, %q -> %q causal : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> memref<?x?x?x128xbf16>
  return
}
// CHECK-LABEL: func.func @d192
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma,
func.func @d192(%q: memref<?x?x?x192xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x192xf16>, memref<?x?x?x192xf16>, memref<?x?x?x192xf16> -> memref<?x?x?x192xf16>
  return
}
// CHECK-LABEL: func.func @d256
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma,
func.func @d256(%q: memref<?x?x?x256xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x256xf16>, memref<?x?x?x256xf16>, memref<?x?x?x256xf16> -> memref<?x?x?x256xf16>
  return
}

// Packed (varlen) K and V are no tensor a map can describe: their producer
// copies with cp.async.
// CHECK-LABEL: func.func @varlen
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer,
func.func @varlen(%q: memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, %cu: memref<?xi32>) {
  flash.attention %q, %q, %q -> %q varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) : memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>> -> memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>
  return
}

// Nor are strides fixed at compile time, which a map encoded at launch
// would not see.
// CHECK-LABEL: func.func @static_strides
// CHECK-NEXT: flash.attention {{.*}} strategy = wgmma{{.*}} policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer,
func.func @static_strides(%q: memref<?x8x?x128xbf16, strided<[?, 128, 1024, 1]>>) {
  flash.attention %q, %q, %q -> %q : memref<?x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, memref<?x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, memref<?x8x?x128xbf16, strided<[?, 128, 1024, 1]>> -> memref<?x8x?x128xbf16, strided<[?, 128, 1024, 1]>>
  return
}

// Static sizes: a grid that fills the SMs keeps its tiles; one that does
// not takes one warpgroup a program, and past the rule of mma_sync's
// kernels (a quarter of the SMs without a mask) split K/V loops.
// CHECK-LABEL: func.func @static_full_grid
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>)
func.func @static_full_grid(%q: memref<2x16x4096x128xbf16>) {
  flash.attention %q, %q, %q -> %q : memref<2x16x4096x128xbf16>, memref<2x16x4096x128xbf16>, memref<2x16x4096x128xbf16> -> memref<2x16x4096x128xbf16>
  return
}
// CHECK-LABEL: func.func @static_small_grid
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma>)
func.func @static_small_grid(%q: memref<1x8x512x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x8x512x128xf16>, memref<1x8x512x128xf16>, memref<1x8x512x128xf16> -> memref<1x8x512x128xf16>
  return
}
// CHECK-LABEL: func.func @static_tiny_grid
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma, kv_splits = {{[0-9]+}}>)
func.func @static_tiny_grid(%q: memref<1x2x1024x128xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x2x1024x128xf16>, memref<1x2x1024x128xf16>, memref<1x2x1024x128xf16> -> memref<1x2x1024x128xf16>
  return
}

// The portable mma_sync kernels where wgmma does not apply or is not yet
// measured: a head_dim that is not a multiple of 64, a static query
// length of at most 64 and paged caches (decoding: wgmma not yet measured
// there). Modifiers take wgmma.
// CHECK-LABEL: func.func @d96
// CHECK-NEXT: flash.attention {{.*}} strategy = mma_sync
func.func @d96(%q: memref<?x?x?x96xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x96xf16>, memref<?x?x?x96xf16>, memref<?x?x?x96xf16> -> memref<?x?x?x96xf16>
  return
}
// CHECK-LABEL: func.func @decode
// CHECK-NEXT: flash.attention {{.*}} strategy = mma_sync, kv_splits = 16
func.func @decode(%q: memref<?x8x1x128xf16>, %k: memref<?x8x?x128xf16>) {
  flash.attention %q, %k, %k -> %q : memref<?x8x1x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16> -> memref<?x8x1x128xf16>
  return
}
// CHECK-LABEL: func.func @paged
// CHECK: strategy = mma_sync, kv_splits = 16>)
func.func @paged(%q: memref<?x32x?x128xbf16>, %kc: memref<?x8x64x128xbf16>,
                 %table: memref<?x?xi32>, %lens: memref<?xi32>) {
  flash.attention %q, %kc, %kc -> %q
      paged(%table, %lens : memref<?x?xi32>, memref<?xi32>)
      : memref<?x32x?x128xbf16>, memref<?x8x64x128xbf16>,
        memref<?x8x64x128xbf16> -> memref<?x32x?x128xbf16>
  return
}
// CHECK-LABEL: func.func @softcap
// CHECK: strategy = wgmma>
func.func @softcap(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index):
    %c = arith.constant 50.0 : f32
    %d = arith.divf %s, %c : f32
    %t = math.tanh %d : f32
    %r = arith.mulf %t, %c : f32
    flash.yield %r : f32
  }
  return
}
// A score_mod that loads at the element's coordinates takes 64 keys a step
// past head_dim 64 (128 spill).
// CHECK-LABEL: func.func @relative_bias
// CHECK: config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>)
func.func @relative_bias(%q: memref<?x?x?x128xf16>, %bias: memref<?xf32>) {
  flash.attention %q, %q, %q -> %q captures(%bias : memref<?xf32>)
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index, %table: memref<?xf32>):
    %c1 = arith.constant 1 : index
    %d = arith.subi %j, %i : index
    %last = arith.subi %sq, %c1 : index
    %at = arith.addi %d, %last : index
    %x = memref.load %table[%at] : memref<?xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }
  return
}

// A narrow sliding window (at most 512 keys a query, the bounds affine in
// q_idx with constant offsets, causal top-left counted) takes 64x64 tiles of
// one warpgroup and never splits its K/V loop; a wide one, one bounded by
// the bottom-right causal mask (an offset known at launch) or one open on a
// side keeps the default.
// CHECK-LABEL: func.func @window_256
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>)
func.func @window_256(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q causal
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index):
    %w = arith.constant 256 : index
    %d = arith.subi %i, %j : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }
  return
}
// CHECK-LABEL: func.func @band_both_sides
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>)
func.func @band_both_sides(%q: memref<?x?x?x64xbf16>) {
  flash.attention %q, %q, %q -> %q
      : memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16> -> memref<?x?x?x64xbf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index):
    %w = arith.constant 128 : index
    %lo = arith.addi %j, %w : index
    %after = arith.cmpi sge, %lo, %i : index
    %hi = arith.addi %i, %w : index
    %before = arith.cmpi sle, %j, %hi : index
    %near = arith.andi %after, %before : i1
    flash.yield %near : i1
  }
  return
}
// CHECK-LABEL: func.func @window_4096
// CHECK: block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>
func.func @window_4096(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q causal
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index):
    %w = arith.constant 4096 : index
    %d = arith.subi %i, %j : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }
  return
}
// CHECK-LABEL: func.func @prefix_lm
// CHECK: block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>
func.func @prefix_lm(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index):
    %p = arith.constant 256 : index
    %in_prefix = arith.cmpi ult, %j, %p : index
    %before = arith.cmpi ule, %j, %i : index
    %seen = arith.ori %in_prefix, %before : i1
    flash.yield %seen : i1
  }
  return
}
// CHECK-LABEL: func.func @window_bottom_right
// CHECK: block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>
func.func @window_bottom_right(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q causal bottom_right
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index):
    %w = arith.constant 256 : index
    %d = arith.subi %i, %j : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }
  return
}

// wgmma needs Hopper's sm_90a target: plain sm_90 keeps the portable path.
// SM90: error: 'flash.attention' op flash-select-config: strategy wgmma needs --arch sm_90a (Hopper's warpgroup MMA), got 'sm_90'

// Forced, wgmma refuses a head_dim that is not a multiple of 64.
// D96: error: 'flash.attention' op flash-select-config: strategy wgmma needs a head_dim that is a multiple of 64, got 96; use mma_sync
// D96-NOT: error

// -----

// An explicit wgmma config is checked against the arch as well; with
// sm_90a it is kept.
// CHECK-LABEL: func.func @explicit
// CHECK-NEXT: flash.attention {{.*}} config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>)
// EXPLICIT: error: 'flash.attention' op flash-select-config: strategy wgmma needs --arch sm_90a (Hopper's warpgroup MMA), got 'sm_89'
// EXPLICIT-NOT: error
func.func @explicit(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

// -----

// So is a hand-written tile program's.
// EXPLICIT: error: 'flash.tiled' op flash-select-config: strategy wgmma needs --arch sm_90a (Hopper's warpgroup MMA), got 'sm_89'
// CHECK-LABEL: func.func @tiled
// CHECK: flash.tiled {{.*}} strategy = wgmma
func.func @tiled(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
  }
  return
}

// -----

// A modified program of one warpgroup at head_dim 64 (bench/RESULTS.md,
// entry 47): a mask served by a block map takes 64-key steps and four
// programs an SM; beside a score_mod's loads, 64-key steps at the default
// two (four spill). A score_mod that loads from its captures takes three
// programs an SM, unless it loads at the element's coordinates (a
// relative bias: it spills at three). A softcap, an affine mask, head_dim
// 128 and an explicit config keep the default policy.
// CHECK-LABEL: func.func @documents_64
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 4>)
func.func @documents_64(%q: memref<?x?x?x64xf16>, %ids: memref<?x?xi32>) {
  flash.attention %q, %q, %q -> %q causal captures(%ids : memref<?x?xi32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
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
// CHECK-LABEL: func.func @documents_alibi_64
// CHECK: config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 2>)
func.func @documents_alibi_64(%q: memref<?x?x?x64xf16>, %ids: memref<?x?xi32>,
                              %slopes: memref<?xf32>) {
  flash.attention %q, %q, %q -> %q causal
      captures(%ids, %slopes : memref<?x?xi32>, memref<?xf32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index, %d: memref<?x?xi32>, %t: memref<?xf32>):
    %slope = memref.load %t[%h] : memref<?xf32>
    %y = arith.addf %s, %slope : f32
    flash.yield %y : f32
  }
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sq: index, %sk: index,
       %d: memref<?x?xi32>, %t: memref<?xf32>):
    %x = memref.load %d[%b, %i] : memref<?x?xi32>
    %y = memref.load %d[%b, %j] : memref<?x?xi32>
    %same = arith.cmpi eq, %x, %y : i32
    flash.yield %same : i1
  }
  return
}
// CHECK-LABEL: func.func @alibi_64
// CHECK: config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 3>)
func.func @alibi_64(%q: memref<?x?x?x64xbf16>, %slopes: memref<?xf32>) {
  flash.attention %q, %q, %q -> %q causal captures(%slopes : memref<?xf32>)
      : memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16> -> memref<?x?x?x64xbf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index, %t: memref<?xf32>):
    %slope = memref.load %t[%h] : memref<?xf32>
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i32
    %df = arith.sitofp %di : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %y = arith.addf %s, %bias : f32
    flash.yield %y : f32
  }
  return
}
// CHECK-LABEL: func.func @relative_bias_64
// CHECK: config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 2>)
func.func @relative_bias_64(%q: memref<?x?x?x64xf16>, %bias: memref<?xf32>) {
  flash.attention %q, %q, %q -> %q captures(%bias : memref<?xf32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index, %table: memref<?xf32>):
    %at = arith.subi %j, %i : index
    %x = memref.load %table[%at] : memref<?xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }
  return
}
// CHECK-LABEL: func.func @softcap_64
// CHECK: policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 2>)
func.func @softcap_64(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q causal
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %sq: index,
       %sk: index):
    %c = arith.constant 50.0 : f32
    %d = arith.divf %s, %c : f32
    %t = math.tanh %d : f32
    %r = arith.mulf %t, %c : f32
    flash.yield %r : f32
  }
  return
}
// CHECK-LABEL: func.func @documents_explicit_config
// CHECK: config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 2>)
func.func @documents_explicit_config(%q: memref<?x?x?x64xf16>,
                                     %ids: memref<?x?xi32>) {
  flash.attention %q, %q, %q -> %q causal
      config(#flash.config<block_m = 64, block_n = 128, stages = 2, warps = 4, strategy = wgmma>)
      captures(%ids : memref<?x?xi32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
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
// CHECK-LABEL: func.func @documents_128
// CHECK: config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>)
func.func @documents_128(%q: memref<?x?x?x128xf16>, %ids: memref<?x?xi32>) {
  flash.attention %q, %q, %q -> %q causal captures(%ids : memref<?x?xi32>)
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
// Without causal, the same mask at head_dim 128 takes 64 keys a step (128
// spill).
// CHECK-LABEL: func.func @documents_128_full
// CHECK: config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>)
func.func @documents_128_full(%q: memref<?x?x?x128xbf16>,
                              %ids: memref<?x?xi32>) {
  flash.attention %q, %q, %q -> %q captures(%ids : memref<?x?xi32>)
      : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> memref<?x?x?x128xbf16>
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
