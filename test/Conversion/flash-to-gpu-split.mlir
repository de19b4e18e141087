// RUN: flashc-opt %s --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// kv_splits = 2: the grid gets z = 2 · batch and the kernel two workspace
// arguments; each program runs its share of the K/V loop, publishes its
// partial (acc, row max, row sum) with a GPU-scope fence, lane 0 counts the
// warp's arrival atomically, and the warp that arrives last merges every
// split's partial (online, rescaled by the row maxima) and alone stores O.
// CHECK-LABEL: func.func @split
// CHECK: %[[PARTIALS:.*]] = gpu.alloc  ({{.*}}) : memref<?xf32>
// CHECK: %[[COUNTERS:.*]] = gpu.alloc  ({{.*}}) : memref<?xi32>
// CHECK: gpu.memset  %[[COUNTERS]], %c0_i32{{.*}}
// CHECK: %[[GZ:.*]] = arith.muli %{{.*}}, %c2{{.*}} : index
// CHECK: gpu.launch_func  @split_kernels::@split_kernel blocks in (%{{.*}}, %{{.*}}, %[[GZ]]) {{.*}} args({{.*}}, %[[PARTIALS]] : memref<?xf32>, %[[COUNTERS]] : memref<?xi32>)
// CHECK: gpu.dealloc  %[[PARTIALS]]
// CHECK: gpu.dealloc  %[[COUNTERS]]
// CHECK-LABEL: gpu.func @split_kernel
// CHECK-SAME: %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi32>
// Grid z is batch · 2 + split.
// CHECK: %[[Z:.*]] = gpu.block_id  z
// CHECK: arith.remui %[[Z]], %c2
// CHECK: arith.divui %[[Z]], %c2
// CHECK: arith.ceildivui
// CHECK: scf.for
// CHECK: vector.store {{.*}} : memref<?xf32>, vector<2xf32>
// CHECK: nvvm.memory.barrier <gpu>
// CHECK: memref.atomic_rmw addi %c1_i32{{.*}}, %{{.*}} : (i32, memref<?xi32>) -> i32
// CHECK: gpu.shuffle  idx
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %{{.*}}, %c1_i32{{.*}} : i32
// CHECK: scf.if %[[LAST]]
// CHECK:   memref.store %c0_i32{{.*}}
// CHECK:   nvvm.memory.barrier <gpu>
// CHECK:   scf.for {{.*}} to %c2{{.*}}
// CHECK:     vector.load {{.*}} : memref<?xf32>, vector<2xf32>
// CHECK: scf.if %[[LAST]]
// CHECK:   vector.store {{.*}} : memref<1x8x512x64xf16>, vector<2xf16>
func.func @split(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>, %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o causal config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
