// RUN: flashc-opt %s --flash-to-gpu --split-input-file --verify-diagnostics

// Outside the K/V loop only Q and captured tensors are loaded.
func.func @load_k_outside(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %alias = memref.cast %q : memref<1x1x64x64xf16> to memref<1x1x64x64xf16>
    // expected-error @+1 {{flash-to-gpu: outside flash.kv_loop only Q and captured tensors are loaded}}
    %t = flash.load_tile %alias[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
  }
  return
}

// -----

// A dot whose rhs is not a K/V tile of the loop has no mapping.
func.func @dot_of_q(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: rhs must be a K or V tile of the enclosing flash.kv_loop}}
    %s = flash.dot %t, %t transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  }
  return
}

// -----

// flash.attention is expanded to the tile level by another pass first.
func.func @unexpanded(%q: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{flash-to-gpu: expand to the tile level first (--flash-expand-attention)}}
  flash.attention %q, %q, %q -> %q : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Only flash tile ops may take or give tensors inside flash.tiled.
func.func @tensor_arith(%q: memref<1x1x64x64xf16>) {
  %z = arith.constant dense<0.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: not supported inside flash.tiled}}
    %n = arith.negf %z : tensor<64xf32>
  }
  return
}

// -----

// The Q tile has block_m rows.
func.func @q_rows(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: the Q tile must have block_m = 64 rows}}
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<32x64xf16>
  }
  return
}

// -----

// The K/V loop carries only row vectors and accumulators, not the Q tile.
func.func @carried_q(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: a loop-carried value must be a row vector or an accumulator}}
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%t) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf16> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %a: tensor<64x64xf16>):
      flash.yield %a : tensor<64x64xf16>
    }
  }
  return
}

// -----

// A dot's lhs is Q or probabilities, not a K tile.
func.func @dot_of_k(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    flash.kv_loop %q, %q[%bh] upper %c64 init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
      // expected-error @+1 {{flash-to-gpu: lhs must be the Q tile or the probabilities of a flash.softmax_step}}
      %d = flash.dot %kt, %vt : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    }
  }
  return
}

// -----

// A dot's acc is an accumulator, not a constant.
func.func @dot_acc_constant(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    flash.kv_loop %q, %q[%bh] upper %c64 init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
      // expected-error @+1 {{flash-to-gpu: acc must be an accumulator (loop-carried or rescaled)}}
      %d = flash.dot %t, %kt transpose_rhs acc %z : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    }
  }
  return
}

// -----

// flash.mask masks the scores of a dot, not a constant.
func.func @mask_constant(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: scores must come from a flash.dot without acc}}
    %m = flash.mask %z row %c0 col %c0 limit %c0 : tensor<64x64xf32>
  }
  return
}

// -----

// flash.softmax_step takes the scores of a dot, not a constant.
func.func @softmax_constant_scores(%q: memref<1x1x64x64xf16>) {
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %r = arith.constant dense<0.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: scores must come from flash.dot (optionally through flash.mask)}}
    %p, %mo, %so, %al = flash.softmax_step %z, %r, %r scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  }
  return
}

// -----

// flash.softmax_step's max and sum are carried by the K/V loop.
func.func @softmax_constant_rows(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %r = arith.constant dense<0.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    flash.kv_loop %q, %q[%bh] upper %c64 init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
      %d = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      // expected-error @+1 {{flash-to-gpu: max and sum must be loop-carried row vectors}}
      %p, %mo, %so, %al = flash.softmax_step %d, %r, %r scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    }
  }
  return
}

// -----

// flash.rescale scales an accumulator, not a constant.
func.func @rescale_constant(%q: memref<1x1x64x64xf16>) {
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %r = arith.constant dense<1.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: rescale needs an accumulator and row factors}}
    %a = flash.rescale %z, %r : tensor<64x64xf32>, tensor<64xf32>
  }
  return
}

// -----

// flash.normalize divides an accumulator, not a constant.
func.func @normalize_constant(%q: memref<1x1x64x64xf16>) {
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %r = arith.constant dense<1.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: normalize needs an accumulator and row sums}}
    %o = flash.normalize %z, %r : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  }
  return
}

// -----

// With kv_splits > 1 the merge needs the row max: the sum must come from a
// flash.softmax_step whose max the loop also carries.
func.func @split_without_max(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %l = arith.constant dense<0.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %r:2 = flash.kv_loop %q, %q[%bh] upper %c64 init(%l, %z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %sum: tensor<64xf32>, %acc: tensor<64x64xf32>):
      flash.yield %sum, %acc : tensor<64xf32>, tensor<64x64xf32>
    }
    // expected-error @+1 {{flash-to-gpu: kv_splits > 1 needs the row max of a flash.softmax_step carried by the K/V loop}}
    %o = flash.normalize %r#1, %r#0 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  }
  return
}

// -----

// With kv_splits > 1 the split workspace holds a block_m x head_dim
// accumulator: a 64x32 one at head_dim 64 cannot be merged.
func.func @split_narrow_acc(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x32xf32>
  %m = arith.constant dense<0xFF800000> : tensor<64xf32>
  %l = arith.constant dense<0.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %r:3 = flash.kv_loop %q, %q[%bh] upper %c64 init(%m, %l, %z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x32xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x32xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %max: tensor<64xf32>, %sum: tensor<64xf32>, %acc: tensor<64x32xf32>):
      %d = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %p, %mo, %so, %al = flash.softmax_step %d, %max, %sum scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      flash.yield %mo, %so, %acc : tensor<64xf32>, tensor<64xf32>, tensor<64x32xf32>
    }
    // expected-error @+1 {{flash-to-gpu: kv_splits > 1 needs a block_m x head_dim mma_sync accumulator}}
    %o = flash.normalize %r#2, %r#1 : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xf16>
  }
  return
}

// -----

// Only an accumulator is stored, not the Q tile.
func.func @store_q_tile(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: the stored tile must be an accumulator}}
    flash.store_tile %t, %q[%bh, %c0] : tensor<64x64xf16> -> memref<1x1x64x64xf16>
  }
  return
}

// -----

// The output goes to O, not to another operand.
func.func @store_to_q(%q: memref<1x1x64x64xf16>, %out: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %l = arith.constant dense<1.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %out config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %r:2 = flash.kv_loop %q, %q[%bh] upper %c64 init(%l, %z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %sum: tensor<64xf32>, %acc: tensor<64x64xf32>):
      flash.yield %sum, %acc : tensor<64xf32>, tensor<64x64xf32>
    }
    %o = flash.normalize %r#1, %r#0 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: only O or a capture is stored}}
    flash.store_tile %o, %q[%bh, %c0] : tensor<64x64xf16> -> memref<1x1x64x64xf16>
  }
  return
}

// -----

// Q is loaded before the K/V loop starts copying K and V.
func.func @loop_before_q(%q: memref<1x1x64x64xf16>) {
  %c64 = arith.constant 64 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: the Q tile must be loaded before the K/V loop}}
    flash.kv_loop %q, %q[%bh] upper %c64 init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
    }
  }
  return
}

// -----

// mma_sync starts accumulators at zero.
func.func @mma_nonzero_init(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant dense<1.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: accumulator inits must be zero}}
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%one) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// wmma accumulators have whole 16-column tiles: 8 columns is not one.
func.func @wmma_acc_cols(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x8xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: accumulator must be block_m x 16·n}}
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x8xf32> -> tensor<64x8xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x8xf32>):
      flash.yield %acc : tensor<64x8xf32>
    }
  }
  return
}


// -----

// wgmma's descriptors name K-major K for Q·Kᵀ: Q times an untransposed
// tile (which the dialect allows, and mma_sync lowers) is refused.
func.func @wgmma_q_untransposed(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    flash.kv_loop %q, %q[%bh] upper %c64 init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
      // expected-error @+1 {{flash-to-gpu: wgmma multiplies Q by a transposed K/V tile (Q·Kᵀ) or probabilities by an untransposed one (P·V), not Q by an untransposed one}}
      %d = flash.dot %t, %vt : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    }
  }
  return
}

// -----

// ... and probabilities times a transposed tile: its descriptors name
// MN-major V for P·V.
func.func @wgmma_p_transposed(%arg0: memref<1x1x64x64xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<64xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c64 = arith.constant 64 : index
  flash.tiled %arg0, %arg0, %arg0 -> %arg0 config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%arg1: index, %arg2: index):
    %0 = arith.muli %arg1, %c64 : index
    %1 = flash.load_tile %arg0[%arg2, %0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %2:3 = flash.kv_loop %arg0, %arg0[%arg2] upper %c64 init(%cst_1, %cst_0, %cst) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%arg3: index, %arg4: tensor<64x64xf16>, %arg5: tensor<64x64xf16>, %arg6: tensor<64xf32>, %arg7: tensor<64xf32>, %arg8: tensor<64x64xf32>):
      %4 = flash.dot %1, %arg4 transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %5 = flash.mask %4 row %0 col %arg3 limit %c64 : tensor<64x64xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg6, %arg7 scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %6 = flash.rescale %arg8, %alpha : tensor<64x64xf32>, tensor<64xf32>
      // expected-error @+1 {{flash-to-gpu: wgmma multiplies Q by a transposed K/V tile (Q·Kᵀ) or probabilities by an untransposed one (P·V), not probabilities by a transposed one}}
      %7 = flash.dot %probs, %arg5 transpose_rhs acc %6 : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    %3 = flash.normalize %2#2, %2#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    flash.store_tile %3, %arg0[%arg2, %0] : tensor<64x64xf16> -> memref<1x1x64x64xf16>
  }
  return
}

// -----

// A producer warpgroup copies for one K/V loop and then exits: a second
// loop would wait for copies that never come.
func.func @producer_two_loops(%arg0: memref<1x2x300x128xf16>, %arg1: memref<1x2x300x128xf16>, %arg2: memref<1x2x300x128xf16>, %arg3: memref<1x2x300x128xf16>) {
  %cst = arith.constant dense<0.000000e+00> : tensor<128x128xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<128xf32>
  %cst_1 = arith.constant dense<0xFF800000> : tensor<128xf32>
  %c300 = arith.constant 300 : index
  %c128 = arith.constant 128 : index
  flash.tiled %arg0, %arg1, %arg2 -> %arg3 config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) : memref<1x2x300x128xf16>, memref<1x2x300x128xf16>, memref<1x2x300x128xf16> -> memref<1x2x300x128xf16> {
  ^bb0(%arg4: index, %arg5: index):
    %0 = arith.muli %arg4, %c128 : index
    %1 = flash.load_tile %arg0[%arg5, %0] : memref<1x2x300x128xf16> -> tensor<128x128xf16>
    %2:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %c300 init(%cst_1, %cst_0, %cst) : memref<1x2x300x128xf16>, memref<1x2x300x128xf16>, tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32> -> tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32> {
    ^bb0(%arg6: index, %arg7: tensor<64x128xf16>, %arg8: tensor<64x128xf16>, %arg9: tensor<128xf32>, %arg10: tensor<128xf32>, %arg11: tensor<128x128xf32>):
      %4 = flash.dot %1, %arg7 transpose_rhs : tensor<128x128xf16>, tensor<64x128xf16> -> tensor<128x64xf32>
      %5 = flash.mask %4 row %0 col %arg6 limit %c300 : tensor<128x64xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg9, %arg10 scale_log2e(0.127517432) : tensor<128x64xf32>, tensor<128xf32> -> tensor<128x64xf16>
      %6 = flash.rescale %arg11, %alpha : tensor<128x128xf32>, tensor<128xf32>
      %7 = flash.dot %probs, %arg8 acc %6 : tensor<128x64xf16>, tensor<64x128xf16>, tensor<128x128xf32> -> tensor<128x128xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32>
    }
    // expected-error @+1 {{'flash.kv_loop' op flash-to-gpu: a producer warpgroup serves one K/V loop (policy prefetch = producer or tma)}}
    %second:3 = flash.kv_loop %arg1, %arg2[%arg5] upper %c300 init(%cst_1, %cst_0, %cst) : memref<1x2x300x128xf16>, memref<1x2x300x128xf16>, tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32> -> tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32> {
    ^bb0(%arg6: index, %arg7: tensor<64x128xf16>, %arg8: tensor<64x128xf16>, %arg9: tensor<128xf32>, %arg10: tensor<128xf32>, %arg11: tensor<128x128xf32>):
      %4 = flash.dot %1, %arg7 transpose_rhs : tensor<128x128xf16>, tensor<64x128xf16> -> tensor<128x64xf32>
      %5 = flash.mask %4 row %0 col %arg6 limit %c300 : tensor<128x64xf32>
      %probs, %max_out, %sum_out, %alpha = flash.softmax_step %5, %arg9, %arg10 scale_log2e(0.127517432) : tensor<128x64xf32>, tensor<128xf32> -> tensor<128x64xf16>
      %6 = flash.rescale %arg11, %alpha : tensor<128x128xf32>, tensor<128xf32>
      %7 = flash.dot %probs, %arg8 acc %6 : tensor<128x64xf16>, tensor<64x128xf16>, tensor<128x128xf32> -> tensor<128x128xf32>
      flash.yield %max_out, %sum_out, %7 : tensor<128xf32>, tensor<128xf32>, tensor<128x128xf32>
    }
    %3 = flash.normalize %2#2, %2#1 : tensor<128x128xf32>, tensor<128xf32> -> tensor<128x128xf16>
    flash.store_tile %3, %arg3[%arg5, %0] : tensor<128x128xf16> -> memref<1x2x300x128xf16>
  }
  return
}

// -----

// A tile of a capture kept for the program (the backward's dO) needs
// mma_sync or wgmma.
func.func @capture_tile_wmma(%q: memref<1x1x64x64xf16>, %d: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) captures(%d : memref<1x1x64x64xf16>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: a tile besides Q kept for the whole program needs strategy mma_sync or wgmma}}
    %t = flash.load_tile %d[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
  }
  return
}

// -----

// The producer ring has no copy for a second kept tile: every thread must
// copy (wgmma's default with 8 warps is a TMA producer).
func.func @capture_tile_producer(%q: memref<1x1x128x64xf16>, %d: memref<1x1x128x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) captures(%d : memref<1x1x128x64xf16>) : memref<1x1x128x64xf16>, memref<1x1x128x64xf16>, memref<1x1x128x64xf16> -> memref<1x1x128x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: a tile besides Q kept for the whole program needs every thread copying (prefetch = after_barrier or after_first_dot), not a producer warpgroup}}
    %t = flash.load_tile %d[%bh, %c0] : memref<1x1x128x64xf16> -> tensor<128x64xf16>
  }
  return
}

// -----

// flash.load_rows gives one value per row of the program's block.
func.func @load_rows_short(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%lse : memref<1x1x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: the rows must be block_m = 64}}
    %r = flash.load_rows %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<32xf32>
  }
  return
}

// -----

// flash.row_dot gives one value per row of the program's block.
func.func @row_dot_short(%q: memref<1x1x64x64xf16>, %o: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%o : memref<1x1x64x64xf16>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: the rows must be block_m = 64}}
    %r = flash.row_dot %o, %o[%bh, %c0] : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> tensor<32xf32>
  }
  return
}

// -----

// Its quad sums need four lanes a row: not WMMA's layout.
func.func @row_dot_wmma(%q: memref<1x1x64x64xf16>, %o: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) captures(%o : memref<1x1x64x64xf16>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: flash.row_dot needs strategy mma_sync or wgmma}}
    %r = flash.row_dot %o, %o[%bh, %c0] : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> tensor<64xf32>
  }
  return
}

// -----

// A producer warpgroup's threads own no rows.
func.func @row_dot_producer(%q: memref<1x1x128x64xf16>, %o: memref<1x1x128x64xf16>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) captures(%o : memref<1x1x128x64xf16>) : memref<1x1x128x64xf16>, memref<1x1x128x64xf16>, memref<1x1x128x64xf16> -> memref<1x1x128x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: flash.row_dot needs every thread computing, not a producer warpgroup}}
    %r = flash.row_dot %o, %o[%bh, %c0] : memref<1x1x128x64xf16>, memref<1x1x128x64xf16> -> tensor<128xf32>
  }
  return
}

// -----

func.func @store_rows_producer(%q: memref<1x1x128x64xf16>, %l: memref<1x1x128xf32>, %d: memref<1x1x128xf32>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) captures(%l, %d : memref<1x1x128xf32>, memref<1x1x128xf32>) : memref<1x1x128x64xf16>, memref<1x1x128x64xf16>, memref<1x1x128x64xf16> -> memref<1x1x128x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %r = flash.load_rows %l[%bh, %c0] : memref<1x1x128xf32> -> tensor<128xf32>
    // expected-error @+1 {{flash-to-gpu: flash.store_rows needs every thread computing, not a producer warpgroup}}
    flash.store_rows %r, %d[%bh, %c0] : tensor<128xf32> -> memref<1x1x128xf32>
  }
  return
}

// -----

// flash.store_rows stores rows the program computed or loaded.
func.func @store_rows_constant(%q: memref<1x1x64x64xf16>, %d: memref<1x1x64xf32>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%d : memref<1x1x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %r = arith.constant dense<1.0> : tensor<64xf32>
    // expected-error @+1 {{flash-to-gpu: the rows must come from flash.load_rows or flash.row_dot}}
    flash.store_rows %r, %d[%bh, %c0] : tensor<64xf32> -> memref<1x1x64xf32>
  }
  return
}

// -----

// flash.grad_scores reads the rows of flash.load_rows, not constants.
func.func @grad_scores_constant_rows(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %rows = arith.constant dense<0.0> : tensor<64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %d = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      // expected-error @+1 {{flash-to-gpu: lse and delta must come from flash.load_rows}}
      %ds = flash.grad_scores %d, %dp, %rows, %rows scale_log2e(0.180336878) scale(0.125) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// dP is a fresh product, not an accumulator.
func.func @grad_scores_dp_acc(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
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
      // expected-error @+1 {{flash-to-gpu: dp must come from a flash.dot without acc}}
      %ds = flash.grad_scores %d, %acc, %rows, %rows scale_log2e(0.180336878) scale(0.125) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// With kv_splits > 1 each split holds part of the loop: only
// flash.normalize's merged accumulator is stored.
func.func @store_split_loop_acc(%q: memref<1x1x64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %d = flash.dot %t, %kt transpose_rhs acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %d : tensor<64x64xf32>
    }
    %o = arith.truncf %r : tensor<64x64xf32> to tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: with kv_splits > 1 the stored accumulator must come from flash.normalize}}
    flash.store_tile %o, %q[%bh, %c0] : tensor<64x64xf16> -> memref<1x1x64x64xf16>
  }
  return
}

// -----

// flash.load_cols gives one value per column of the loop's block.
func.func @load_cols_short(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%lse : memref<1x1x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: the columns must be block_n = 64}}
    %r = flash.load_cols %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<32xf32>
  }
  return
}

// -----

// Only mma_sync says which columns a lane holds.
func.func @load_cols_wmma(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) captures(%lse : memref<1x1x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{flash-to-gpu: column values need the mma_sync strategy}}
    %r = flash.load_cols %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<64xf32>
  }
  return
}

// -----

// Transposed scores read their queries' terms per column.
func.func @grad_scores_transposed_rows(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>) {
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
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      // expected-error @+1 {{flash-to-gpu: lse and delta must come from flash.load_cols}}
      %ds = flash.grad_scores %d, %dp, %rows, %rows scale_log2e(0.180336878) scale(0.125) transposed : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// flash.atomic_add_dot's lhs is the scores' gradient (its fragments are
// the probabilities' form).
func.func @atomic_add_dot_lhs(%q: memref<1x1x64x64xf16>, %dq: memref<1x1x64x64xf32>) {
  %c0 = arith.constant 0 : index
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%dq : memref<1x1x64x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    // expected-error @+1 {{flash-to-gpu: lhs must come from flash.grad_scores}}
    flash.atomic_add_dot %t, %t, %dq[%bh, %c0] : tensor<64x64xf16>, tensor<64x64xf16> -> memref<1x1x64x64xf32>
  }
  return
}

// -----

// Its rhs is kept for the whole program, not a tile of the loop.
func.func @atomic_add_dot_rhs(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>, %dq: memref<1x1x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) captures(%lse, %dq : memref<1x1x64xf32>, memref<1x1x64x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %rows = flash.load_rows %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<64xf32>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %st = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %ds = flash.grad_scores %st, %dp, %rows, %rows scale_log2e(0.180336878) scale(0.125) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      // expected-error @+1 {{flash-to-gpu: rhs must be a tile loaded for the whole program (a flash.load_tile outside the flash.kv_loop)}}
      flash.atomic_add_dot %ds, %kt, %dq[%bh, %s] : tensor<64x64xf16>, tensor<64x64xf16> -> memref<1x1x64x64xf32>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// mma_sync lowers it; wmma does not.
func.func @atomic_add_dot_wmma(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>, %dq: memref<1x1x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) captures(%lse, %dq : memref<1x1x64xf32>, memref<1x1x64x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %rows = flash.load_rows %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<64xf32>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %st = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %ds = flash.grad_scores %st, %dp, %rows, %rows scale_log2e(0.180336878) scale(0.125) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      // expected-error @+1 {{flash-to-gpu: needs the mma_sync strategy}}
      flash.atomic_add_dot %ds, %t, %dq[%bh, %s] : tensor<64x64xf16>, tensor<64x64xf16> -> memref<1x1x64x64xf32>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}

// -----

// Nor wgmma: mma_sync's staging reads the kept tile in mma_sync's layout,
// which wgmma's 64-column blocks do not share.
func.func @atomic_add_dot_wgmma(%q: memref<1x1x64x64xf16>, %lse: memref<1x1x64xf32>, %dq: memref<1x1x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) captures(%lse, %dq : memref<1x1x64xf32>, memref<1x1x64x64xf32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %q[%bh, %c0] : memref<1x1x64x64xf16> -> tensor<64x64xf16>
    %rows = flash.load_rows %lse[%bh, %c0] : memref<1x1x64xf32> -> tensor<64xf32>
    %r = flash.kv_loop %q, %q[%bh] upper %c64 init(%z) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
    ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %acc: tensor<64x64xf32>):
      %st = flash.dot %t, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %dp = flash.dot %t, %vt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %ds = flash.grad_scores %st, %dp, %rows, %rows scale_log2e(0.180336878) scale(0.125) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      // expected-error @+1 {{flash-to-gpu: flash.atomic_add_dot needs strategy mma_sync}}
      flash.atomic_add_dot %ds, %t, %dq[%bh, %s] : tensor<64x64xf16>, tensor<64x64xf16> -> memref<1x1x64x64xf32>
      flash.yield %acc : tensor<64x64xf32>
    }
  }
  return
}
