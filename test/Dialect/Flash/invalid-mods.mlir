// RUN: flashc-opt %s --split-input-file --verify-diagnostics

// Verifier rules of modifiers (score_mod, mask_mod, captures), the causal
// alignment and the log-sum-exp output: one chunk per rule.

// A score_mod without the seq_q, seq_k arguments.
func.func @score_mod_arguments(%m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op score_mod must take (score: f32, batch, head, q_idx, kv_idx, seq_q, seq_k: index) and one argument per capture, i.e. 7 arguments, got 5}}
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index):
    flash.yield %s : f32
  }
  return
}

// -----

// The score is f32, not f16.
func.func @score_mod_score_type(%m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op score_mod argument #0 must be 'f32', got 'f16'}}
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f16, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %x = arith.extf %s : f16 to f32
    flash.yield %x : f32
  }
  return
}

// -----

// A coordinate is an index.
func.func @mask_mod_index(%m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op mask_mod argument #2 must be 'index', got 'i32'}}
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: i32, %kv: index, %sq: index, %sk: index):
    %t = arith.constant true
    flash.yield %t : i1
  }
  return
}

// -----

// A capture's argument has the capture's type.
func.func @capture_argument(%m: memref<1x2x64x64xf16>, %slopes: memref<2xf32>) {
  // expected-error @+1 {{'flash.attention' op score_mod argument #7 must be 'memref<2xf32>' (the capture's type), got 'memref<4xf32>'}}
  flash.attention %m, %m, %m -> %m captures(%slopes : memref<2xf32>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %t: memref<4xf32>):
    flash.yield %s : f32
  }
  return
}

// -----

// A mask_mod yields an i1.
func.func @mask_mod_yield(%m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op mask_mod must end with flash.yield of one 'i1'}}
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %x = arith.constant 1.0 : f32
    flash.yield %x : f32
  }
  return
}

// -----

// A score_mod yields an f32.
func.func @score_mod_yield(%m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op score_mod must end with flash.yield of one 'f32'}}
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    flash.yield %s, %s : f32, f32
  }
  return
}

// -----

// Writing memory is not allowed.
func.func @mod_store(%m: memref<1x2x64x64xf16>, %t: memref<2xf32>) {
  flash.attention %m, %m, %m -> %m captures(%t : memref<2xf32>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %tt: memref<2xf32>):
    // expected-error @+1 {{'memref.store' op is not allowed in score_mod: it may hold only pure scalar arith and math ops and memref.load from captured memrefs}}
    memref.store %s, %tt[%h] : memref<2xf32>
    flash.yield %s : f32
  }
  return
}

// -----

// Ops of other dialects are not allowed either.
func.func @mod_other_dialect(%m: memref<1x2x64x64xf16>) {
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %p = arith.cmpi eq, %b, %h : index
    // expected-error @+1 {{'scf.if' op is not allowed in mask_mod}}
    %c = scf.if %p -> i1 { %t = arith.constant true
      scf.yield %t : i1 } else { %f = arith.constant false
      scf.yield %f : i1 }
    flash.yield %c : i1
  }
  return
}

// -----

// Tensor arithmetic is not scalar.
func.func @mod_tensor(%m: memref<1x2x64x64xf16>) {
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    // expected-error @+1 {{'arith.constant' op is not allowed in score_mod}}
    %t = arith.constant dense<1.0> : tensor<4xf32>
    flash.yield %s : f32
  }
  return
}

// -----

// A value from outside must come in as a capture.
func.func @mod_from_above(%m: memref<1x2x64x64xf16>, %cap: f32) {
  // expected-note @+1 {{required by region isolation constraints}}
  flash.attention %m, %m, %m -> %m : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    // expected-error @+1 {{'arith.mulf' op using value defined outside the region}}
    %y = arith.mulf %s, %cap : f32
    flash.yield %y : f32
  }
  return
}

// -----

// Captures are memrefs or scalars.
func.func @capture_tensor(%m: memref<1x2x64x64xf16>, %t: tensor<2xf32>) {
  // expected-error @+1 {{'flash.attention' op capture #0 must be a memref or an index, integer or float scalar, got 'tensor<2xf32>'}}
  flash.attention %m, %m, %m -> %m captures(%t : tensor<2xf32>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// A captured memref is row-major.
func.func @capture_strided(%m: memref<1x2x64x64xf16>, %t: memref<2xf32, strided<[2]>>) {
  // expected-error @+1 {{'flash.attention' op capture #0 must be a row-major memref in global (default) memory, got 'memref<2xf32, strided<[2]>>'}}
  flash.attention %m, %m, %m -> %m captures(%t : memref<2xf32, strided<[2]>>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// A captured memref holds scalars.
func.func @capture_vector(%m: memref<1x2x64x64xf16>, %t: memref<2xvector<2xf32>>) {
  // expected-error @+1 {{'flash.attention' op capture #0 must hold index, integer or float elements, got 'memref<2xvector<2xf32>>'}}
  flash.attention %m, %m, %m -> %m captures(%t : memref<2xvector<2xf32>>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// bottom_right aligns a causal mask.
func.func @bottom_right_alone(%m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op bottom_right is the alignment of a causal mask: it needs causal}}
  flash.attention %m, %m, %m -> %m bottom_right : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// The log-sum-exp is f32.
func.func @lse_type(%m: memref<1x2x64x64xf16>, %l: memref<1x2x64xf16>) {
  // expected-error @+1 {{'flash.attention' op lse must be an f32 memref [batch, heads, seq_q], got 'memref<1x2x64xf16>'}}
  flash.attention %m, %m, %m -> %m lse(%l : memref<1x2x64xf16>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// One log-sum-exp per query row.
func.func @lse_rows(%m: memref<1x2x64x64xf16>, %l: memref<1x2x32xf32>) {
  // expected-error @+1 {{'flash.attention' op lse seq 32 differs from Q's 64}}
  flash.attention %m, %m, %m -> %m lse(%l : memref<1x2x32xf32>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// The log-sum-exp is row-major.
func.func @lse_layout(%m: memref<1x2x64x64xf16>, %l: memref<1x2x64xf32, strided<[256, 128, 2]>>) {
  // expected-error @+1 {{'flash.attention' op lse must be row-major in global (default) memory}}
  flash.attention %m, %m, %m -> %m lse(%l : memref<1x2x64xf32, strided<[256, 128, 2]>>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}

// -----

// Tile level: a diagonal shifts a causal mask.
func.func @mask_diagonal(%s: tensor<64x64xf32>, %i: index) -> tensor<64x64xf32> {
  // expected-error @+1 {{'flash.mask' op diagonal shifts the causal mask: it needs causal}}
  %r = flash.mask %s row %i col %i limit %i diagonal %i : tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// Tile level: modifier scores are f32.
func.func @score_mod_f16(%s: tensor<64x64xf16>, %i: index) -> tensor<64x64xf16> {
  // expected-error @+1 {{'flash.score_mod' op scores must be f32}}
  %r = flash.score_mod %s [%i, %i, %i] seq(%i, %i) : tensor<64x64xf16> {
  ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    flash.yield %x : f32
  }
  return %r : tensor<64x64xf16>
}

// -----

// Tile level: the mask_mod region follows the same rules.
func.func @mask_mod_tile(%s: tensor<64x64xf32>, %i: index) -> tensor<64x64xf32> {
  // expected-error @+1 {{'flash.mask_mod' op mask_mod must take (batch, head, q_idx, kv_idx, seq_q, seq_k: index) and one argument per capture, i.e. 6 arguments, got 4}}
  %r = flash.mask_mod %s [%i, %i, %i] seq(%i, %i) : tensor<64x64xf32> {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index):
    %t = arith.constant true
    flash.yield %t : i1
  }
  return %r : tensor<64x64xf32>
}

// -----

// Tile level: a modifier reads only the program's captures (kernel
// parameters).
func.func @score_mod_capture(%m: memref<1x2x64x64xf16>, %t: memref<2xf32>) {
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %s = arith.constant dense<0.0> : tensor<64x64xf32>
    // expected-error @+1 {{'flash.score_mod' op capture #0 must be one of the enclosing flash.tiled's captures}}
    %r = flash.score_mod %s [%bh, %qb, %qb] seq(%qb, %qb) captures(%t : memref<2xf32>) : tensor<64x64xf32> {
    ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %tt: memref<2xf32>):
      flash.yield %x : f32
    }
  }
  return
}

// -----

// Tile level: the log-sum-exp rows are a multiple of 16.
func.func @store_lse_rows(%r: tensor<8xf32>, %l: memref<1x2x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.store_lse' op rows must be a static multiple of 16, got 'tensor<8xf32>'}}
  flash.store_lse %r, %r, %l[%i, %i] : tensor<8xf32> -> memref<1x2x64xf32>
  return
}
