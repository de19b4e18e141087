// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// bf16 with mma_sync: nvgpu.mma.sync cannot be lowered for bf16 in MLIR 22,
// so the strategy builds nvvm.mma.sync directly (no inline PTX) over the
// fragments' 32-bit registers: 4 for A, 2 for B, 4 f32 accumulators.
// 64x64 at head_dim 64, 1 strip per warp: Q·K^T is 4 k slices x 8 n tiles
// and P·V 4 x 8, 64 in all.
// CHECK-LABEL: gpu.func @bf16_mma_kernel
// CHECK-NOT: llvm.inline_asm
// CHECK: vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK-COUNT-64: nvvm.mma.sync A[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]  B[%{{.*}}, %{{.*}}]  C[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]  {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: llvm.inline_asm
// CHECK: gpu.return
func.func @bf16_mma(%q: memref<?x?x?x64xbf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) : memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16> -> memref<?x?x?x64xbf16>
  return
}
