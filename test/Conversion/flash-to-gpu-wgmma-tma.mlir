// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// Policy prefetch = tma: the producer warpgroup's first thread fills the
// K/V ring with TMA loads through tensor maps of K and V, which the kernel
// takes as its last two parameters.

// The host side says what each map holds: a box of 64 columns by block_n
// rows of one (batch, head), 128-byte swizzled, zero past the edge.
// CHECK-LABEL: func.func @tma
// CHECK: %[[KU:.*]] = memref.cast %arg1 : memref<2x2x300x128xf16> to memref<*xf16>
// CHECK: %[[KD:.*]] = nvgpu.tma.create.descriptor %[[KU]] box[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<*xf16> -> <tensor = memref<1x1x128x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
// CHECK: %[[KMAP:.*]] = builtin.unrealized_conversion_cast %[[KD]] : {{.*}} to !llvm.ptr
// CHECK: %[[VU:.*]] = memref.cast %arg2
// CHECK: %[[VD:.*]] = nvgpu.tma.create.descriptor %[[VU]]
// CHECK: %[[VMAP:.*]] = builtin.unrealized_conversion_cast %[[VD]]
// CHECK: gpu.launch_func @tma_kernels::@tma_kernel {{.*}} threads in (%c384, {{.*}} args(%arg0 : memref<2x4x200x128xf16>, %arg1 : memref<2x2x300x128xf16>, %arg2 : memref<2x2x300x128xf16>, %arg3 : memref<2x4x200x128xf16>, %[[KMAP]] : !llvm.ptr, %[[VMAP]] : !llvm.ptr)

// CHECK-LABEL: gpu.func @tma_kernel
// CHECK-SAME: %[[KARG:[a-z0-9]+]]: !llvm.ptr, %[[VARG:[a-z0-9]+]]: !llvm.ptr) kernel
// CHECK-SAME: flash.tensor_maps = 2 : i64

// The landed barriers count one arrival (the TMA thread's expect_tx); the
// emptied ones one per computing thread.
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c256_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c256_i32{{(_[0-9]+)?}} :
// CHECK-NOT: nvvm.mbarrier.init

// The producer gives up registers; its first thread alone issues.
// CHECK: nvvm.setmaxregister decrease 56
// CHECK: %[[PTID:.*]] = arith.subi %[[TID]], %c256
// CHECK: %[[ISSUER:.*]] = arith.cmpi eq, %[[PTID]], %c0
// CHECK: scf.if %[[ISSUER]] {
// The maps' coordinates: batch and head of this K/V head, by K's heads.
// CHECK: %[[HEADS:.*]] = memref.dim %arg1, %c1
// CHECK: %[[B:.*]] = arith.divui %{{.*}}, %[[HEADS]]
// CHECK: %[[BATCH:.*]] = arith.index_castui %[[B]] : index to i32
// CHECK: %[[H:.*]] = arith.remui %{{.*}}, %[[HEADS]]
// CHECK: %[[HEAD:.*]] = arith.index_castui %[[H]] : index to i32
// CHECK: scf.for
// It waits until the buffer is emptied ...
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: %[[ROW:.*]] = arith.index_castui %{{.*}} : index to i32
// ... arms the keys' barrier with the block's bytes (128 rows · 128
// columns · 2 bytes) and loads the two 64-column panels onto it, then the
// values the same way.
// CHECK: %[[KBAR:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<3>
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[KBAR]], %c32768_i32
// CHECK: %[[DST0:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr<3> to !llvm.ptr<7>
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %[[DST0]], %[[KARG]], %[[KBAR]], box[%c0_i32{{.*}}, %[[ROW]], %[[HEAD]], %[[BATCH]]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[KARG]], %[[KBAR]], box[%c64_i32{{.*}}, %[[ROW]], %[[HEAD]], %[[BATCH]]]
// CHECK: %[[VBAR:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<3>
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[VBAR]], %c32768_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[VARG]], %[[VBAR]], box[%c0_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[VARG]], %[[VBAR]], box[%c64_i32
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: }
// CHECK: }
// CHECK-NEXT: nvvm.exit

// The computing warps wait on the landed barriers; TMA writes through the
// async proxy that wgmma reads, so no proxy fence follows the wait.
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NOT: nvvm.fence.proxy
// CHECK: nvvm.wgmma.fence.aligned
func.func @tma(%q: memref<2x4x200x128xf16>, %k: memref<2x2x300x128xf16>,
               %v: memref<2x2x300x128xf16>, %o: memref<2x4x200x128xf16>) {
  flash.attention %q, %k, %v -> %o causal
      config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>)
      policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>)
      : memref<2x4x200x128xf16>, memref<2x2x300x128xf16>, memref<2x2x300x128xf16>
        -> memref<2x4x200x128xf16>
  return
}
