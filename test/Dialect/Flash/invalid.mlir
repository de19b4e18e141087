// RUN: flashc-opt %s --split-input-file --verify-diagnostics

// Verifier rules of the flash dialect, one chunk per rule. Operands that are
// not the point of a chunk are valid: memref<1x1x64x64xf16> (batch 1, 1 head,
// seq 64, head_dim 64).

//===----------------------------------------------------------------------===//
// flash.attention: operand rules (shared with flash.tiled)
//===----------------------------------------------------------------------===//

// Q is not [batch, heads, seq, head_dim].
func.func @q_rank_3(%q: memref<1x64x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q must have rank 4 [batch, heads, seq, head_dim], got 'memref<1x64x64xf16>'}}
  flash.attention %q, %m, %m -> %m : memref<1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// O is rank 5.
func.func @o_rank_5(%m: memref<1x1x64x64xf16>, %o: memref<1x1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op O must have rank 4 [batch, heads, seq, head_dim], got 'memref<1x1x1x64x64xf16>'}}
  flash.attention %m, %m, %m -> %o : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x1x64x64xf16>
  return
}

// -----

// Unranked memrefs are rejected by the custom parser.
func.func @q_unranked(%q: memref<*xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{custom op 'flash.attention' invalid kind of type specified: expected builtin.memref, but found 'memref<*xf16>'}}
  flash.attention %q, %m, %m -> %m : memref<*xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Q element type f32.
func.func @q_f32(%q: memref<1x1x64x64xf32>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q element type must be f16 or bf16, got 'f32'}}
  flash.attention %q, %m, %m -> %m : memref<1x1x64x64xf32>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// K element type f32: the f16/bf16 rule fires before "differs from Q's".
func.func @k_f32(%k: memref<1x1x64x64xf32>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K element type must be f16 or bf16, got 'f32'}}
  flash.attention %m, %k, %m -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xf32>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// V element type i16.
func.func @v_i16(%v: memref<1x1x64x64xi16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op V element type must be f16 or bf16, got 'i16'}}
  flash.attention %m, %m, %v -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xi16> -> memref<1x1x64x64xf16>
  return
}

// -----

// O element type f64.
func.func @o_f64(%o: memref<1x1x64x64xf64>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op O element type must be f16 or bf16, got 'f64'}}
  flash.attention %m, %m, %m -> %o : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf64>
  return
}

// -----

// f16 and bf16 mixed.
func.func @k_bf16_q_f16(%k: memref<1x1x64x64xbf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K element type 'bf16' differs from Q's 'f16'}}
  flash.attention %m, %k, %m -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xbf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// O in bf16 while Q, K, V are f16.
func.func @o_bf16(%o: memref<1x1x64x64xbf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op O element type 'bf16' differs from Q's 'f16'}}
  flash.attention %m, %m, %m -> %o : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xbf16>
  return
}

// -----

// A strided (non-identity) layout.
func.func @k_strided(%k: memref<1x1x64x64xf16, strided<[4096, 4096, 64, 1], offset: 8>>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K must have the identity (row-major) layout, got 'memref<1x1x64x64xf16, strided<[4096, 4096, 64, 1], offset: 8>>'}}
  flash.attention %m, %k, %m -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xf16, strided<[4096, 4096, 64, 1], offset: 8>>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A permuted affine-map layout.
func.func @q_permuted(%q: memref<1x1x64x64xf16, affine_map<(b, h, s, d) -> (b, h, d, s)>>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q must have the identity (row-major) layout}}
  flash.attention %q, %m, %m -> %m : memref<1x1x64x64xf16, affine_map<(b, h, s, d) -> (b, h, d, s)>>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// head_dim must be static.
func.func @dynamic_head_dim(%q: memref<1x1x64x?xf16>) {
  // expected-error @+1 {{'flash.attention' op Q head_dim must be static}}
  flash.attention %q, %q, %q -> %q : memref<1x1x64x?xf16>, memref<1x1x64x?xf16>, memref<1x1x64x?xf16> -> memref<1x1x64x?xf16>
  return
}

// -----

// K's head_dim differs from Q's.
func.func @k_head_dim_128(%k: memref<1x1x64x128xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K head_dim 128 differs from Q's 64}}
  flash.attention %m, %k, %m -> %m : memref<1x1x64x64xf16>, memref<1x1x64x128xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// head_dim 96 is not one of 64, 128.
func.func @head_dim_96(%m: memref<1x1x64x96xf16>) {
  // expected-error @+1 {{'flash.attention' op head_dim 96 is not supported (supported: 64, 128)}}
  flash.attention %m, %m, %m -> %m : memref<1x1x64x96xf16>, memref<1x1x64x96xf16>, memref<1x1x64x96xf16> -> memref<1x1x64x96xf16>
  return
}

// -----

// V's seq (the key length) differs from K's.
func.func @v_seq(%v: memref<1x1x128x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op V seq 128 differs from K's 64 (keys and values come in pairs)}}
  flash.attention %m, %m, %v -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x128x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// K's batch differs from Q's.
func.func @k_batch(%k: memref<2x1x64x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K batch 2 differs from Q's 1}}
  flash.attention %m, %k, %k -> %m : memref<1x1x64x64xf16>, memref<2x1x64x64xf16>, memref<2x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// K's heads differ from Q's.
func.func @k_heads(%k: memref<1x4x64x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K heads 4 differs from Q's 1}}
  flash.attention %m, %k, %k -> %m : memref<1x1x64x64xf16>, memref<1x4x64x64xf16>, memref<1x4x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// V's heads differ from Q's (K's are dynamic, so only V is checked).
func.func @v_heads(%k: memref<1x?x64x64xf16>, %v: memref<1x2x64x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op V heads 2 differs from Q's 1}}
  flash.attention %m, %k, %v -> %m : memref<1x1x64x64xf16>, memref<1x?x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// O's seq differs from Q's.
func.func @o_shape(%o: memref<1x1x128x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op O shape must equal Q's: got 'memref<1x1x128x64xf16>' for Q 'memref<1x1x64x64xf16>'}}
  flash.attention %m, %m, %m -> %o : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x128x64xf16>
  return
}

// -----

// O's shape must equal Q's exactly: a dynamic dim where Q's is static fails.
func.func @o_dynamic(%o: memref<?x1x64x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op O shape must equal Q's}}
  flash.attention %m, %m, %m -> %o : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<?x1x64x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.attention: scale
//===----------------------------------------------------------------------===//

// scale 0.
func.func @scale_zero(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op scale must be a positive finite number, got 0.000000e+00}}
  flash.attention %m, %m, %m -> %m scale(0.0) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Negative scale.
func.func @scale_negative(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op scale must be a positive finite number, got -1.250000e-01}}
  flash.attention %m, %m, %m -> %m scale(-0.125) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// +inf scale (f32 bit pattern).
func.func @scale_inf(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op scale must be a positive finite number, got INF}}
  flash.attention %m, %m, %m -> %m scale(0x7F800000) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// NaN scale.
func.func @scale_nan(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op scale must be a positive finite number, got nan}}
  flash.attention %m, %m, %m -> %m scale(0x7FC00000) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// The scale is an f32 attribute (generic form).
func.func @scale_f64(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  "flash.attention"(%m, %m, %m, %m) {scale = 0.5 : f64} : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>) -> ()
  return
}

// -----

// The config must be a #flash.config (generic form).
func.func @config_not_tile_config(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op attribute 'config' failed to satisfy constraint: How attention is tiled for one GPU program}}
  "flash.attention"(%m, %m, %m, %m) {config = 3 : i32} : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>) -> ()
  return
}

// -----

//===----------------------------------------------------------------------===//
// #flash.config (TileConfigAttr::verify, at parse time)
//===----------------------------------------------------------------------===//

// block_m not a multiple of 16.
func.func @block_m_40(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: block_m = 40 is not a positive multiple of 16 (the tensor-core tile)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 40, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// block_m 0 is not positive.
func.func @block_m_0(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: block_m = 0 is not a positive multiple of 16}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 0, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// block_n not a multiple of 16.
func.func @block_n_24(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: block_n = 24 is not a positive multiple of 16}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 24, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// block_n over 128.
func.func @block_n_144(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: block_n = 144 exceeds the limit of 128}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 144, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// block_m over 128.
func.func @block_m_256(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: block_m = 256 exceeds the limit of 128}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 256, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// stages below 1.
func.func @stages_0(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: stages = 0 must be at least 1}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 0, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// stages above 4.
func.func @stages_5(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: stages = 5 exceeds the limit of 4}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 5, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// warps not a power of two up to 8.
func.func @warps_3(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: warps = 3 must be 1, 2, 4 or 8}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 3, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// 16 warps.
func.func @warps_16(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: warps = 16 must be 1, 2, 4 or 8}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 16, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// block_m / warps = 32 / 4 = 8 rows per warp.
func.func @rows_per_warp(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: block_m / warps = 32 / 4 must be a multiple of 16 (each warp owns whole 16-row strips)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 32, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// An unknown strategy.
func.func @strategy_unknown(%m: memref<1x1x64x64xf16>) {
  // expected-error @+2 {{expected one of [wmma, mma_sync] for tensor-core strategy of a tile configuration, got: wgmma}}
  // expected-error @+1 {{failed to parse Flash_TileConfigAttr parameter 'strategy' which is to be a `::mlir::flash::Strategy`}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// #flash.config: shared memory (TileConfigAttr::verifyFor)
//===----------------------------------------------------------------------===//

// head_dim 128, block_n 64, 4 stages of K and V: over 99 KiB.
func.func @shared_memory(%m: memref<1x1x64x128xf16>) {
  // expected-error @+1 {{'flash.attention' op tile config needs 203776 bytes of shared memory with head_dim 128, more than the limit of 101376 (99 KiB)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 4, warps = 4, strategy = wmma>) : memref<1x1x64x128xf16>, memref<1x1x64x128xf16>, memref<1x1x64x128xf16> -> memref<1x1x64x128xf16>
  return
}

// -----

// The same limit holds in bf16 and for flash.tiled.
func.func @shared_memory_tiled(%m: memref<1x1x64x128xbf16>) {
  // expected-error @+1 {{'flash.tiled' op tile config needs}}
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wmma>) : memref<1x1x64x128xbf16>, memref<1x1x64x128xbf16>, memref<1x1x64x128xbf16> -> memref<1x1x64x128xbf16> {
  ^bb0(%qb: index, %bh: index):
  }
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.tiled
//===----------------------------------------------------------------------===//

// The operand rules of flash.attention apply to flash.tiled too.
func.func @tiled_head_dim(%k: memref<1x1x64x128xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op K head_dim 128 differs from Q's 64}}
  flash.tiled %m, %k, %k -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x128xf16>, memref<1x1x64x128xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: index):
  }
  return
}

// -----

// The body takes one argument instead of two.
func.func @tiled_one_arg(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op body must take two index arguments (query block, batch·head)}}
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index):
  }
  return
}

// -----

// The body's second argument is not an index.
func.func @tiled_i32_arg(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op body must take two index arguments (query block, batch·head)}}
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  ^bb0(%qb: index, %bh: i32):
  }
  return
}

// -----

// An empty region parses as one block without arguments.
func.func @tiled_no_block(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op body must take two index arguments (query block, batch·head)}}
  flash.tiled %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16> {
  }
  return
}

// -----

// In generic form an empty region has no block (SizedRegion<1>).
func.func @tiled_generic_no_block(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op region #0 ('body') failed to verify constraint: region with 1 blocks}}
  "flash.tiled"(%m, %m, %m, %m) ({
  }) {config = #flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>} : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>) -> ()
  return
}

// -----

// The config is required on flash.tiled.
func.func @tiled_no_config(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op requires attribute 'config'}}
  "flash.tiled"(%m, %m, %m, %m) ({
  ^bb0(%qb: index, %bh: index):
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>) -> ()
  return
}

// -----

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
  "flash.kv_loop"(%m, %m, %i, %i) ({
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, index, index) -> ()
  return
}

// -----

// Two blocks (generic form).
func.func @kv_generic_two_blocks(%m: memref<1x1x64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.kv_loop' op expects region #0 to have 0 or 1 blocks}}
  "flash.kv_loop"(%m, %m, %i, %i) ({
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
  "flash.kv_loop"(%m, %m, %i, %i) ({
  ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>):
    // expected-error @+1 {{block with no terminator}}
    %c0 = arith.constant 0 : index
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, index, index) -> ()
  return
}

// -----

// flash.yield outside a flash.kv_loop.
func.func @yield_outside(%l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.yield' op expects parent op 'flash.kv_loop'}}
  flash.yield %l : tensor<64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// flash.dot
//===----------------------------------------------------------------------===//

// f32 operands: tensor cores multiply f16 or bf16.
func.func @dot_lhs_f32(%a: tensor<64x64xf32>) {
  // expected-error @+1 {{'flash.dot' op lhs element type must be f16 or bf16, got 'f32'}}
  %r = flash.dot %a, %a : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----

// i8 operands are not tiles at all (type constraint).
func.func @dot_lhs_i8(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{'flash.dot' op operand #0 must be 2D tensor of 16-bit float or bfloat16 type or 32-bit float values, but got 'tensor<64x64xi8>'}}
  %r = flash.dot %a, %a : tensor<64x64xi8>, tensor<64x64xi8> -> tensor<64x64xf32>
  return
}

// -----

// f16 times bf16.
func.func @dot_rhs_element(%a: tensor<64x64xf16>, %b: tensor<64x64xbf16>) {
  // expected-error @+1 {{'flash.dot' op rhs element type 'bf16' differs from lhs's 'f16'}}
  %r = flash.dot %a, %b : tensor<64x64xf16>, tensor<64x64xbf16> -> tensor<64x64xf32>
  return
}

// -----

// An f16 result: accumulation is in f32.
func.func @dot_result_f16(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{'flash.dot' op result element type must be f32 (accumulation is in f32), got 'f16'}}
  %r = flash.dot %a, %a : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf16>
  return
}

// -----

// 64x64 times 32x64.
func.func @dot_contraction(%a: tensor<64x64xf16>, %b: tensor<32x64xf16>) {
  // expected-error @+1 {{'flash.dot' op contraction sizes differ: lhs has 64 columns, rhs has 32 rows}}
  %r = flash.dot %a, %b : tensor<64x64xf16>, tensor<32x64xf16> -> tensor<64x64xf32>
  return
}

// -----

// 64x64 times (64x32)ᵀ.
func.func @dot_contraction_transposed(%a: tensor<64x64xf16>, %b: tensor<64x32xf16>) {
  // expected-error @+1 {{'flash.dot' op contraction sizes differ: lhs has 64 columns, rhsᵀ has 32 rows}}
  %r = flash.dot %a, %b transpose_rhs : tensor<64x64xf16>, tensor<64x32xf16> -> tensor<64x64xf32>
  return
}

// -----

// 64x64 times 64x32 is 64x32, not 64x64.
func.func @dot_result_shape(%a: tensor<64x64xf16>, %b: tensor<64x32xf16>) {
  // expected-error @+1 {{'flash.dot' op result shape must be 64x32, got 'tensor<64x64xf32>'}}
  %r = flash.dot %a, %b : tensor<64x64xf16>, tensor<64x32xf16> -> tensor<64x64xf32>
  return
}

// -----

// With transpose_rhs, N is rhs's row count.
func.func @dot_result_shape_transposed(%a: tensor<64x64xf16>, %b: tensor<32x64xf16>) {
  // expected-error @+1 {{'flash.dot' op result shape must be 64x32, got 'tensor<64x64xf32>'}}
  %r = flash.dot %a, %b transpose_rhs : tensor<64x64xf16>, tensor<32x64xf16> -> tensor<64x64xf32>
  return
}

// -----

// M = 40 is not a multiple of 16.
func.func @dot_not_16(%a: tensor<40x64xf16>, %b: tensor<64x64xf16>) {
  // expected-error @+1 {{'flash.dot' op tile sizes must be static multiples of 16 (the tensor-core tile), got 40x64x64}}
  %r = flash.dot %a, %b : tensor<40x64xf16>, tensor<64x64xf16> -> tensor<40x64xf32>
  return
}

// -----

// K = 8.
func.func @dot_k_8(%a: tensor<64x8xf16>, %b: tensor<8x64xf16>) {
  // expected-error @+1 {{'flash.dot' op tile sizes must be static multiples of 16 (the tensor-core tile), got 64x64x8}}
  %r = flash.dot %a, %b : tensor<64x8xf16>, tensor<8x64xf16> -> tensor<64x64xf32>
  return
}

// -----

// A dynamic M.
func.func @dot_dynamic(%a: tensor<?x64xf16>, %b: tensor<64x64xf16>) {
  // expected-error @+1 {{'flash.dot' op tile sizes must be static multiples of 16 (the tensor-core tile)}}
  %r = flash.dot %a, %b : tensor<?x64xf16>, tensor<64x64xf16> -> tensor<?x64xf32>
  return
}

// -----

// acc's type differs from the result's.
func.func @dot_acc(%a: tensor<64x64xf16>, %acc: tensor<64x64xf16>) {
  // expected-error @+1 {{'flash.dot' op acc type 'tensor<64x64xf16>' differs from the result's 'tensor<64x64xf32>'}}
  %r = flash.dot %a, %a acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  return
}

// -----

// acc's shape differs from the result's.
func.func @dot_acc_shape(%a: tensor<64x64xf16>, %acc: tensor<64x32xf32>) {
  // expected-error @+1 {{'flash.dot' op acc type 'tensor<64x32xf32>' differs from the result's 'tensor<64x64xf32>'}}
  %r = flash.dot %a, %a acc %acc : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x32xf32> -> tensor<64x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.mask
//===----------------------------------------------------------------------===//

// f16 scores.
func.func @mask_f16(%s: tensor<64x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.mask' op scores must be f32}}
  %r = flash.mask %s row %i col %i limit %i : tensor<64x64xf16>
  return
}

// -----

// A result type other than the scores' (generic form; caught by AllTypesMatch).
func.func @mask_result(%s: tensor<64x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.mask' op failed to verify that all of {scores, result} have same type}}
  %r = "flash.mask"(%s, %i, %i, %i) : (tensor<64x64xf32>, index, index, index) -> tensor<64x32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.softmax_step
//===----------------------------------------------------------------------===//

// f16 scores.
func.func @softmax_scores_f16(%s: tensor<64x64xf16>, %m: tensor<64xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op scores must be f32, got 'tensor<64x64xf16>'}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(1.0) : tensor<64x64xf16>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// f32 probs: P feeds a tensor-core dot.
func.func @softmax_probs_f32(%s: tensor<64x64xf32>, %m: tensor<64xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op probs must be f16 or bf16 of the scores' shape, got 'tensor<64x64xf32>'}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf32>
  return
}

// -----

// probs of another shape.
func.func @softmax_probs_shape(%s: tensor<64x64xf32>, %m: tensor<64xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op probs must be f16 or bf16 of the scores' shape, got 'tensor<64x32xbf16>'}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x32xbf16>
  return
}

// -----

// Row vectors of 32 for a 64-row tile.
func.func @softmax_rows(%s: tensor<64x64xf32>, %m: tensor<32xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op max_in has 32 rows, the tile has 64}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(1.0) : tensor<64x64xf32>, tensor<32xf32> -> tensor<64x64xf16>
  return
}

// -----

// The row vectors all have one type (generic form; caught by AllTypesMatch).
func.func @softmax_sum_type(%s: tensor<64x64xf32>, %m: tensor<64xf32>, %l: tensor<32xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op failed to verify that all of {max_in, sum_in, max_out, sum_out, alpha} have same type}}
  %p, %m1, %l1, %a = "flash.softmax_step"(%s, %m, %l) {scale_log2e = 1.0 : f32} : (tensor<64x64xf32>, tensor<64xf32>, tensor<32xf32>) -> (tensor<64x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

// scale_log2e 0.
func.func @softmax_scale_zero(%s: tensor<64x64xf32>, %m: tensor<64xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op scale_log2e must be a positive finite number, got 0.000000e+00}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(0.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// Negative scale_log2e.
func.func @softmax_scale_negative(%s: tensor<64x64xf32>, %m: tensor<64xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op scale_log2e must be a positive finite number, got -1.000000e+00}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(-1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// Infinite scale_log2e.
func.func @softmax_scale_inf(%s: tensor<64x64xf32>, %m: tensor<64xf32>) {
  // expected-error @+1 {{'flash.softmax_step' op scale_log2e must be a positive finite number, got INF}}
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %m scale_log2e(0x7F800000) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.rescale
//===----------------------------------------------------------------------===//

// An f16 accumulator.
func.func @rescale_f16(%acc: tensor<64x64xf16>, %f: tensor<64xf32>) {
  // expected-error @+1 {{'flash.rescale' op acc must be f32, got 'tensor<64x64xf16>'}}
  %r = flash.rescale %acc, %f : tensor<64x64xf16>, tensor<64xf32>
  return
}

// -----

// A factor per 32 rows for a 64-row accumulator.
func.func @rescale_rows(%acc: tensor<64x64xf32>, %f: tensor<32xf32>) {
  // expected-error @+1 {{'flash.rescale' op factor has 32 rows, the tile has 64}}
  %r = flash.rescale %acc, %f : tensor<64x64xf32>, tensor<32xf32>
  return
}

// -----

// A result type other than acc's (generic form; caught by AllTypesMatch).
func.func @rescale_result(%acc: tensor<64x64xf32>, %f: tensor<64xf32>) {
  // expected-error @+1 {{'flash.rescale' op failed to verify that all of {acc, result} have same type}}
  %r = "flash.rescale"(%acc, %f) : (tensor<64x64xf32>, tensor<64xf32>) -> tensor<64x64xf16>
  return
}

// -----

// An f16 factor (type constraint: row vectors are f32).
func.func @rescale_factor_f16(%acc: tensor<64x64xf32>, %f: tensor<64xf16>) {
  // expected-error @+1 {{'flash.rescale' op operand #1 must be 1D tensor of 32-bit float values, but got 'tensor<64xf16>'}}
  %r = flash.rescale %acc, %f : tensor<64x64xf32>, tensor<64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.normalize
//===----------------------------------------------------------------------===//

// An f16 accumulator.
func.func @normalize_acc_f16(%acc: tensor<64x64xf16>, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.normalize' op acc must be f32, got 'tensor<64x64xf16>'}}
  %r = flash.normalize %acc, %l : tensor<64x64xf16>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// An f32 result: normalize rounds to the output's element type.
func.func @normalize_result_f32(%acc: tensor<64x64xf32>, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.normalize' op result must be f16 or bf16 of acc's shape, got 'tensor<64x64xf32>'}}
  %r = flash.normalize %acc, %l : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf32>
  return
}

// -----

// A result of another shape.
func.func @normalize_result_shape(%acc: tensor<64x64xf32>, %l: tensor<64xf32>) {
  // expected-error @+1 {{'flash.normalize' op result must be f16 or bf16 of acc's shape, got 'tensor<64x128xbf16>'}}
  %r = flash.normalize %acc, %l : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x128xbf16>
  return
}

// -----

// A sum per 128 rows for a 64-row accumulator.
func.func @normalize_rows(%acc: tensor<64x64xf32>, %l: tensor<128xf32>) {
  // expected-error @+1 {{'flash.normalize' op sum has 128 rows, the tile has 64}}
  %r = flash.normalize %acc, %l : tensor<64x64xf32>, tensor<128xf32> -> tensor<64x64xf16>
  return
}
