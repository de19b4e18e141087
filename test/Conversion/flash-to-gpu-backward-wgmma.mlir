// The backward's tile programs (examples/tile/backward_dq.mlir and
// backward_dkdv.mlir) lowered for wgmma: the second tile kept for the
// program (dO in dQ, V in dK/dV) is copied once and fenced for the async
// proxy, as Q is, and every product is a warpgroup MMA. A product of two
// shared tiles (S = Q·Kᵀ, dP = dO·Vᵀ; Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ) is an
// nvvm.wgmma.mma_async of 4 k-slices; a product whose left side is in
// registers (dQ += dS·K; dV += Pᵀ·dO, dK += dSᵀ·Q) is wgmma's register-A
// form, written as inline PTX as the forward's P·V is.
// RUN: sed 's/warps = 4>/warps = 4, strategy = wgmma>/' %examples/tile/backward_dq.mlir | flashc-opt --flash-to-gpu | FileCheck %s --check-prefix=DQ -enable-var-scope
// RUN: sed 's/warps = 4>/warps = 4, strategy = wgmma>/' %examples/tile/backward_dkdv.mlir | flashc-opt --flash-to-gpu | FileCheck %s --check-prefix=DKDV -enable-var-scope

// DQ-LABEL: gpu.func @backward_dq_kernel
// DQ-SAME:    %[[DO:arg4]]: memref<?x?x?x64xf16>, %[[LSE:arg5]]: memref<?x?x?xf32>, %[[D:arg6]]: memref<?x?x?xf32>
// Q's copies, then dO's, each landed and fenced before the loop.
// DQ:         nvvm.cp.async.wait.group 0
// DQ-NEXT:    nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>
// DQ-NEXT:    gpu.barrier
// DQ:         memref.collapse_shape %[[DO]]
// DQ:         nvvm.cp.async.wait.group 0
// DQ-NEXT:    nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>
// DQ-NEXT:    gpu.barrier
// DQ-COUNT-2: memref.load %[[LSE]]
// DQ-COUNT-2: memref.load %[[D]]
// DQ:         scf.for
// S = Q·Kᵀ, then dP = dO·Vᵀ: each 4 k-slices of 64x64x16.
// DQ:         nvvm.wgmma.fence.aligned
// DQ-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>
// DQ-NEXT:    nvvm.wgmma.commit.group.sync.aligned
// DQ-NEXT:    nvvm.wgmma.wait.group.sync.aligned 0
// DQ:         nvvm.wgmma.fence.aligned
// DQ-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>
// DQ-NEXT:    nvvm.wgmma.commit.group.sync.aligned
// dQ += dS·K: dS from registers, K read MN-major (the trailing 1s).
// DQ-COUNT-4: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {{.*}}, 1, 1, 1, 1;
// DQ-NOT:     wgmma.mma_async
// DQ:         gpu.return

// DKDV-LABEL: gpu.func @backward_dkdv_kernel
// DKDV-SAME:    %[[V:arg4]]: memref<?x?x?x64xf16>, %{{.*}}: memref<?x?x?x64xf16>, %[[LSE:arg6]]: memref<?x?x?xf32>, %[[D:arg7]]: memref<?x?x?xf32>
// DKDV:         memref.collapse_shape %[[V]]
// DKDV:         nvvm.cp.async.wait.group 0
// DKDV-NEXT:    nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>
// DKDV-NEXT:    gpu.barrier
// dK and dV: 8 accumulators of 64 columns each per thread, carried.
// DKDV:         scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ.
// DKDV-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>
// DKDV:         nvvm.wgmma.commit.group.sync.aligned
// DKDV-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>
// The queries' lse and D per lane's columns: 16 each.
// DKDV-COUNT-16: memref.load %[[LSE]]
// DKDV-COUNT-16: memref.load %[[D]]
// dV += Pᵀ·dO, then dK += dSᵀ·Q, from registers.
// DKDV-COUNT-8: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {{.*}}, 1, 1, 1, 1;
// DKDV-NOT:     wgmma.mma_async
// DKDV:         gpu.return
