// A data-dependent mask_mod in the backward's dK/dV program (transposed:
// a row per key, a column per query) gets a block map of its own
// orientation: the map kernel evaluates the region with the query from
// the column and the key from the row, skips blocks whose first key is
// past their last query (causal, transposed), and the program scans its
// key block's row of the map for the query blocks it sees.
// RUN: flashc-opt %s --flash-to-gpu | FileCheck %s

// CHECK:       gpu.launch_func @documents_dkdv_kernels::@documents_dkdv_kernel_block_map
// CHECK:       gpu.launch_func @documents_dkdv_kernels::@documents_dkdv_kernel
// CHECK-LABEL: gpu.func @documents_dkdv_kernel_block_map
// CHECK:       %[[ROW0:.*]] = arith.muli %block_id_y, %{{.*}} : index
// CHECK:       %[[COL0:.*]] = arith.muli %block_id_x, %{{.*}} : index
// Causal, transposed: nothing to evaluate where row0 > col0 + 63.
// CHECK:       %[[LAST:.*]] = arith.addi %[[COL0]], %c63 : index
// CHECK-NEXT:  %[[PAST:.*]] = arith.cmpi sgt, %[[ROW0]], %[[LAST]] : index
// Such a block is not evaluated: thread 0 stores an empty entry.
// CHECK:       scf.if %[[PAST]] {
// CHECK:       scf.if
// CHECK-NEXT:  %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-NEXT:  memref.store %[[ZERO]], %{{.*}} : memref<?xi32>
// CHECK:       } else {
// A block inside both lengths evaluates its pairs unchecked; the others
// clamp both coordinates and count only pairs inside.
// CHECK:       %[[INSIDE:.*]] = arith.andi
// CHECK-NEXT:  scf.if %[[INSIDE]] -> (i1, i1) {
// At 64 keys a block, each thread keeps four columns, 16 apart, and
// evaluates all four on each row step.
// CHECK:       %[[LANE:.*]] = arith.remui %thread_id_x, %c16 : index
// CHECK:       %[[COL:.*]] = arith.addi %[[COL0]], %{{.*}} : index
// CHECK:       arith.addi %[[LANE]], %c16
// CHECK-NEXT:  %[[COL1:.*]] = arith.addi %[[COL0]], %{{.*}} : index
// CHECK:       arith.addi %[[LANE]], %c32
// CHECK-NEXT:  %[[COL2:.*]] = arith.addi %[[COL0]], %{{.*}} : index
// CHECK:       arith.addi %[[LANE]], %c48
// CHECK-NEXT:  %[[COL3:.*]] = arith.addi %[[COL0]], %{{.*}} : index
// CHECK:       scf.for %{{.*}} step %c8
// CHECK-NEXT:  %[[ROW:.*]] = arith.addi %[[ROW0]], %{{.*}} : index
// CHECK-NOT:   arith.minui
// q_idx (the region's first load) is the column, kv_idx the row.
// CHECK:       memref.load %{{.*}}[%block_id_z, %[[COL]]] : memref<?x?xi32>
// CHECK-NEXT:  memref.load %{{.*}}[%block_id_z, %[[ROW]]] : memref<?x?xi32>
// CHECK:       memref.load %{{.*}}[%block_id_z, %[[COL1]]] : memref<?x?xi32>
// CHECK:       memref.load %{{.*}}[%block_id_z, %[[COL2]]] : memref<?x?xi32>
// CHECK:       memref.load %{{.*}}[%block_id_z, %[[COL3]]] : memref<?x?xi32>
// CHECK:       scf.yield
// CHECK:       } else {
// The columns are clamped once, before the row loop; the rows in it.
// CHECK:       %[[CCOL:.*]] = arith.addi %[[COL0]], %{{.*}} : index
// CHECK:       %[[COLC:.*]] = arith.minui %[[CCOL]], %{{.*}} : index
// CHECK:       scf.for
// CHECK:       %[[CROW:.*]] = arith.addi %[[ROW0]], %{{.*}} : index
// CHECK:       %[[ROWC:.*]] = arith.minui %[[CROW]], %{{.*}} : index
// CHECK:       memref.load %{{.*}}[%block_id_z, %[[COLC]]] : memref<?x?xi32>
// CHECK-NEXT:  memref.load %{{.*}}[%block_id_z, %[[ROWC]]] : memref<?x?xi32>
// CHECK-LABEL: gpu.func @documents_dkdv_kernel(
// CHECK-SAME:  %[[MAP:arg[0-9]+]]: memref<?xi32>) kernel
// The row's scan, then each block's entry.
// CHECK:       scf.for
// CHECK:       memref.load %[[MAP]][%{{.*}}] : memref<?xi32>
// CHECK:       gpu.shuffle xor
// CHECK:       memref.load %[[MAP]][%{{.*}}] : memref<?xi32>
func.func @documents_dkdv(%k: memref<?x?x?x64xf16>, %q: memref<?x?x?x64xf16>,
                         %dout: memref<?x?x?x64xf16>,
                         %dv: memref<?x?x?x64xf16>, %v: memref<?x?x?x64xf16>,
                         %dk: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                         %delta: memref<?x?x?xf32>, %docs: memref<?x?xi32>) {
  flash.tiled %k, %q, %dout -> %dv
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
      captures(%v, %dk, %lse, %delta, %docs : memref<?x?x?x64xf16>,
               memref<?x?x?x64xf16>, memref<?x?x?xf32>, memref<?x?x?xf32>,
               memref<?x?xi32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16>
        -> memref<?x?x?x64xf16> {
  ^bb0(%kblock: index, %bh: index):
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    %row = arith.muli %kblock, %c64 : index
    %seq_q = memref.dim %q, %c2 : memref<?x?x?x64xf16>
    %kt = flash.load_tile %k[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %vt = flash.load_tile %v[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    %r:2 = flash.kv_loop %q, %dout [%bh] lower %row upper %seq_q init(%zero, %zero)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64x64xf32>,
          tensor<64x64xf32> -> tensor<64x64xf32>, tensor<64x64xf32> {
    ^bb0(%start: index, %qt: tensor<64x64xf16>, %dot: tensor<64x64xf16>,
         %dk_acc: tensor<64x64xf32>, %dv_acc: tensor<64x64xf32>):
      %st = flash.dot %kt, %qt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %seq_k = memref.dim %k, %c2 : memref<?x?x?x64xf16>
      %window = flash.mask_mod %st [%bh, %row, %start] seq(%seq_q, %seq_k) transposed
          captures(%docs : memref<?x?xi32>) : tensor<64x64xf32> {
      ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index,
           %ids: memref<?x?xi32>):
        %dq = memref.load %ids[%b, %qi] : memref<?x?xi32>
        %dkv = memref.load %ids[%b, %kv] : memref<?x?xi32>
        %same = arith.cmpi eq, %dq, %dkv : i32
        flash.yield %same : i1
      }
      %masked = flash.mask %window row %row col %start limit %seq_q causal transposed : tensor<64x64xf32>
      %dpt = flash.dot %vt, %dot transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %lse_cols = flash.load_cols %lse[%bh, %start] : memref<?x?x?xf32> -> tensor<64xf32>
      %delta_cols = flash.load_cols %delta[%bh, %start] : memref<?x?x?xf32> -> tensor<64xf32>
      %dst, %pt = flash.grad_scores %masked, %dpt, %lse_cols, %delta_cols scale_log2e(0.180336878)
          scale(0.125) transposed
          : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>, tensor<64x64xf16>
      %dv1 = flash.dot %pt, %dot acc %dv_acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      %dk1 = flash.dot %dst, %qt acc %dk_acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %dk1, %dv1 : tensor<64x64xf32>, tensor<64x64xf32>
    }
    %dkt = arith.truncf %r#0 : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dkt, %dk[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
    %dvt = arith.truncf %r#1 : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dvt, %dv[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}
