// The backward's dQ program (backward_dq.mlir) computing its own row term
// D = rowsum(dO∘O) from dO and the forward's output O (a fourth capture),
// instead of reading one computed before it: flash.row_dot gives D for
// the program's rows, and flash.store_rows writes it to the `delta`
// capture for the dK/dV program (backward_dkdv.mlir), which runs after
// it and reads D per column as before. Causal (top-left), head_dim 64,
// f16; scale 1/8.
func.func @backward_dq_delta(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                       %v: memref<?x?x?x64xf16>, %dq: memref<?x?x?x64xf16>,
                       %dout: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                       %delta: memref<?x?x?xf32>, %out: memref<?x?x?x64xf16>) {
  flash.tiled %q, %k, %v -> %dq
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
      captures(%dout, %lse, %delta, %out : memref<?x?x?x64xf16>,
               memref<?x?x?xf32>, memref<?x?x?xf32>, memref<?x?x?x64xf16>)
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
    %delta_rows = flash.row_dot %dout, %out[%bh, %row] : memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> tensor<64xf32>
    flash.store_rows %delta_rows, %delta[%bh, %row] : tensor<64xf32> -> memref<?x?x?xf32>
    %acc0 = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = flash.kv_loop %k, %v [%bh] upper %upper init(%acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64x64xf32>
        -> tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>,
         %acc: tensor<64x64xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
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
