// flash.grad_scores on scores through modifiers (the scale as an
// elementwise multiply, then a softcap score_mod, then the causal mask, as
// flash-expand-attention writes the forward): p is recomputed from the
// modified score, and dS goes back through the modifiers' derivative,
// generated as IR by forward-mode differentiation (ScoreTangents.h):
// d/ds [20 tanh(s/8/20)] = (1/8)(1/20)·20·(1 - tanh²). A modifier with no
// derivative rule is refused, naming the op.
// RUN: flashc-opt %s --flash-to-gpu --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: gpu.func @softcap_dq_kernel
// The element's chain, each step with its derivative beside it: the
// scale, the division by the cap (a product, after FastMath), tanh (from
// ex2 and rcp) with 1 - t², the cap again.
// CHECK:      %[[S:.*]] = arith.mulf %{{.*}}, %[[SCALE:.*]] : f32
// CHECK-NEXT: %[[DS:.*]] = arith.mulf %{{.*}}, %[[SCALE]] : f32
// CHECK:      %[[X:.*]] = arith.mulf %[[S]], %{{.*}} : f32
// CHECK-NEXT: %[[INV:.*]] = arith.constant 5.000000e-02 : f32
// CHECK-NEXT: %[[DX:.*]] = arith.mulf %[[DS]], %[[INV]] : f32
// CHECK:      llvm.call_intrinsic "llvm.nvvm.rcp.approx.ftz.f"
// CHECK:      %[[T:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[T2:.*]] = arith.mulf %[[T]], %[[T]] : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[ONE]], %[[T2]] : f32
// CHECK-NEXT: %[[DT:.*]] = arith.mulf %[[DX]], %[[D]] : f32
// CHECK-NEXT: %[[Y:.*]] = arith.mulf %[[T]], %[[CAP:.*]] : f32
// CHECK-NEXT: %[[DY:.*]] = arith.mulf %[[DT]], %[[CAP]] : f32
// The causal mask hides the score and zeroes its derivative.
// CHECK:      %[[HIDE:.*]] = arith.ori
// CHECK:      %[[MY:.*]] = arith.select %[[HIDE]], %{{.*}}, %[[Y]] : f32
// CHECK:      %[[MDY:.*]] = arith.select %[[HIDE]], %{{.*}}, %[[DY]] : f32
// p from the modified score; dS = p · (dP - D) · derivative.
// CHECK:      %[[E:.*]] = llvm.intr.fma(%[[MY]], %{{.*}}, %{{.*}})
// CHECK-NEXT: %[[P:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%[[E]])
// CHECK-NEXT: %[[DIFF:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[CHAIN:.*]] = arith.mulf %[[DIFF]], %[[MDY]] : f32
// CHECK-NEXT: arith.mulf %[[P]], %[[CHAIN]] : f32
func.func @softcap_dq(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                      %v: memref<?x?x?x64xf16>, %dq: memref<?x?x?x64xf16>,
                      %dout: memref<?x?x?x64xf16>, %lse: memref<?x?x?xf32>,
                      %delta: memref<?x?x?xf32>) {
  %scale = arith.constant dense<0.125> : tensor<64x64xf32>
  flash.tiled %q, %k, %v -> %dq
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
      captures(%dout, %lse, %delta : memref<?x?x?x64xf16>, memref<?x?x?xf32>, memref<?x?x?xf32>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
  ^bb0(%qblock: index, %bh: index):
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    %row = arith.muli %qblock, %c64 : index
    %seq_q = memref.dim %q, %c2 : memref<?x?x?x64xf16>
    %seq_k = memref.dim %k, %c2 : memref<?x?x?x64xf16>
    %qt = flash.load_tile %q[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %dot = flash.load_tile %dout[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    %lse_rows = flash.load_rows %lse[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    %delta_rows = flash.load_rows %delta[%bh, %row] : memref<?x?x?xf32> -> tensor<64xf32>
    %acc0 = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = flash.kv_loop %k, %v [%bh] upper %seq_k init(%acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %scaled = arith.mulf %s, %scale : tensor<64x64xf32>
      %capped = flash.score_mod %scaled [%bh, %row, %start] seq(%seq_q, %seq_k) : tensor<64x64xf32> {
      ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
        %cap = arith.constant 20.0 : f32
        %d = arith.divf %x, %cap : f32
        %t = math.tanh %d : f32
        %y = arith.mulf %t, %cap : f32
        flash.yield %y : f32
      }
      %masked = flash.mask %capped row %row col %start limit %seq_k causal : tensor<64x64xf32>
      %dp = flash.dot %dot, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %ds = flash.grad_scores %masked, %dp, %lse_rows, %delta_rows scale_log2e(1.44269502) scale(1.0)
          : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %acc1 = flash.dot %ds, %kt acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %acc1 : tensor<64x64xf32>
    }
    %dqt = arith.truncf %r : tensor<64x64xf32> to tensor<64x64xf16>
    flash.store_tile %dqt, %dq[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}

// -----

// math.erf has no derivative rule: the backward refuses it by name.
func.func @erf_dq(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%lse : memref<1x1x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %rows = flash.load_rows %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<64xf32>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %d = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %e = flash.score_mod %d [%bh, %c0, %s] seq(%c64, %c64) : tensor<64x64xf32> {
      ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
        %y = math.erf %x : f32
        flash.yield %y : f32
      }
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      // expected-error @+1 {{flash-to-gpu: cannot differentiate 'math.erf' in a score modifier (no derivative rule for it)}}
      %ds = flash.grad_scores %e, %dp, %rows, %rows scale_log2e(1.44269502) scale(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// The modifiers' derivative needs mma_sync's element visit (wgmma shares
// it); WMMA's fragments are opaque.
func.func @softcap_wmma(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) captures(%lse : memref<1x1x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %rows = flash.load_rows %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<64xf32>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %d = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %e = flash.score_mod %d [%bh, %c0, %s] seq(%c64, %c64) : tensor<64x64xf32> {
      ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
        %y = math.tanh %x : f32
        flash.yield %y : f32
      }
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      // expected-error @+1 {{flash-to-gpu: the derivative of score modifiers needs strategy mma_sync or wgmma}}
      %ds = flash.grad_scores %e, %dp, %rows, %rows scale_log2e(1.44269502) scale(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}
