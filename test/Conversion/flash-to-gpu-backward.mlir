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

// The element-wise step: per row, the exponent's offset
// -lse·log2(e) + log2(scale) (log2(1/8) = -3), -inf where lse is -inf (so
// that p = 0); per element p = 2^(s·c + offset), times (dP - D).
// RUN: flashc-opt %examples/tile/backward_dq.mlir --flash-to-gpu | FileCheck %s --check-prefix=STEP
// STEP:      %[[SEEN:.*]] = arith.cmpf ogt, %[[L:.*]], %[[NEGINF:.*]] : f32
// STEP:      %[[LOG2SCALE:.*]] = arith.constant -3.000000e+00 : f32
// STEP:      %[[NEGLOG2E:.*]] = arith.constant -1.44269502 : f32
// STEP:      %[[OFF:.*]] = llvm.intr.fma(%[[L]], %[[NEGLOG2E]], %[[LOG2SCALE]])
// STEP:      %[[OFFSET:.*]] = arith.select %[[SEEN]], %[[OFF]], %[[NEGINF]] : f32
// STEP-NEXT: %[[X:.*]] = llvm.intr.fma(%{{.*}}, %{{.*}}, %[[OFFSET]])
// STEP-NEXT: %[[P:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%[[X]])
// STEP-NEXT: %[[DIFF:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// STEP-NEXT: arith.mulf %[[P]], %[[DIFF]] : f32
