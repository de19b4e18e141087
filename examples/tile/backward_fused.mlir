// The whole backward as one tile program (FlashAttention-2's default): the
// dK/dV program of backward_dkdv.mlir, which also adds each block's
// dQ = (dSᵀ)ᵀ·K to an f32 dQ by atomics (flash.atomic_add_dot), instead of
// a second program recomputing the scores: five products a block instead
// of seven, in an order that depends on scheduling. dq_acc must be zero
// before the launch; dQ is it rounded to f16. Causal (top-left), head_dim
// 64, f16; scale 1/8.
func.func @backward_fused(%k: memref<?x?x?x64xf16>, %q: memref<?x?x?x64xf16>,
                         %dout: memref<?x?x?x64xf16>,
                         %dv: memref<?x?x?x64xf16>, %v: memref<?x?x?x64xf16>,
                         %dk: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                         %delta: memref<?x?x?xf32>,
                         %dq_acc: memref<?x?x?x64xf32>) {
  flash.tiled %k, %q, %dout -> %dv
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
      captures(%v, %dk, %lse, %delta, %dq_acc : memref<?x?x?x64xf16>,
               memref<?x?x?x64xf16>, memref<?x?x?xf32>, memref<?x?x?xf32>,
               memref<?x?x?x64xf32>)
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
      %masked = flash.mask %st row %row col %start limit %seq_q causal transposed : tensor<64x64xf32>
      %dpt = flash.dot %vt, %dot transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %lse_cols = flash.load_cols %lse[%bh, %start] : memref<?x?x?xf32> -> tensor<64xf32>
      %delta_cols = flash.load_cols %delta[%bh, %start] : memref<?x?x?xf32> -> tensor<64xf32>
      %dst, %pt = flash.grad_scores %masked, %dpt, %lse_cols, %delta_cols scale_log2e(0.180336878)
          scale(0.125) transposed
          : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>, tensor<64x64xf16>
      %dv1 = flash.dot %pt, %dot acc %dv_acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      %dk1 = flash.dot %dst, %qt acc %dk_acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.atomic_add_dot %dst, %kt, %dq_acc[%bh, %start]
          : tensor<64x64xf16>, tensor<64x64xf16> -> memref<?x?x?x64xf32>
      flash.yield %dk1, %dv1 : tensor<64x64xf32>, tensor<64x64xf32>
    }
    %dkt = arith.truncf %r#0 : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dkt, %dk[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
    %dvt = arith.truncf %r#1 : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dvt, %dv[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}
