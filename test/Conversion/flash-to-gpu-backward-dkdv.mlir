// The backward's dK/dV tile program (examples/tile/backward_dkdv.mlir)
// lowered for mma_sync: K is the program's Q (its A fragments kept), V a
// capture tile kept in shared memory; Q and dO stream through the loop;
// each step reads the log-sum-exp and D of its 64 queries per column (16
// of each per lane, past the end read as 0), runs four products per warp
// (Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ, dV += Pᵀ·dO, dK += dSᵀ·Q, 32 each) and writes
// dK to its capture and dV to the program's output.
// RUN: flashc-opt %examples/tile/backward_dkdv.mlir --flash-to-gpu | FileCheck %s -enable-var-scope

// CHECK-LABEL: gpu.func @backward_dkdv_kernel
// CHECK-SAME:    %[[DV:arg3]]: memref<?x?x?x64xf16>, %[[V:arg4]]: memref<?x?x?x64xf16>, %[[DK:arg5]]: memref<?x?x?x64xf16>, %[[LSE:arg6]]: memref<?x?x?xf32>, %[[D:arg7]]: memref<?x?x?xf32>
// The K/V loop carries dK and dV: 8 fragments each.
// CHECK:         scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>) {
// CHECK-COUNT-64: nvgpu.mma.sync
// CHECK-COUNT-16: memref.load %[[LSE]]
// CHECK-COUNT-16: memref.load %[[D]]
// CHECK-COUNT-64: nvgpu.mma.sync
// CHECK-NOT:     nvgpu.mma.sync
// CHECK:         vector.store %{{.*}}, %[[DK]]
// CHECK:         vector.store %{{.*}}, %[[DV]]
// CHECK:         gpu.return

// The transposed causal mask: a block is masked when it crosses the query
// length or when the warp's last key (its first row + 15) lies past the
// block's first query; per element, key row > query column.
// RUN: flashc-opt %examples/tile/backward_dkdv.mlir --flash-to-gpu | FileCheck %s --check-prefix=MASK
// MASK:      %[[C15:.*]] = arith.constant 15 : index
// MASK-NEXT: %[[LAST:.*]] = arith.addi %{{.*}}, %[[C15]] : index
// MASK-NEXT: %[[CROSS:.*]] = arith.cmpi ugt, %[[LAST]], %[[START:.*]] : index
// MASK-NEXT: %[[NEEDED:.*]] = arith.ori %{{.*}}, %[[CROSS]] : i1
// MASK-NEXT: scf.if %[[NEEDED]]
// MASK:      %[[COL:.*]] = arith.addi %[[START]], %{{.*}} : index
// MASK-NEXT: %[[OUT:.*]] = arith.cmpi uge, %[[COL]], %{{.*}} : index
// MASK-NEXT: %[[KEY:.*]] = arith.addi
// MASK-NEXT: %[[ABOVE:.*]] = arith.cmpi ugt, %[[KEY]], %[[COL]] : index
// MASK-NEXT: arith.ori %[[OUT]], %[[ABOVE]] : i1

// With p also wanted, the scale goes on dP - D: per query (column) the
// offset -lse·log2(e) with no log2(scale), and -scale·D; per element
// p = 2^(s·c + offset), dS = p · fma(dP, scale, -scale·D), and p kept.
// RUN: flashc-opt %examples/tile/backward_dkdv.mlir --flash-to-gpu | FileCheck %s --check-prefix=STEP
// STEP:      %[[NEGLOG2E:.*]] = arith.constant -1.44269502 : f32
// STEP-NEXT: %[[OFF:.*]] = llvm.intr.fma(%{{.*}}, %[[NEGLOG2E]], %[[ZERO:.*]])
// STEP-NEXT: %[[OFFSET:.*]] = arith.select %{{.*}}, %[[OFF]], %{{.*}} : f32
// STEP-NEXT: %[[NEGSCALE:.*]] = arith.constant -1.250000e-01 : f32
// STEP-NEXT: arith.mulf %{{.*}}, %[[NEGSCALE]] : f32
// STEP:      %[[P:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// STEP-NEXT: %[[DIFF:.*]] = llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}})
// STEP-NEXT: arith.mulf %[[P]], %[[DIFF]] : f32
