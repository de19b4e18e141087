// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// Policy prefetch = producer: a warpgroup of its own (threads 256..383)
// copies K and V into a ring of 2 buffers guarded by mbarriers, and the two
// computing warpgroups wait on those instead of a barrier of the whole
// program.
// CHECK-LABEL: func.func @ring
// CHECK: gpu.launch_func @ring_kernels::@ring_kernel {{.*}} threads in (%c384,
// CHECK-LABEL: gpu.func @ring_kernel
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>

// Thread 0 sets up each buffer's barriers: keys landed and values landed
// (one arrival per producer thread), emptied (one per computing thread).
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: arith.cmpi eq, %[[TID]], %c0
// CHECK: nvvm.mbarrier.init %{{.*}}, %c128_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c128_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c256_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c128_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c128_i32{{(_[0-9]+)?}} :
// CHECK: nvvm.mbarrier.init %{{.*}}, %c256_i32{{(_[0-9]+)?}} :
// CHECK-NOT: nvvm.mbarrier.init

// Only the computing threads copy Q; all pass the barrier that publishes
// Q and the mbarriers.
// CHECK: %[[COMPUTEQ:.*]] = arith.cmpi ult, %[[TID]], %c256
// CHECK: scf.if %[[COMPUTEQ]] {
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier

// The warpgroups part: the computing ones take registers, the producer
// gives them up and runs its own loop over the same blocks.
// CHECK: %[[COMPUTE:.*]] = arith.cmpi ult, %[[TID]], %c256
// CHECK: scf.if %[[COMPUTE]] {
// CHECK-NEXT: nvvm.setmaxregister increase 224
// CHECK-NEXT: } else {
// CHECK-NEXT: nvvm.setmaxregister decrease 56
// CHECK: scf.for
// The producer waits until the buffer is emptied (a flipped parity: its
// first round finds every buffer free) ...
// CHECK: %[[ROUND:.*]] = arith.divui %{{.*}}, %c2
// CHECK: %[[BIT:.*]] = arith.andi %[[ROUND]], %c1
// CHECK: arith.xori %[[BIT]], %c1
// CHECK: nvvm.mbarrier.try_wait.parity
// ... copies the keys, which arrive on their barrier as they land, then the
// values.
// CHECK: nvgpu.device_async_copy {{.*}} to memref<16384xf16
// CHECK: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true}
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true}
// CHECK-NEXT: }
// Its copies land before it exits: committed as one group (wait_group
// waits for committed groups only), then waited for.
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.exit
// CHECK-NEXT: }

// The computing warps: keys awaited (and the async proxy fenced) before
// S = Q·Kᵀ, values before O += P·V, the buffer released at the step's end;
// no barrier of the whole program in the loop.
// CHECK: scf.for
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.wgmma.mma_async
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NOT: gpu.barrier
// CHECK: llvm.inline_asm {{.*}}wgmma.mma_async
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK-NEXT: scf.yield
func.func @ring(%q: memref<1x2x300x128xf16>, %k: memref<1x2x300x128xf16>, %v: memref<1x2x300x128xf16>, %o: memref<1x2x300x128xf16>) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) : memref<1x2x300x128xf16>, memref<1x2x300x128xf16>, memref<1x2x300x128xf16> -> memref<1x2x300x128xf16>
  return
}

// setmaxnreg may only lower the producer's registers and raise the
// others': with 4 programs an SM (40 registers a thread at entry) or one
// computing warpgroup (248 at entry, more than the 240 it would ask for)
// there is nothing to move, and no setmaxnreg is emitted.
// CHECK-LABEL: gpu.func @crowded_kernel
// CHECK-NOT: nvvm.setmaxregister
// CHECK: nvvm.exit
// CHECK-NOT: nvvm.setmaxregister
// CHECK-LABEL: gpu.func @one_warpgroup_kernel
// CHECK-NOT: nvvm.setmaxregister
// CHECK: nvvm.exit
// CHECK-NOT: nvvm.setmaxregister
func.func @crowded(%q: memref<1x2x300x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 4>) : memref<1x2x300x64xf16>, memref<1x2x300x64xf16>, memref<1x2x300x64xf16> -> memref<1x2x300x64xf16>
  return
}
func.func @one_warpgroup(%q: memref<1x2x300x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) : memref<1x2x300x64xf16>, memref<1x2x300x64xf16>, memref<1x2x300x64xf16> -> memref<1x2x300x64xf16>
  return
}

// The producer and the computing warps must run the same number of steps,
// or one waits forever: with a split K/V loop (a share [first, end) of the
// blocks per program) both loops run end - first steps from the same
// bounds.
// CHECK-LABEL: gpu.func @split_share_kernel
// CHECK: %[[BLOCKS:.*]] = arith.ceildivui %{{.*}}, %c128{{.*}} : index
// CHECK: %[[SHARE:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK-NEXT: %[[OFFSET:.*]] = arith.muli %{{.*}}, %[[SHARE]] : index
// CHECK-NEXT: %[[START:.*]] = arith.addi %{{.*}}, %[[OFFSET]] : index
// CHECK-NEXT: %[[FIRST:.*]] = arith.minui %[[START]], %[[BLOCKS]] : index
// CHECK-NEXT: %[[SHARE_END:.*]] = arith.addi %[[FIRST]], %[[SHARE]] : index
// CHECK-NEXT: %[[END:.*]] = arith.minui %[[SHARE_END]], %[[BLOCKS]] : index
// CHECK: } else {
// CHECK: %[[PRODUCER_STEPS:.*]] = arith.subi %[[END]], %[[FIRST]] : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[PRODUCER_STEPS]] step
// CHECK: nvvm.exit
// CHECK: %[[STEPS:.*]] = arith.subi %[[END]], %[[FIRST]] : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[STEPS]] step %{{.*}} iter_args(
func.func @split_share(%q: memref<?x?x?x128xbf16>) {
  flash.attention %q, %q, %q -> %q causal config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma, kv_splits = 16>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> memref<?x?x?x128xbf16>
  return
}
