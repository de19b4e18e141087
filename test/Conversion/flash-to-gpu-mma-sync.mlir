// RUN: flashc-opt %s --flash-to-gpu --split-input-file | FileCheck %s -enable-var-scope --check-prefixes=CHECK,SUMS,LATE

// Strategy mma_sync: Q, K and V through shared memory by cp.async as for
// wmma, but S, P, the row statistics and O stay in registers: ldmatrix
// feeds m16n8k16 mma.sync, the softmax works on the accumulator fragments
// with quad shuffles, P is repacked into A fragments, and no S/P/broadcast
// buffers are allocated.
// CHECK-LABEL: gpu.func @mma_kernel
// CHECK-SAME: nvvm.minctasm = 2
// Copies read q, k and v through flat views made once at the top.
// CHECK-COUNT-3: memref.collapse_shape %{{.*}} {{\[\[}}0, 1, 2, 3]] : memref<?x?x?x64xf16> into memref<?xf16>
// Causal: block x takes query block grid_dim.x - 1 - x, the longest first.
// CHECK: %[[BX:.*]] = gpu.block_id  x
// CHECK: %[[GX:.*]] = gpu.grid_dim  x
// CHECK: %[[LAST:.*]] = arith.subi %[[GX]], %c1
// CHECK: arith.subi %[[LAST]], %[[BX]]
// Q, K and V each have a 2-D view (ldmatrix) and a flat one (cp.async).
// CHECK-COUNT-6: memref.view
// CHECK-NOT: memref.view
// Unpadded rows; cp.async and ldmatrix XOR the 16-byte chunk with row % 8.
// Copies go from the flattened source to the flat view, each address a
// per-thread part plus a constant per round of copies.
// CHECK: arith.xori {{.*}} : index
// CHECK: nvgpu.device_async_copy {{.*}} : memref<?xf16> to memref<4096xf16
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<64x64xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// Whole K/V blocks are copied without clamping rows to seq; only the tail
// block (the else branch) clamps and zero-fills.
// CHECK: arith.cmpi ule
// CHECK-NEXT: scf.if
// CHECK-NOT: arith.minui
// CHECK: nvgpu.device_async_copy {{.*}}, 8 {bypassL1} : memref<?xf16> to memref<8192xf16
// CHECK: } else {
// CHECK: arith.minui
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1} : memref<?xf16> to memref<8192xf16
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, vector<2x2xf32>
// CHECK:   nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<128x64xf16
// CHECK:   nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:   gpu.shuffle  xor {{.*}}, %c1_i32
// CHECK:   gpu.shuffle  xor {{.*}}, %c2_i32
// CHECK:   llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK:   arith.truncf {{.*}} : f32 to f16
// CHECK:   nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK:   nvgpu.mma.sync
// CHECK-NOT: gpu.subgroup_mma
// CHECK: vector.store {{.*}} : memref<?x?x?x64xf16>, vector<2xf16>
func.func @mma(%arg0: memref<?x?x?x64xf16>, %arg1: memref<?x?x?x64xf16>, %arg2: memref<?x?x?x64xf16>, %arg3: memref<?x?x?x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
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

// Two strips per warp at head_dim 128: Q's fragments would take 64 registers
// a lane, so Q is read from shared memory (ldmatrix of the 128x128 Q buffer)
// inside the K/V loop, not once before it.
// CHECK-LABEL: gpu.func @qshared_kernel
// CHECK-NOT: gpu.grid_dim
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: scf.for
// CHECK:   nvgpu.ldmatrix {{.*}} : memref<128x128xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK:   nvgpu.ldmatrix {{.*}} : memref<64x128xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK:   nvgpu.mma.sync
// block_n 32: the row max goes stale by up to 2^8 (compare, select), and O
// is rescaled only when a row of the warp moved its max (vote, branch).
// CHECK:   arith.cmpf ole, %{{.*}}, %cst_{{.*}} : f32
// CHECK:   arith.cmpf une
// CHECK:   %[[ANY:.*]] = nvvm.vote.sync  any %{{.*}}, %{{.*}} -> i1
// CHECK:   scf.if %[[ANY]] -> (vector<2x2xf32>
// CHECK:     arith.mulf {{.*}} : vector<2x2xf32>
// CHECK:   } else {
// (At block_n 64 neither: see the SUMS checks of @mma_sums_kernel.)
func.func @qshared(%arg0: memref<?x?x?x128xf16>, %arg1: memref<?x?x?x128xf16>, %arg2: memref<?x?x?x128xf16>, %arg3: memref<?x?x?x128xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<128x128xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<128xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<128xf32>
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c128 : index
    %dim = memref.dim %arg1, %c2 : memref<?x?x?x128xf16>
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<?x?x?x128xf16> -> tensor<128x128xf16>
    %2:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %dim init(%cst_1, %cst_0, %cst) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32> -> tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32> {
    ^bb0(%arg6: index, %arg7: tensor<32x128xf16>, %arg8: tensor<32x128xf16>, %arg9: tensor<128xf32>, %arg10: tensor<128xf32>, %arg11: tensor<128x128xf32>):
      %4 = flash.dot %1, %arg7 transpose_rhs : tensor<128x128xf16>, tensor<32x128xf16> -> tensor<128x32xf32>
      %5 = flash.mask %4 row %0 col %arg6 limit %dim : tensor<128x32xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg9, %arg10 scale_log2e(0.127517432) : tensor<128x32xf32>, tensor<128xf32> -> tensor<128x32xf16>
      %6 = flash.rescale %arg11, %alpha : tensor<128x128xf32>, tensor<128xf32>
      %7 = flash.dot %probs, %arg8 acc %6 : tensor<128x32xf16>, tensor<32x128xf16>, tensor<128x128xf32> -> tensor<128x128xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32>
    }
    %3 = flash.normalize %2#2, %2#1 : tensor<128x128xf32>, tensor<128xf32> -> tensor<128x128xf16>
    flash.store_tile %3, %arg3[%arg5, %0] : tensor<128x128xf16> -> memref<?x?x?x128xf16>
  }
  return
}

// -----

// In the loop only the row maxima are reduced over their quad (2 shuffles
// a row, 2 rows a lane, masked and unmasked variants); the row sums stay
// quad-partial and are reduced once, by normalize.
// SUMS-LABEL: gpu.func @mma_sums_kernel
// SUMS: scf.for
// SUMS-COUNT-8: gpu.shuffle  xor
// SUMS-NOT: gpu.shuffle
// SUMS-NOT: nvvm.vote.sync
// SUMS: nvgpu.ldmatrix {{.*}} transpose = true
// SUMS-NOT: gpu.shuffle
// SUMS: scf.yield
// SUMS: gpu.shuffle  xor {{.*}}, %c1_i32
// SUMS: gpu.shuffle  xor {{.*}}, %c2_i32
// SUMS: arith.divf
func.func @mma_sums(%arg0: memref<?x?x?x64xf16>, %arg1: memref<?x?x?x64xf16>, %arg2: memref<?x?x?x64xf16>, %arg3: memref<?x?x?x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
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

// With 3 stages the block two steps ahead is prefetched after the first
// product (S = Q·K^T) of the step, not right after the barrier.
// LATE-LABEL: gpu.func @late_kernel
// LATE: scf.for
// LATE: nvvm.cp.async.wait.group 1
// LATE-NEXT: gpu.barrier
// LATE-NOT: nvgpu.device_async_copy
// LATE: nvgpu.mma.sync
// LATE: nvgpu.device_async_copy
// LATE: nvvm.cp.async.commit.group
// LATE: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
func.func @late(%arg0: memref<?x?x?x64xf16>, %arg1: memref<?x?x?x64xf16>, %arg2: memref<?x?x?x64xf16>, %arg3: memref<?x?x?x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c64 : index
    %dim = memref.dim %arg1, %c2 : memref<?x?x?x64xf16>
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %2 = arith.addi %0, %c64 : index
    %3 = arith.minui %dim, %2 : index
    %4:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %3 init(%cst_1, %cst_0, %cst) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%arg6: index, %arg7: tensor<64x64xf16>, %arg8: tensor<64x64xf16>, %arg9: tensor<64xf32>, %arg10: tensor<64xf32>, %arg11: tensor<64x64xf32>):
      %6 = flash.dot %1, %arg7 transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %7 = flash.mask %6 row %0 col %arg6 limit %dim : tensor<64x64xf32>
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
