// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope
// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope --check-prefix=BLOCK3

// wgmma at head_dim 256 (four 64-column blocks) with a split K/V loop.
// The kernel takes the split workspace (partials, counters) as mma_sync's
// does (the merge reads the same fragments), then the tensor maps of its
// default TMA copies.
// CHECK-LABEL: gpu.func @wgmma_d256_split_kernel(
// CHECK-SAME: %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi32>, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) kernel
// Q·Kᵀ: 16 k slices; slice kk is 32 bytes into block kk / 4, so the K
// descriptor (64-row stages, blocks 64 · 128 bytes apart) moves on
// 3 · 8192 >> 4 = 1536 for block 3.
// BLOCK3: nvvm.wgmma.fence.aligned
// BLOCK3: arith.constant 1536 : i64
// BLOCK3: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-16: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// O += P·V: V's 64-column blocks 64 rows · 128 bytes apart (8192 >> 4 in
// the leading byte offset), 4 k slices of m64n256k16.
// CHECK: arith.constant 4611686293338849280 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: gpu.return
func.func @wgmma_d256_split(%q: memref<?x?x?x256xbf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma, kv_splits = 4>) : memref<?x?x?x256xbf16>, memref<?x?x?x256xbf16>, memref<?x?x?x256xbf16> -> memref<?x?x?x256xbf16>
  return
}
