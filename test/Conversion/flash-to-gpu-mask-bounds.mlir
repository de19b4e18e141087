// A flash.kv_loop whose body has an affine flash.mask_mod skips the
// blocks the mask hides, as flash-expand-attention's bounds do for
// flash.attention: a query block's keys (the dQ program, a window of 256:
// from row - 255) or, transposed, a key block's queries (the dK/dV
// program: below row + 63 + 256). A mask whose coordinates change inside
// the loop, or whose result does not reach what the loop gives (here: the
// window computed but not used), leaves the loop's bounds as written.
// RUN: flashc-opt %s --flash-to-gpu | FileCheck %s

// CHECK-LABEL: gpu.func @window_dq_kernel
// CHECK:      %[[ROW:.*]] = arith.muli %{{.*}}, %c64{{.*}} : index
// CHECK:      %[[CM256:.*]] = arith.constant -256 : index
// CHECK-NEXT: %[[FROM:.*]] = arith.addi %[[CM256]], %[[ROW]] : index
// CHECK-NEXT: %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT: %[[FIRST:.*]] = arith.addi %[[FROM]], %[[C1]] : index
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[LOWER:.*]] = arith.maxsi %[[FIRST]], %[[C0]] : index
// The loop starts at the block holding key `lower`.
// CHECK:      arith.divui %[[LOWER]], %c64{{.*}} : index
// CHECK:      scf.for

// CHECK-LABEL: gpu.func @window_dkdv_bounded_kernel
// CHECK:      %[[SEQQ:.*]] = memref.dim %arg1, %c2{{.*}} : memref<?x?x?x64xf16>
// CHECK:      %[[C63:.*]] = arith.constant 63 : index
// CHECK-NEXT: %[[LAST:.*]] = arith.addi %{{.*}}, %[[C63]] : index
// CHECK-NEXT: %[[C256:.*]] = arith.constant 256 : index
// CHECK-NEXT: %[[END:.*]] = arith.addi %[[C256]], %[[LAST]] : index
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[MIN:.*]] = arith.minsi %[[SEQQ]], %[[END]] : index
// CHECK-NEXT: %[[UPPER:.*]] = arith.maxsi %[[MIN]], %[[C0]] : index
// CHECK:      arith.ceildivui %[[UPPER]], %c64{{.*}} : index
// CHECK:      scf.for

// CHECK-LABEL: gpu.func @seq_inside_loop_kernel
// CHECK-NOT:  arith.minsi
// CHECK:      scf.for

// CHECK-LABEL: gpu.func @window_unused_kernel
// CHECK-NOT:  arith.maxsi
// CHECK:      scf.for
func.func @window_dq(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                       %v: memref<?x?x?x64xf16>, %dq: memref<?x?x?x64xf16>,
                       %dout: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                       %delta: memref<?x?x?xf32>) {
  flash.tiled %q, %k, %v -> %dq
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
      captures(%dout, %lse, %delta : memref<?x?x?x64xf16>, memref<?x?x?xf32>,
               memref<?x?x?xf32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16>
        -> memref<?x?x?x64xf16> {
  ^bb0(%qblock: index, %bh: index):
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    %row = arith.muli %qblock, %c64 : index
    %seq_k = memref.dim %k, %c2 : memref<?x?x?x64xf16>
    %end = arith.addi %row, %c64 : index
    %upper = arith.minui %seq_k, %end : index
    %qt = flash.load_tile %q[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %dot = flash.load_tile %dout[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %lse_rows = flash.load_rows %lse[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    %delta_rows = flash.load_rows %delta[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    %acc0 = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = flash.kv_loop %k, %v [%bh] upper %upper init(%acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64x64xf32>
        -> tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>,
         %acc: tensor<64x64xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %window = flash.mask_mod %s [%bh, %row, %start] seq(%seq_k, %seq_k) : tensor<64x64xf32> {
      ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
        %c256 = arith.constant 256 : index
        %d = arith.subi %qi, %kv : index
        %in = arith.cmpi slt, %d, %c256 : index
        flash.yield %in : i1
      }
      %masked = flash.mask %window row %row col %start limit %seq_k causal : tensor<64x64xf32>
      %dp = flash.dot %dot, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %ds = flash.grad_scores %masked, %dp, %lse_rows, %delta_rows scale_log2e(0.180336878) scale(0.125)
          : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %acc1 = flash.dot %ds, %kt acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %acc1 : tensor<64x64xf32>
    }
    %dqt = arith.truncf %r : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dqt, %dq[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}

func.func @window_dkdv_bounded(%k: memref<?x?x?x64xf16>, %q: memref<?x?x?x64xf16>,
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
    %seq_k = memref.dim %k, %c2 : memref<?x?x?x64xf16>
    %kt = flash.load_tile %k[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %vt = flash.load_tile %v[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    %r:2 = flash.kv_loop %q, %dout [%bh] lower %row upper %seq_q init(%zero, %zero)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64x64xf32>,
          tensor<64x64xf32> -> tensor<64x64xf32>, tensor<64x64xf32> {
    ^bb0(%start: index, %qt: tensor<64x64xf16>, %dot: tensor<64x64xf16>,
         %dk_acc: tensor<64x64xf32>, %dv_acc: tensor<64x64xf32>):
      %st = flash.dot %kt, %qt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
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

func.func @seq_inside_loop(%k: memref<?x?x?x64xf16>, %q: memref<?x?x?x64xf16>,
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

func.func @window_unused(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                       %v: memref<?x?x?x64xf16>, %dq: memref<?x?x?x64xf16>,
                       %dout: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                       %delta: memref<?x?x?xf32>) {
  flash.tiled %q, %k, %v -> %dq
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
      captures(%dout, %lse, %delta : memref<?x?x?x64xf16>, memref<?x?x?xf32>,
               memref<?x?x?xf32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16>
        -> memref<?x?x?x64xf16> {
  ^bb0(%qblock: index, %bh: index):
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    %row = arith.muli %qblock, %c64 : index
    %seq_k = memref.dim %k, %c2 : memref<?x?x?x64xf16>
    %end = arith.addi %row, %c64 : index
    %upper = arith.minui %seq_k, %end : index
    %qt = flash.load_tile %q[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %dot = flash.load_tile %dout[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %lse_rows = flash.load_rows %lse[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    %delta_rows = flash.load_rows %delta[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    %acc0 = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = flash.kv_loop %k, %v [%bh] upper %upper init(%acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64x64xf32>
        -> tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>,
         %acc: tensor<64x64xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %window = flash.mask_mod %s [%bh, %row, %start] seq(%seq_k, %seq_k) : tensor<64x64xf32> {
      ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
        %c256 = arith.constant 256 : index
        %d = arith.subi %qi, %kv : index
        %in = arith.cmpi slt, %d, %c256 : index
        flash.yield %in : i1
      }
      %masked = flash.mask %s row %row col %start limit %seq_k causal : tensor<64x64xf32>
      %dp = flash.dot %dot, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %ds = flash.grad_scores %masked, %dp, %lse_rows, %delta_rows scale_log2e(0.180336878) scale(0.125)
          : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %acc1 = flash.dot %ds, %kt acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %acc1 : tensor<64x64xf32>
    }
    %dqt = arith.truncf %r : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dqt, %dq[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}
