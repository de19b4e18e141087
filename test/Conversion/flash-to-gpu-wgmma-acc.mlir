// RUN: flashc-opt %s --flash-to-gpu | FileCheck %s -enable-var-scope

// A tile program may accumulate Q·Kᵀ into a carried tile: with wgmma every
// k slice then scales D by 1 (new scores scale the first by 0), and the
// carried registers pass through an empty asm before the fence.
// CHECK-LABEL: gpu.func @wgmma_qk_acc_kernel
// CHECK: llvm.inline_asm has_side_effects "", "=f,
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>]
// CHECK-NOT: D[<f32>, <zero>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
func.func @wgmma_qk_acc(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %d = flash.dot %t, %kt transpose_rhs acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %d : tensor<64x64xf32>
    }
  }
  return
}
