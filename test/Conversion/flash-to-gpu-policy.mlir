// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu --split-input-file | FileCheck %s -enable-var-scope

// flash-to-gpu follows the tile program's policy, whatever the config
// would get by default (64x64, 2 stages: Q in registers, no stale max, the
// prefetch after the barrier, 2 blocks per SM). Here: Q read from shared
// memory on every step (ldmatrix of Q inside the loop, none before it),
// a stale max of 2^4 (the vote before the rescale), the prefetch after the
// first product, and nvvm.minctasm = 3.
// CHECK-LABEL: gpu.func @follows_policy_kernel
// CHECK-SAME: nvvm.minctasm = 3
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: nvgpu.ldmatrix
// CHECK: nvgpu.mma.sync
// CHECK: nvgpu.device_async_copy
// CHECK: arith.constant 4.000000e+00 : f32
// CHECK: nvvm.vote.sync any
func.func @follows_policy(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared, stale_max_log2 = 4, prefetch = after_first_dot, min_blocks_per_sm = 3>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

// -----

// Without a policy, the config's default (getDefaultPolicy).
// CHECK-LABEL: gpu.func @default_policy_kernel
// CHECK-SAME: nvvm.minctasm = 2
// CHECK: nvgpu.ldmatrix
// CHECK: scf.for
// CHECK-NOT: nvvm.vote.sync
// CHECK: gpu.return
func.func @default_policy(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}
