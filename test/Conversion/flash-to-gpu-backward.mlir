// The backward's dQ tile program (examples/tile/backward_dq.mlir) lowered
// for mma_sync: dO copied into a second buffer kept for the program (after
// Q), the forward's log-sum-exp and the row term D read once per row
// (guarded at the sequence's end), and each K/V step three products
// (S = Q·Kᵀ, dP = dO·Vᵀ, dQ += dS·K) around the element-wise dS.
// RUN: flashc-opt %examples/tile/backward_dq.mlir --flash-to-gpu | FileCheck %s -enable-var-scope

// CHECK-LABEL: gpu.func @backward_dq_kernel
// CHECK-SAME:    %[[Q:arg0]]: memref<?x?x?x64xf16>
// CHECK-SAME:    %[[DO:arg4]]: memref<?x?x?x64xf16>, %[[LSE:arg5]]: memref<?x?x?xf32>, %[[D:arg6]]: memref<?x?x?xf32>
// Q's copies, then dO's, each waited for before the loop.
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         gpu.barrier
// CHECK:         memref.collapse_shape %[[DO]]
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         gpu.barrier
// Two rows of lse and two of D per lane, past the end read as 0.
// CHECK-COUNT-2: memref.load %[[LSE]]
// CHECK-COUNT-2: memref.load %[[D]]
// CHECK:         scf.for
// 32 products each for S, dP and dQ += dS·K per warp and block.
// CHECK-COUNT-96: nvgpu.mma.sync
// CHECK-NOT:     nvgpu.mma.sync
// CHECK:         gpu.return

// The element-wise step: p = 2^(s·c - lse·log2 e), 0 where lse is -inf,
// times (dP - D) and the scale.
// RUN: flashc-opt %examples/tile/backward_dq.mlir --flash-to-gpu | FileCheck %s --check-prefix=STEP
// STEP:      %[[SEEN:.*]] = arith.cmpf ogt, %[[L:.*]], %{{.*}} : f32
// STEP:      %[[NEG:.*]] = arith.mulf %[[L]], %{{.*}} : f32
// STEP:      %[[NEGL:.*]] = arith.select %[[SEEN]], %[[NEG]], %{{.*}} : f32
// STEP:      %[[X:.*]] = llvm.intr.fma(%{{.*}}, %{{.*}}, %[[NEGL]])
// STEP:      %[[P:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%[[X]])
// STEP:      %[[P0:.*]] = arith.select %[[SEEN]], %[[P]], %{{.*}} : f32
// STEP:      %[[DIFF:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// STEP:      %[[PD:.*]] = arith.mulf %[[P0]], %[[DIFF]] : f32
// STEP:      arith.mulf %[[PD]], %{{.*}} : f32
