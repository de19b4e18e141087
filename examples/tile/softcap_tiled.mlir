// A hand-written tile program with a softcap: the scores of each K/V block
// are scaled, capped at 30 with 30 · tanh(s / 30) by ordinary elementwise
// arith and math ops on the score tile, masked (key tail, causal) and fed
// to the online softmax. The log-sum-exp of each row is stored as well.
func.func @softcap_tiled(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                         %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>,
                         %lse: memref<?x?x?xf32>) {
  flash.tiled %q, %k, %v -> %o lse(%lse : memref<?x?x?xf32>)
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>)
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
    %m0 = arith.constant dense<0xFF800000> : tensor<64xf32>
    %l0 = arith.constant dense<0.0> : tensor<64xf32>
    %acc0 = arith.constant dense<0.0> : tensor<64x64xf32>
    %scale = arith.constant dense<0.125> : tensor<64x64xf32>
    %inv_cap = arith.constant dense<0.0333333351> : tensor<64x64xf32>
    %cap = arith.constant dense<30.0> : tensor<64x64xf32>
    %r:3 = flash.kv_loop %k, %v [%bh] upper %upper init(%m0, %l0, %acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>,
          tensor<64xf32>, tensor<64x64xf32>
        -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>,
         %m: tensor<64xf32>, %l: tensor<64xf32>, %acc: tensor<64x64xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %scaled = arith.mulf %s, %scale : tensor<64x64xf32>
      %x = arith.mulf %scaled, %inv_cap : tensor<64x64xf32>
      %t = math.tanh %x : tensor<64x64xf32>
      %capped = arith.mulf %t, %cap : tensor<64x64xf32>
      %masked = flash.mask %capped row %row col %start limit %seq_k causal : tensor<64x64xf32>
      %p, %m1, %l1, %alpha = flash.softmax_step %masked, %m, %l scale_log2e(1.44269502) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %acc1 = flash.rescale %acc, %alpha : tensor<64x64xf32>, tensor<64xf32>
      %acc2 = flash.dot %p, %vt acc %acc1 : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %m1, %l1, %acc2 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    flash.store_lse %r#0, %r#1, %lse[%bh, %row] : tensor<64xf32> -> memref<?x?x?xf32>
    %ot = flash.normalize %r#2, %r#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    flash.store_tile %ot, %o[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}
