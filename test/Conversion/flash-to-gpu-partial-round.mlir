// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// A round of copies larger than the block (8 warps: 32 rows of head_dim 64
// a round, block_n 16): only the threads whose row exists copy.
// CHECK-LABEL: gpu.func @partial_round_kernel
// CHECK: scf.for
// CHECK: %[[HAS:.*]] = arith.cmpi ult, %{{.*}}, %c16{{(_[0-9]+)?}} : index
// CHECK-NEXT: scf.if %[[HAS]] {
// CHECK: nvgpu.device_async_copy {{.*}} : memref<?xf16> to memref<2048xf16
func.func @partial_round(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 16, stages = 2, warps = 8, strategy = mma_sync>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}
