// RUN: flashc-opt %s --flash-to-gpu --split-input-file | FileCheck %s -enable-var-scope

// Causal f16, head_dim 64, double-buffered: the kernel, its launch, the
// shared-memory views, cp.async staging with zero-fill, and a K/V loop with
// one wait_group and one barrier per block.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @causal
// The grid: (query blocks, heads, batch · kv_splits).
// CHECK:   %[[GX:.*]] = arith.ceildivui
// CHECK:   %[[B:.*]] = memref.dim %arg0, %c0
// CHECK:   %[[GZ:.*]] = arith.muli %[[B]], %c1
// CHECK:   %[[H:.*]] = memref.dim %arg0, %c1
// CHECK:   gpu.launch_func @causal_kernels::@causal_kernel blocks in (%[[GX]], %[[H]], %[[GZ]]) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %{{.*}} args(
// CHECK: gpu.module @causal_kernels
// CHECK: gpu.func @causal_kernel(%{{.*}}: memref<?x?x?x64xf16>, %{{.*}}: memref<?x?x?x64xf16>, %{{.*}}: memref<?x?x?x64xf16>, %{{.*}}: memref<?x?x?x64xf16>) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 1 : i32}
// CHECK-DAG: memref.view {{.*}} to memref<64x72xf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}} to memref<128x72xf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}} to memref<64x68xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}} to memref<64x16xf32, #gpu.address_space<workgroup>>
// The Q, K and V buffers also have flat views, the cp.async destinations.
// CHECK-DAG: memref.view {{.*}} to memref<4608xf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}} to memref<9216xf16, #gpu.address_space<workgroup>>
// Q: 16-byte copies from the flattened source, zero-filled past seq,
// waited for once.
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1} : memref<?xf16> to memref<4608xf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: gpu.barrier
// Q stays in registers as A fragments.
// CHECK-COUNT-4: gpu.subgroup_mma_load_matrix {{.*}} -> !gpu.mma_matrix<16x16xf16, "AOp">
// Prologue: block 0 of K and V in flight.
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for {{.*}} -> (f32, f32, !gpu.mma_matrix<16x16xf32, "COp">, !gpu.mma_matrix<16x16xf32, "COp">, !gpu.mma_matrix<16x16xf32, "COp">, !gpu.mma_matrix<16x16xf32, "COp">)
// CHECK:   nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK:   gpu.subgroup_mma_load_matrix {{.*}} {leadDimension = 72 : index, transpose}
// CHECK:   gpu.subgroup_mma_compute {{.*}} {b_transpose}
// CHECK:   gpu.subgroup_mma_store_matrix {{.*}} {leadDimension = 68 : index}
// CHECK:   nvvm.bar.warp.sync
// Only blocks that cross the diagonal or the key length are masked.
// CHECK:   scf.if %{{.*}} -> (f32, f32, f32)
// CHECK:     arith.cmpi ugt
// CHECK:     arith.select
// CHECK:     gpu.shuffle  xor
// CHECK:     llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK:   } else {
// CHECK:   gpu.subgroup_mma_elementwise  mulf
// CHECK:   gpu.subgroup_mma_compute
// CHECK-NOT: gpu.barrier
// CHECK:   scf.yield
// CHECK: nvvm.cp.async.wait.group 0
// O: staged in shared memory, written once as 16-byte vectors.
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<?x?x?x64xf16>, vector<8xf16>
func.func @causal(%arg0: memref<?x?x?x64xf16>, %arg1: memref<?x?x?x64xf16>, %arg2: memref<?x?x?x64xf16>, %arg3: memref<?x?x?x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c64 : index
    %dim = memref.dim %arg1, %c2 : memref<?x?x?x64xf16>
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %2 = arith.addi %0, %c64 : index
    %3 = arith.minui %dim, %2 : index
    %4:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %3 init(%cst_1, %cst_0, %cst) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%arg6: index, %arg7: tensor<64x64xf16>, %arg8: tensor<64x64xf16>, %arg9: tensor<64xf32>, %arg10: tensor<64xf32>, %arg11: tensor<64x64xf32>):
      %6 = flash.dot %1, %arg7 transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %7 = flash.mask %6 row %0 col %arg6 limit %dim causal : tensor<64x64xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %7, %arg9, %arg10 scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %8 = flash.rescale %arg11, %alpha : tensor<64x64xf32>, tensor<64xf32>
      %9 = flash.dot %probs, %arg8 acc %8 : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %max_out, %sum_out, %9 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    %5 = flash.normalize %4#2, %4#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    flash.store_tile %5, %arg3[%arg5, %0] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}

// -----

// Three stages: two blocks in flight, so each iteration waits until at most
// one newer group is pending.
// CHECK-LABEL: gpu.func @stages3_kernel
// CHECK: scf.for
// CHECK:   nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
func.func @stages3(%arg0: memref<?x?x?x64xf16>, %arg1: memref<?x?x?x64xf16>, %arg2: memref<?x?x?x64xf16>, %arg3: memref<?x?x?x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 32, stages = 3, warps = 4, strategy = wmma>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c64 : index
    %dim = memref.dim %arg1, %c2 : memref<?x?x?x64xf16>
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %2:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %dim init(%cst_1, %cst_0, %cst) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%arg6: index, %arg7: tensor<32x64xf16>, %arg8: tensor<32x64xf16>, %arg9: tensor<64xf32>, %arg10: tensor<64xf32>, %arg11: tensor<64x64xf32>):
      %4 = flash.dot %1, %arg7 transpose_rhs : tensor<64x64xf16>, tensor<32x64xf16> -> tensor<64x32xf32>
      %5 = flash.mask %4 row %0 col %arg6 limit %dim : tensor<64x32xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg9, %arg10 scale_log2e(0.180336878) : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xf16>
      %6 = flash.rescale %arg11, %alpha : tensor<64x64xf32>, tensor<64xf32>
      %7 = flash.dot %probs, %arg8 acc %6 : tensor<64x32xf16>, tensor<32x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    %3 = flash.normalize %2#2, %2#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    flash.store_tile %3, %arg3[%arg5, %0] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}

// -----

// One stage: no prefetch; the loop waits for every warp, loads, and waits.
// CHECK-LABEL: gpu.func @stages1_kernel
// CHECK: scf.for
// CHECK:   gpu.barrier
// CHECK:   nvgpu.device_async_copy
// CHECK:   nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
func.func @stages1(%arg0: memref<?x?x?x64xf16>, %arg1: memref<?x?x?x64xf16>, %arg2: memref<?x?x?x64xf16>, %arg3: memref<?x?x?x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 64, stages = 1, warps = 4, strategy = wmma>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c64 : index
    %dim = memref.dim %arg1, %c2 : memref<?x?x?x64xf16>
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %2:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %dim init(%cst_1, %cst_0, %cst) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%arg6: index, %arg7: tensor<64x64xf16>, %arg8: tensor<64x64xf16>, %arg9: tensor<64xf32>, %arg10: tensor<64xf32>, %arg11: tensor<64x64xf32>):
      %4 = flash.dot %1, %arg7 transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %5 = flash.mask %4 row %0 col %arg6 limit %dim : tensor<64x64xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg9, %arg10 scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %6 = flash.rescale %arg11, %alpha : tensor<64x64xf32>, tensor<64xf32>
      %7 = flash.dot %probs, %arg8 acc %6 : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    %3 = flash.normalize %2#2, %2#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    flash.store_tile %3, %arg3[%arg5, %0] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}

// -----

// bf16: the gpu dialect's WMMA has no bf16, so A/B loads and the mma are
// inline PTX; accumulators stay gpu.mma_matrix f32.
// CHECK-LABEL: gpu.func @bf16_kernel
// CHECK: llvm.inline_asm has_side_effects {{.*}}"wmma.load.a.sync.aligned.row.m16n16k16.shared.bf16
// CHECK: "wmma.load.b.sync.aligned.col.m16n16k16.shared.bf16
// CHECK: builtin.unrealized_conversion_cast {{.*}} : !gpu.mma_matrix<16x16xf32, "COp"> to !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
// CHECK: "wmma.mma.sync.aligned.row.col.m16n16k16.f32.bf16.bf16.f32
// CHECK: "wmma.load.b.sync.aligned.row.m16n16k16.shared.bf16
// CHECK: "wmma.mma.sync.aligned.row.row.m16n16k16.f32.bf16.bf16.f32
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
func.func @bf16(%arg0: memref<?x?x?x128xbf16>, %arg1: memref<?x?x?x128xbf16>, %arg2: memref<?x?x?x128xbf16>, %arg3: memref<?x?x?x128xbf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x128xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>) : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> memref<?x?x?x128xbf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c64 : index
    %dim = memref.dim %arg1, %c2 : memref<?x?x?x128xbf16>
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<?x?x?x128xbf16> -> tensor<64x128xbf16>
    %2:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %dim init(%cst_1, %cst_0, %cst) : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32> {
    ^bb0(%arg6: index, %arg7: tensor<32x128xbf16>, %arg8: tensor<32x128xbf16>, %arg9: tensor<64xf32>, %arg10: tensor<64xf32>, %arg11: tensor<64x128xf32>):
      %4 = flash.dot %1, %arg7 transpose_rhs : tensor<64x128xbf16>, tensor<32x128xbf16> -> tensor<64x32xf32>
      %5 = flash.mask %4 row %0 col %arg6 limit %dim : tensor<64x32xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg9, %arg10 scale_log2e(0.127517432) : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xbf16>
      %6 = flash.rescale %arg11, %alpha : tensor<64x128xf32>, tensor<64xf32>
      %7 = flash.dot %probs, %arg8 acc %6 : tensor<64x32xbf16>, tensor<32x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32>
    }
    %3 = flash.normalize %2#2, %2#1 : tensor<64x128xf32>, tensor<64xf32> -> tensor<64x128xbf16>
    flash.store_tile %3, %arg3[%arg5, %0] : tensor<64x128xbf16> -> memref<?x?x?x128xbf16>
  }
  return
}
