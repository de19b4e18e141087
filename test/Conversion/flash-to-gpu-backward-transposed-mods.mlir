// A transposed mask_mod in the backward's dK/dV program (its tiles hold a
// row per key, a column per query): the region still receives (q_idx,
// kv_idx), the query from the column and the key from the row, and the
// block test that lets whole blocks skip an affine mask takes the queries
// from the columns. (A data-dependent one gets a transposed block map:
// flash-to-gpu-backward-transposed-map.mlir.)
// RUN: flashc-opt %s --flash-to-gpu | FileCheck %s

// CHECK-LABEL: gpu.func @window_dkdv_kernel
// CHECK-SAME:    %{{.*}}: memref<?x?x?xf32>, %{{.*}}: memref<?x?x?xf32>) kernel
// The block test takes the block's queries from the columns: the last is
// start + 63.
// CHECK:      %[[C15:.*]] = arith.constant 15 : index
// CHECK-NEXT: arith.addi %{{.*}}, %[[C15]] : index
// CHECK-NEXT: %[[C63:.*]] = arith.constant 63 : index
// CHECK-NEXT: arith.addi %[[START:.*]], %[[C63]] : index
// Per element: q_idx = start + the column, kv_idx the key row's.
// CHECK:      %[[Q:.*]] = arith.addi %[[START]], %{{[0-9]+}} : index
// CHECK-NEXT: %[[C256:.*]] = arith.constant 256 : index
// CHECK-NEXT: %[[D:.*]] = arith.subi %[[Q]], %[[KV:.*]] : index
// CHECK-NEXT: arith.cmpi slt, %[[D]], %[[C256]] : index
func.func @window_dkdv(%k: memref<?x?x?x64xf16>, %q: memref<?x?x?x64xf16>,
                         %dout: memref<?x?x?x64xf16>,
                         %dv: memref<?x?x?x64xf16>, %v: memref<?x?x?x64xf16>,
                         %dk: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                         %delta: memref<?x?x?xf32>) {
  flash.tiled %k, %q, %dout -> %dv
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
      captures(%v, %dk, %lse, %delta : memref<?x?x?x64xf16>,
               memref<?x?x?x64xf16>, memref<?x?x?xf32>, memref<?x?x?xf32>)
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
      %window = flash.mask_mod %st [%bh, %row, %start] seq(%seq_q, %seq_k) transposed : tensor<64x64xf32> {
      ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
        %c256 = arith.constant 256 : index
        %d = arith.subi %qi, %kv : index
        %in = arith.cmpi slt, %d, %c256 : index
        flash.yield %in : i1
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
