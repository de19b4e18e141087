// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// Policy prefetch = tma: the producer warpgroup's first thread fills the
// K/V ring with TMA loads through tensor maps of K and V, which the kernel
// takes as its last two parameters.

// The host side says what each map holds: a box of 64 columns by block_n
// rows of one (batch, head), 128-byte swizzled, 128-byte L2 promotion, zero
// past the edge.
// CHECK-LABEL: func.func @tma
// CHECK: %[[KU:.*]] = memref.cast %arg1 : memref<2x2x300x128xf16> to memref<*xf16>
// CHECK: %[[KD:.*]] = nvgpu.tma.create.descriptor %[[KU]] box[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<*xf16> -> <tensor = memref<1x1x128x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_128b, oob = zero, interleave = none>
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
// The inits reach the async proxy, whose TMA completions arrive on them.
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NOT: nvvm.mbarrier.init

// The K/V head the loop reads, of 4 query heads over 2 K/V heads: (bh / 4)
// · 2 + (bh mod 4) / 2.
// CHECK: %[[QB:.*]] = arith.divui %[[BH:.*]], %c4 : index
// CHECK: %[[QH:.*]] = arith.remui %[[BH]], %c4 : index
// CHECK: %[[KVB:.*]] = arith.muli %[[QB]], %c2 : index
// CHECK: %[[KVH:.*]] = arith.divui %[[QH]], %{{.*}} : index
// CHECK: %[[KVBH:.*]] = arith.addi %[[KVB]], %[[KVH]] : index

// The producer gives up registers; its first thread alone issues.
// CHECK: nvvm.setmaxregister decrease 56
// CHECK: %[[PTID:.*]] = arith.subi %[[TID]], %c256
// CHECK: %[[ISSUER:.*]] = arith.cmpi eq, %[[PTID]], %c0
// CHECK: scf.if %[[ISSUER]] {
// The maps' coordinates: batch and head of this K/V head, by K's heads.
// CHECK: %[[HEADS:.*]] = memref.dim %arg1, %c1
// CHECK: %[[B:.*]] = arith.divui %[[KVBH]], %[[HEADS]]
// CHECK: %[[BATCH:.*]] = arith.index_castui %[[B]] : index to i32
// CHECK: %[[H:.*]] = arith.remui %[[KVBH]], %[[HEADS]]
// CHECK: %[[HEAD:.*]] = arith.index_castui %[[H]] : index to i32
// CHECK: scf.for %[[T:.*]] = %c0{{.*}} to
// CHECK: %[[SLOT:.*]] = arith.remui %[[T]], %c2
// It waits until the buffer is emptied ...
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: %[[ROW:.*]] = arith.index_castui %{{.*}} : index to i32
// Buffer `slot` starts 128 rows · 128 columns into K's (and V's) ring.
// CHECK: %[[BASE:.*]] = arith.muli %[[SLOT]], %c16384 : index
// ... arms the keys' barrier with the block's bytes (128 rows · 128
// columns · 2 bytes) and loads the two 64-column panels onto it, then the
// values the same way.
// CHECK: %[[KBAR:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<3>
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[KBAR]], %c32768_i32
// CHECK: %[[DST0:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr<3> to !llvm.ptr<7>
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %[[DST0]], %[[KARG]], %[[KBAR]], box[%c0_i32{{.*}}, %[[ROW]], %[[HEAD]], %[[BATCH]]]
// The second panel lands 128 rows · 64 columns after the first.
// CHECK: arith.addi %[[BASE]], %c8192 : index
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
