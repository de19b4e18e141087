// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// Strategy wgmma (sm_90a), head_dim 128, 128x64 tiles: two warpgroups of 4
// warps, each computing 64 query rows, every thread copying (policy
// after_barrier; flash-to-gpu-wgmma-producer.mlir has the producer ring).
// CHECK-LABEL: gpu.func @wgmma_d128_kernel

// The copies swizzle by row and the hardware by address: a dynamic buffer
// that does not start on a 1 KiB boundary traps instead of computing wrong
// results.
// CHECK: %[[SHMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[SHMEM]]
// CHECK: %[[LOW:.*]] = arith.andi %[[BASE]], %c1023
// CHECK: %[[BAD:.*]] = arith.cmpi ne, %[[LOW]], %c0
// CHECK: scf.if %[[BAD]] {
// CHECK-NEXT: llvm.intr.trap

// Copies land, then each thread fences the async proxy (which wgmma reads
// through) before the barrier that publishes them: for Q ...
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier

// ... and for each K/V block.
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier

// S = Q·Kᵀ: descriptors of Q (this warpgroup's 64 rows) and of the K stage,
// 128-byte swizzle with 1 KiB between 8-row groups (the constant: swizzle
// mode 1 in bits 62-63, 1024 >> 4 in bits 32-45); then 8 k slices of
// m64n64k16, the first into zeroed scores, between a fence and a commit
// and wait.
// CHECK: memref.extract_aligned_pointer_as_index %{{.*}} : memref<256x64xf16, #gpu.address_space<workgroup>>
// CHECK: arith.constant 4611686293305294848 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// The scores are pinned after the wait, so that nothing reads them early.
// CHECK: llvm.inline_asm has_side_effects "", "=f,

// O += P·V: V is MN-major, its 64-column blocks 64 rows · 128 bytes apart
// (8192 >> 4 in bits 16-29); P's A registers come from the softmax, by
// inline PTX (MLIR 22's wgmma op takes A only from shared memory), 4 k
// slices of m64n128k16 with B transposed.
// CHECK: arith.constant 4611686293338849280 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {{.*}}}, {$64, $65, $66, $67}, $68, 1, 1, 1, 1;"
// CHECK-NOT: llvm.inline_asm has_side_effects "wgmma
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: gpu.return
func.func @wgmma_d128(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 1>) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}
