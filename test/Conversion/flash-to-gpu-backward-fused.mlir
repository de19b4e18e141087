// The fused backward tile program (examples/tile/backward_fused.mlir) lowered
// for mma_sync: the dK/dV program's step, then flash.atomic_add_dot. Each
// warp writes its 16 rows of dSᵀ (4 k16 slices x 4 row pairs, 16 stores of
// two f16) to a staging buffer of 64 x (64 + 8) f16 after the resident
// tiles; after one barrier (cp.async began the step with another), each
// warp computes 4 items (16 queries x 16 columns of head_dim), each reading
// dSᵀ transposed and K as P·V reads V (4 k16 slices, ldmatrix.trans both,
// 2 mma each), and adds its 8 values per item by f32 atomics into the
// capture dq_acc, guarded per row by the query length.
// RUN: flashc-opt %examples/tile/backward_fused.mlir --flash-to-gpu | FileCheck %s -enable-var-scope

// CHECK-LABEL: gpu.func @backward_fused_kernel
// CHECK-SAME:    %[[DQ:arg8]]: memref<?x?x?x64xf32>
// CHECK:         %[[K:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x64xf16, #gpu.address_space<workgroup>>
// CHECK:         %[[STAGE:.*]] = memref.view %{{.*}}[%c49152][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x72xf16, #gpu.address_space<workgroup>>
// CHECK:         scf.for
// CHECK:         gpu.barrier
// CHECK-COUNT-128: nvgpu.mma.sync
// CHECK-COUNT-16: vector.store %{{.*}}, %[[STAGE]][%{{.*}}, %{{.*}}] : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<2xf16>
// CHECK-NEXT:    gpu.barrier
// CHECK-NOT:     gpu.barrier
// CHECK:         nvgpu.ldmatrix %[[STAGE]][%{{.*}}, %{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK:         nvgpu.ldmatrix %[[K]][%{{.*}}, %{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK:         nvgpu.mma.sync
// CHECK:         nvgpu.mma.sync
// CHECK:         %[[SEQ_OK:.*]] = arith.cmpi ult
// CHECK-NEXT:    scf.if %[[SEQ_OK]] {
// CHECK-COUNT-4: memref.atomic_rmw addf %{{.*}}, %[[DQ]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : (f32, memref<?x?x?x64xf32>) -> f32
// CHECK:         gpu.return

// In all: 32 atomics a lane a step (4 items x 8), 160 products (the four
// of dK/dV, 32 each, and dQ's 32).
// RUN: flashc-opt %examples/tile/backward_fused.mlir --flash-to-gpu | FileCheck %s --check-prefix=COUNT
// COUNT-COUNT-32: memref.atomic_rmw addf
// COUNT-NOT:      memref.atomic_rmw
