// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// kv_splits = 2: up to two programs share a query block's K/V loop. The
// host launch takes the maximum, fewer where batch · splits would pass
// 65535 (a runtime launch chooses per shape), grid z = splits · batch, and
// the kernel gets two workspace arguments. The kernel
// reads the launch's split count from grid z / batch; each program runs its
// share of the K/V loop. With more than one split it publishes its partial
// (acc, row max, row sum) with a GPU-scope fence, lane 0 counts the warp's
// arrival atomically, and the warp that arrives last merges every split's
// partial (online, rescaled by the row maxima) and alone stores O. With one
// split the partial is the result and the store guard is true.
// CHECK-LABEL: func.func @split
// CHECK: %[[FIT:.*]] = arith.divui %c65535, %{{.*}} : index
// CHECK: %[[FEWER:.*]] = arith.minui %c2{{.*}}, %[[FIT]] : index
// CHECK: %[[SPLITS:.*]] = arith.maxui %c1{{.*}}, %[[FEWER]] : index
// CHECK: %[[PARTIALS:.*]] = gpu.alloc  ({{.*}}) : memref<?xf32>
// CHECK: %[[COUNTERS:.*]] = gpu.alloc  ({{.*}}) : memref<?xi32>
// CHECK: gpu.memset  %[[COUNTERS]], %c0_i32{{.*}}
// CHECK: %[[GZ:.*]] = arith.muli %{{.*}}, %[[SPLITS]] : index
// CHECK: gpu.launch_func  @split_kernels::@split_kernel blocks in (%{{.*}}, %{{.*}}, %[[GZ]]) {{.*}} args({{.*}}, %[[PARTIALS]] : memref<?xf32>, %[[COUNTERS]] : memref<?xi32>)
// CHECK: gpu.dealloc  %[[PARTIALS]]
// CHECK: gpu.dealloc  %[[COUNTERS]]
// CHECK-LABEL: gpu.func @split_kernel
// CHECK-SAME: %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi32>
// Grid z is batch · splits + split.
// CHECK: %[[Z:.*]] = gpu.block_id  z
// CHECK: %[[GRIDZ:.*]] = gpu.grid_dim  z
// CHECK: %[[SPLITS:.*]] = arith.divui %[[GRIDZ]], %{{.*}} : index
// CHECK: arith.remui %[[Z]], %[[SPLITS]]
// CHECK: arith.divui %[[Z]], %[[SPLITS]]
// CHECK: arith.ceildivui %{{.*}}, %[[SPLITS]]
// CHECK: scf.for
// CHECK: %[[SEVERAL:.*]] = arith.cmpi ugt, %[[SPLITS]], %c1{{.*}} : index
// CHECK: %[[MERGED:.*]]:13 = scf.if %[[SEVERAL]] -> ({{.*}}, i1) {
// CHECK:   vector.store {{.*}} : memref<?xf32>, vector<2xf32>
// CHECK:   nvvm.memory.barrier <gpu>
// CHECK:   memref.atomic_rmw addi %c1_i32{{.*}}, %{{.*}} : (i32, memref<?xi32>) -> i32
// CHECK:   gpu.shuffle  idx
// CHECK:   %[[LASTSPLIT:.*]] = arith.subi %[[SPLITS]], %c1
// CHECK:   %[[LASTI32:.*]] = arith.index_castui %[[LASTSPLIT]] : index to i32
// CHECK:   %[[LAST:.*]] = arith.cmpi eq, %{{.*}}, %[[LASTI32]] : i32
// CHECK:   scf.if %[[LAST]]
// CHECK:     memref.store %c0_i32{{.*}}
// CHECK:     nvvm.memory.barrier <gpu>
// CHECK:     scf.for {{.*}} to %[[SPLITS]]
// CHECK:       vector.load {{.*}} : memref<?xf32>, vector<2xf32>
// CHECK: } else {
// CHECK:   %[[TRUE:.*]] = arith.constant true
// CHECK:   scf.yield {{.*}}, %[[TRUE]] : {{.*}}, i1
// CHECK: scf.if %[[MERGED]]#12
// CHECK:   vector.store {{.*}} : memref<1x8x512x64xf16>, vector<2xf16>
func.func @split(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>, %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o causal config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}

// With a log-sum-exp, the merged rows are written under O's guard: ln 2 ·
// (merged max + log2(merged sum)).
// CHECK-LABEL: gpu.func @split_lse_kernel
// CHECK: %[[MERGED:.*]]:13 = scf.if %{{.*}} -> ({{.*}}, i1) {
// CHECK: scf.if %[[MERGED]]#12 {
// CHECK:   %[[LOG:.*]] = llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"(%[[MERGED]]#10)
// CHECK:   arith.addf %[[MERGED]]#8, %[[LOG]]
// CHECK:   memref.store {{.*}} : memref<1x8x512xf32>
// CHECK: scf.if %[[MERGED]]#12
// CHECK:   vector.store {{.*}} : memref<1x8x512x64xf16>, vector<2xf16>
func.func @split_lse(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>, %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>, %lse: memref<1x8x512xf32>) {
  flash.attention %q, %k, %v -> %o lse(%lse : memref<1x8x512xf32>) causal config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
