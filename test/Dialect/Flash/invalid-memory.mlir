// RUN: flashc-opt %s --split-input-file --verify-diagnostics

// Verifier rules of flash.load_tile, flash.store_tile, flash.kv_loop, flash.yield: one chunk per rule.

//===----------------------------------------------------------------------===//
// flash.load_tile / flash.store_tile
//===----------------------------------------------------------------------===//

// A bf16 tile from an f16 memref.
func.func @load_element(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op result element type 'bf16' differs from source's 'f16'}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x64xf16> -> tensor<64x64xbf16>
  return
}

// -----

// A 32-column tile from a head_dim-64 memref.
func.func @load_columns(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op result has 32 columns, but source head_dim is 64}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x64xf16> -> tensor<64x32xf16>
  return
}

// -----

// 40 rows.
func.func @load_rows(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op result rows must be a static multiple of 16, got 'tensor<40x64xf16>'}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x64xf16> -> tensor<40x64xf16>
  return
}

// -----

// A dynamic row count.
func.func @load_dynamic_rows(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op result rows must be a static multiple of 16, got 'tensor<?x64xf16>'}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x64xf16> -> tensor<?x64xf16>
  return
}

// -----

// The source must be a rank-4 f16/bf16 memref (type constraint).
func.func @load_f32_source(%m: memref<1x1x64x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op operand #0 must be 4D memref of 16-bit float or bfloat16 type values, but got 'memref<1x1x64x64xf32>'}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x64xf32> -> tensor<64x64xf32>
  return
}

// -----

// The tile must be a rank-2 f16/bf16/f32 tensor (type constraint).
func.func @load_rank3_tile(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op result #0 must be 2D tensor of 16-bit float or bfloat16 type or 32-bit float values, but got 'tensor<1x64x64xf16>'}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x64xf16> -> tensor<1x64x64xf16>
  return
}

// -----

// Storing an f32 tile (e.g. an unnormalized accumulator) into an f16 memref.
func.func @store_element(%t: tensor<64x64xf32>, %m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.store_tile' op value element type 'f32' differs from dest's 'f16'}}
  flash.store_tile %t, %m[%i, %i] : tensor<64x64xf32> -> memref<1x1x64x64xf16>
  return
}

// -----

// A 64-column tile into a head_dim-128 memref.
func.func @store_columns(%t: tensor<64x64xbf16>, %m: memref<1x1x64x128xbf16>, %i: index) {
  // expected-error @+1 {{'flash.store_tile' op value has 64 columns, but dest head_dim is 128}}
  flash.store_tile %t, %m[%i, %i] : tensor<64x64xbf16> -> memref<1x1x64x128xbf16>
  return
}

// -----

// 8 rows.
func.func @store_rows(%t: tensor<8x64xf16>, %m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.store_tile' op value rows must be a static multiple of 16, got 'tensor<8x64xf16>'}}
  flash.store_tile %t, %m[%i, %i] : tensor<8x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.kv_loop / flash.yield
//===----------------------------------------------------------------------===//

// The body lacks the loop-carried argument.
func.func @kv_arg_count(%m: memref<1x1x64x64xf16>, %i: index, %acc: tensor<64x64xf32>) {
  // expected-error @+1 {{'flash.kv_loop' op body must take (start: index, K tile, V tile) and one argument per init, i.e. 4 arguments, got 3}}
  %r = flash.kv_loop %m, %m[%i] upper %i init(%acc) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
    flash.yield %acc : tensor<64x64xf32>
  }
  return
}

// -----

// The block start is not an index.
func.func @kv_start_i64(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op body argument #0 (block start) must be index}}
  flash.kv_loop %m, %m[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: i64, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
  }
  return
}

// -----

// The K tile argument is a memref, not a tensor.
func.func @kv_k_not_tensor(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op K tile argument must be a 2-d tensor}}
  flash.kv_loop %m, %m[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: index, %kt: memref<64x64xf16>, %vt: tensor<64x64xf16>):
  }
  return
}

// -----

// The V tile argument is 1-d.
func.func @kv_v_rank1(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op V tile argument must be a 2-d tensor}}
  flash.kv_loop %m, %m[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<4096xf16>):
  }
  return
}

// -----

// The K tile's element type differs from K's (row-tile rule).
func.func @kv_k_element(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op K tile element type 'bf16' differs from K's 'f16'}}
  flash.kv_loop %m, %m[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: index, %kt: tensor<64x64xbf16>, %vt: tensor<64x64xf16>):
  }
  return
}

// -----

// The V tile's columns differ from V's head_dim (row-tile rule).
func.func @kv_v_columns(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op V tile has 128 columns, but V head_dim is 64}}
  flash.kv_loop %m, %m[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x128xf16>):
  }
  return
}

// -----

// The K tile's rows are not a multiple of 16 (row-tile rule).
func.func @kv_k_rows(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op K tile rows must be a static multiple of 16, got 'tensor<20x64xf16>'}}
  flash.kv_loop %m, %m[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: index, %kt: tensor<20x64xf16>, %vt: tensor<20x64xf16>):
  }
  return
}

// -----

// Inside flash.tiled the K tile has block_n rows.
func.func @kv_block_n(%m: memref<1x1x64x64xf16>, %i: index) {
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{'flash.kv_loop' op K tile has 32 rows, but the tile config's block_n is 64}}
    flash.kv_loop %m, %m[%bh] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%start: index, %kt: tensor<32x64xf16>, %vt: tensor<32x64xf16>):
    }
  }
  return
}

// -----

// ... and so does the V tile.
func.func @kv_block_n_v(%m: memref<1x1x64x64xf16>, %i: index) {
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
    // expected-error @+1 {{'flash.kv_loop' op V tile has 64 rows, but the tile config's block_n is 32}}
    flash.kv_loop %m, %m[%bh] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x64xf16> {
    ^bb0(%start: index, %kt: tensor<32x64xf16>, %vt: tensor<64x64xf16>):
    }
  }
  return
}

// -----

// A loop-carried body argument whose type differs from its init's.
func.func @kv_body_arg_type(%m: memref<1x1x64x64xf16>, %i: index, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.kv_loop' op body argument #3 type 'tensor<32xf32>' differs from init #0 type 'tensor<64xf32>'}}
  %r = flash.kv_loop %m, %m[%i] upper %i init(%l) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32> -> tensor<64xf32> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %x: tensor<32xf32>):
    flash.yield %l : tensor<64xf32>
  }
  return
}

// -----

// flash.yield gives a value of another type.
func.func @kv_yield_type(%m: memref<1x1x64x64xf16>, %i: index, %l: tensor<64xf32>, %acc: tensor<64x64xf32>) {
  // expected-error @+1 {{'flash.kv_loop' op flash.yield must give one value per init, of the init's type}}
  %r = flash.kv_loop %m, %m[%i] upper %i init(%l) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32> -> tensor<64xf32> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %x: tensor<64xf32>):
    flash.yield %acc : tensor<64x64xf32>
  }
  return
}

// -----

// A missing flash.yield is an implicit empty one: too few values.
func.func @kv_yield_missing(%m: memref<1x1x64x64xf16>, %i: index, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.kv_loop' op flash.yield must give one value per init, of the init's type}}
  %r = flash.kv_loop %m, %m[%i] upper %i init(%l) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32> -> tensor<64xf32> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %x: tensor<64xf32>):
  }
  return
}

// -----

// The results' types differ from the inits'.
func.func @kv_result_type(%m: memref<1x1x64x64xf16>, %i: index, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.kv_loop' op result types must equal the init types}}
  %r = flash.kv_loop %m, %m[%i] upper %i init(%l) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32> -> tensor<128xf32> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %x: tensor<64xf32>):
    flash.yield %x : tensor<64xf32>
  }
  return
}

// -----

// One init, no result.
func.func @kv_result_count(%m: memref<1x1x64x64xf16>, %i: index, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.kv_loop' op result types must equal the init types}}
  flash.kv_loop %m, %m[%i] upper %i init(%l) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, tensor<64xf32> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>, %x: tensor<64xf32>):
    flash.yield %x : tensor<64xf32>
  }
  return
}

// -----

// K must be a rank-4 f16/bf16 memref (type constraint).
func.func @kv_k_rank(%k: memref<64x64xf16>, %m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op operand #0 must be 4D memref of 16-bit float or bfloat16 type values, but got 'memref<64x64xf16>'}}
  flash.kv_loop %k, %m[%i] upper %i init() : memref<64x64xf16>, memref<1x1x64x64xf16> {
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
  }
  return
}

// -----

// In generic form an empty region has no block (SizedRegion<1>).
func.func @kv_generic_no_block(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op region #0 ('body') failed to verify constraint: region with 1 blocks}}
  "flash.kv_loop"(%m, %m, %i, %i) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0>}> ({
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, index, index) -> ()
  return
}

// -----

// Two blocks (generic form).
func.func @kv_generic_two_blocks(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op expects region #0 to have 0 or 1 blocks}}
  "flash.kv_loop"(%m, %m, %i, %i) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0>}> ({
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
    "flash.yield"() : () -> ()
  ^bb1:
    "flash.yield"() : () -> ()
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, index, index) -> ()
  return
}

// -----

// No terminator at all (generic form: no implicit flash.yield is added).
func.func @kv_generic_no_terminator(%m: memref<1x1x64x64xf16>, %i: index) {
  "flash.kv_loop"(%m, %m, %i, %i) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0>}> ({
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
    // expected-error @+1 {{block with no terminator}}
    %c0 = arith.constant 0 : index
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, index, index) -> ()
  return
}

// -----

// flash.yield outside a flash.kv_loop.
func.func @yield_outside(%l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.yield' op expects parent op to be one of 'flash.kv_loop, flash.attention, flash.score_mod, flash.mask_mod'}}
  flash.yield %l : tensor<64xf32>
}

// -----

// load_tile needs a static, supported head_dim.
func.func @load_tile_dynamic_head_dim(%m: memref<1x1x64x?xf16>, %i: index) {
  // expected-error @+1 {{'flash.load_tile' op source head_dim must be static and a multiple of 16 from 32 to 256}}
  %t = flash.load_tile %m[%i, %i] : memref<1x1x64x?xf16> -> tensor<64x?xf16>
  return
}

// -----

// store_tile with head_dim 72.
func.func @store_tile_head_dim_72(%t: tensor<64x72xf16>, %m: memref<1x1x64x72xf16>, %i: index) {
  // expected-error @+1 {{'flash.store_tile' op dest head_dim must be static and a multiple of 16 from 32 to 256}}
  flash.store_tile %t, %m[%i, %i] : tensor<64x72xf16> -> memref<1x1x64x72xf16>
  return
}

// -----

// K and V tiles of a kv_loop have one type.
func.func @kv_loop_tile_rows_differ(%k: memref<?x?x?x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op K tile 'tensor<64x64xf16>' and V tile 'tensor<32x64xf16>' must have the same type}}
  flash.kv_loop %k, %k[%i] upper %i init() : memref<?x?x?x64xf16>, memref<?x?x?x64xf16> {
  ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<32x64xf16>):
    flash.yield
  }
  return
}

// -----

// K and V of a kv_loop share element type and head_dim.
func.func @kv_loop_kv_types_differ(%k: memref<1x1x64x64xf16>, %v: memref<1x1x64x128xbf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op K 'memref<1x1x64x64xf16>' and V 'memref<1x1x64x128xbf16>' must have the same element type and head_dim}}
  flash.kv_loop %k, %v[%i] upper %i init() : memref<1x1x64x64xf16>, memref<1x1x64x128xbf16> {
  ^bb0(%s: index, %kt: tensor<64x64xf16>, %vt: tensor<64x128xbf16>):
    flash.yield
  }
  return
}
