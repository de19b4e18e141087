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

// A strided layout with an offset (strided views start at their pointer).
func.func @k_strided(%k: memref<1x1x64x64xf16, strided<[4096, 4096, 64, 1], offset: 8>>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op K must be row-major or strided<[..., 1]> (a unit stride on head_dim, offset 0), got 'memref<1x1x64x64xf16, strided<[4096, 4096, 64, 1], offset: 8>>'}}
  flash.attention %m, %k, %m -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xf16, strided<[4096, 4096, 64, 1], offset: 8>>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A strided layout without a unit stride on head_dim.
func.func @v_head_dim_stride(%v: memref<1x1x64x64xf16, strided<[8192, 8192, 128, 2]>>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op V must be row-major or strided<[..., 1]> (a unit stride on head_dim, offset 0)}}
  flash.attention %m, %m, %v -> %m : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16, strided<[8192, 8192, 128, 2]>> -> memref<1x1x64x64xf16>
  return
}

// -----

// A static stride that breaks the 16-byte copies.
func.func @o_row_stride(%o: memref<1x2x64x64xf16, strided<[8264, 4130, 64, 1]>>, %m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op O heads stride 4130 is not a multiple of 8 elements (rows are copied in 16-byte chunks)}}
  flash.attention %m, %m, %m -> %o : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16, strided<[8264, 4130, 64, 1]>>
  return
}

// -----

// A permuted affine-map layout.
func.func @q_permuted(%q: memref<1x1x64x64xf16, affine_map<(b, h, s, d) -> (b, h, d, s)>>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q must be row-major or strided<[..., 1]>}}
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

// head_dim 72 is not a multiple of 16.
func.func @head_dim_72(%m: memref<1x1x64x72xf16>) {
  // expected-error @+1 {{'flash.attention' op head_dim 72 is not supported (supported: multiples of 16 from 32 to 256)}}
  flash.attention %m, %m, %m -> %m : memref<1x1x64x72xf16>, memref<1x1x64x72xf16>, memref<1x1x64x72xf16> -> memref<1x1x64x72xf16>
  return
}

// -----

// head_dim 288 is past 256.
func.func @head_dim_288(%m: memref<1x1x64x288xf16>) {
  // expected-error @+1 {{'flash.attention' op head_dim 288 is not supported (supported: multiples of 16 from 32 to 256)}}
  flash.attention %m, %m, %m -> %m : memref<1x1x64x288xf16>, memref<1x1x64x288xf16>, memref<1x1x64x288xf16> -> memref<1x1x64x288xf16>
  return
}

// -----

// head_dim 16 is below 32.
func.func @head_dim_16(%m: memref<1x1x64x16xf16>) {
  // expected-error @+1 {{'flash.attention' op head_dim 16 is not supported (supported: multiples of 16 from 32 to 256)}}
  flash.attention %m, %m, %m -> %m : memref<1x1x64x16xf16>, memref<1x1x64x16xf16>, memref<1x1x64x16xf16> -> memref<1x1x64x16xf16>
  return
}

// -----

// strategy wmma stops at head_dim 128.
func.func @wmma_head_dim_160(%m: memref<1x1x64x160xf16>) {
  // expected-error @+1 {{'flash.attention' op tile config: strategy wmma supports head_dim up to 128, got 160}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 32, stages = 1, warps = 4, strategy = wmma>) : memref<1x1x64x160xf16>, memref<1x1x64x160xf16>, memref<1x1x64x160xf16> -> memref<1x1x64x160xf16>
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

// Q's heads are not a multiple of K's (grouped-query attention needs a
// divisor).
func.func @k_heads(%k: memref<1x4x64x64xf16>, %m: memref<1x6x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q heads 6 is not a multiple of K's 4 (grouped-query attention: each K/V head serves as many query heads)}}
  flash.attention %m, %k, %k -> %m : memref<1x6x64x64xf16>, memref<1x4x64x64xf16>, memref<1x4x64x64xf16> -> memref<1x6x64x64xf16>
  return
}

// -----

// More K/V heads than Q heads.
func.func @k_heads_more(%k: memref<1x4x64x64xf16>, %m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q heads 1 is not a multiple of K's 4}}
  flash.attention %m, %k, %k -> %m : memref<1x1x64x64xf16>, memref<1x4x64x64xf16>, memref<1x4x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// V's heads differ from K's.
func.func @v_heads(%k: memref<1x2x64x64xf16>, %v: memref<1x4x64x64xf16>, %m: memref<1x8x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op V heads 4 differs from K's 2 (keys and values come in pairs)}}
  flash.attention %m, %k, %v -> %m : memref<1x8x64x64xf16>, memref<1x2x64x64xf16>, memref<1x4x64x64xf16> -> memref<1x8x64x64xf16>
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
  // expected-error @+1 {{tile config: unknown strategy 'tcgen05' (expected mma_sync, wmma or wgmma)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = tcgen05>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// #flash.config: shared memory (TileConfigAttr::verifyFor)
//===----------------------------------------------------------------------===//

// head_dim 128, block_n 64, 4 stages of K and V: over 99 KiB.
func.func @shared_memory(%m: memref<1x1x64x128xf16>) {
  // expected-error @+1 {{'flash.attention' op tile config needs 203776 bytes of shared memory with head_dim 128, more than the limit of 101248 (99 KiB, less 128 B of static shared memory)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 4, warps = 4, strategy = wmma>) : memref<1x1x64x128xf16>, memref<1x1x64x128xf16>, memref<1x1x64x128xf16> -> memref<1x1x64x128xf16>
  return
}

// -----

// Q, K, V and O live in global memory.
func.func @attention_shared_memory(%q: memref<1x1x64x64xf16, 3>) {
  // expected-error @+1 {{'flash.attention' op Q must be in global (default) memory}}
  flash.attention %q, %q, %q -> %q : memref<1x1x64x64xf16, 3>, memref<1x1x64x64xf16, 3>, memref<1x1x64x64xf16, 3> -> memref<1x1x64x64xf16, 3>
  return
}

// -----

// kv_splits above the limit.
func.func @kv_splits_17(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: kv_splits = 17 must be between 1 and 16}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 17>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// kv_splits of 0.
func.func @kv_splits_0(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: kv_splits = 0 must be between 1 and 16}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 0>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Split K/V loops write partials from mma.sync registers: not with WMMA.
func.func @kv_splits_wmma(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: kv_splits = 2 needs strategy mma_sync or wgmma (partial results are written from accumulator registers, which WMMA keeps opaque)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma, kv_splits = 2>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A policy is made for one configuration.
func.func @policy_without_config(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{a policy needs a config (the policy is chosen for one configuration)}}
  flash.attention %m, %m, %m -> %m policy(#flash.policy<q = registers, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Probabilities reach 2^stale_max_log2, which must fit f16.
func.func @policy_stale_range(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: stale_max_log2 = 16 is outside 0..15}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = registers, stale_max_log2 = 16, prefetch = after_barrier, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

func.func @policy_blocks_range(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: min_blocks_per_sm = 0 is outside 1..32}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = registers, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 0>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// WMMA keeps Q's fragments in registers.
func.func @policy_q_shared_wmma(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: q = shared needs strategy mma_sync}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

func.func @policy_stale_wmma(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: stale_max_log2 needs strategy mma_sync}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>) policy(#flash.policy<q = registers, stale_max_log2 = 8, prefetch = after_barrier, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Static sizes must be launchable: at least 1 ...
func.func @zero_heads(%m: memref<1x0x64x64xf16>) {
  // expected-error @+1 {{Q heads is 0; sizes must be at least 1}}
  flash.attention %m, %m, %m -> %m : memref<1x0x64x64xf16>, memref<1x0x64x64xf16>, memref<1x0x64x64xf16> -> memref<1x0x64x64xf16>
  return
}

// -----

// ... and heads (grid y) and batches (grid z) fit the grid; batch * heads
// may pass 65535 (an embedding model's 4096 sequences of 32 heads).
func.func @grid_z(%m: memref<65536x1x16x64xf16>) {
  // expected-error @+1 {{Q batch 65536 exceeds the grid's limit of 65535 (one grid z index per batch)}}
  flash.attention %m, %m, %m -> %m : memref<65536x1x16x64xf16>, memref<65536x1x16x64xf16>, memref<65536x1x16x64xf16> -> memref<65536x1x16x64xf16>
  return
}

// -----

// The parser names what is wrong in a #flash.config: an unknown key ...
func.func @config_unknown_key(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: unknown key 'block_k' (expected block_m, block_n, stages, warps, strategy, kv_splits)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_k = 64, stages = 2, warps = 4>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// ... a key given twice ...
func.func @config_twice(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: 'stages' is given twice}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, stages = 3, warps = 4>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// ... and a size left out (strategy and kv_splits may be).
func.func @config_missing(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: 'warps' is missing}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Strided and row-major operands do not mix.
func.func @mixed_layouts(%q: memref<1x2x64x64xf16, strided<[?, ?, ?, 1]>>, %m: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q, K, V and O must all be row-major or all strided; K is row-major and Q is not}}
  flash.attention %q, %m, %m -> %q : memref<1x2x64x64xf16, strided<[?, ?, ?, 1]>>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16, strided<[?, ?, ?, 1]>>
  return
}

// -----

// With K's heads dynamic, V's static heads must divide Q's.
func.func @v_heads_dynamic_k(%q: memref<1x8x64x64xf16>, %k: memref<1x?x64x64xf16>, %v: memref<1x3x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op Q heads 8 is not a multiple of V's 3}}
  flash.attention %q, %k, %v -> %q : memref<1x8x64x64xf16>, memref<1x?x64x64xf16>, memref<1x3x64x64xf16> -> memref<1x8x64x64xf16>
  return
}

// -----

// A static batch times kv_splits must fit grid z.
func.func @batch_splits(%m: memref<5000x1x64x64xf16>) {
  // expected-error @+1 {{'flash.attention' op batch 5000 * kv_splits 16 exceeds the grid's limit of 65535 (grid z)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>) : memref<5000x1x64x64xf16>, memref<5000x1x64x64xf16>, memref<5000x1x64x64xf16> -> memref<5000x1x64x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// flash.attention: varlen (sequences packed along seq, bounded by cu_seqlens)
//===----------------------------------------------------------------------===//

// One bound without the other (only the generic form can say it).
func.func @varlen_one_bound(%m: memref<1x1x64x64xf16>, %cu: memref<3xi32>) {
  // expected-error @+1 {{'flash.attention' op varlen needs both cu_seqlens_q and cu_seqlens_k}}
  "flash.attention"(%m, %m, %m, %m, %cu) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 0, 0, 0, 0>}> ({}, {}) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<3xi32>) -> ()
  return
}

// -----

// The bounds are i32.
func.func @varlen_i64(%m: memref<1x1x64x64xf16>, %cu: memref<3xi64>) {
  // expected-error @+1 {{'flash.attention' op cu_seqlens_q must be a row-major i32 memref [sequences + 1] in global (default) memory, got 'memref<3xi64>'}}
  flash.attention %m, %m, %m -> %m varlen(%cu, %cu : memref<3xi64>, memref<3xi64>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// At least one sequence: a start and an end.
func.func @varlen_no_sequence(%m: memref<1x1x64x64xf16>, %cu: memref<1xi32>) {
  // expected-error @+1 {{'flash.attention' op cu_seqlens_q has 1 entries; it needs sequences + 1, at least 2}}
  flash.attention %m, %m, %m -> %m varlen(%cu, %cu : memref<1xi32>, memref<1xi32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Both bounds count the same sequences.
func.func @varlen_counts(%m: memref<1x1x64x64xf16>, %cq: memref<3xi32>, %ck: memref<4xi32>) {
  // expected-error @+1 {{'flash.attention' op cu_seqlens_k has 4 entries and cu_seqlens_q 3 (one start per sequence, and the end)}}
  flash.attention %m, %m, %m -> %m varlen(%cq, %ck : memref<3xi32>, memref<4xi32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// The packed operands have batch 1.
func.func @varlen_batch(%m: memref<2x1x64x64xf16>, %cu: memref<?xi32>) {
  // expected-error @+1 {{'flash.attention' op with varlen, Q must have batch 1 (the sequences are packed along seq), got 'memref<2x1x64x64xf16>'}}
  flash.attention %m, %m, %m -> %m varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) : memref<2x1x64x64xf16>, memref<2x1x64x64xf16>, memref<2x1x64x64xf16> -> memref<2x1x64x64xf16>
  return
}

// -----

// So does the LSE.
func.func @varlen_lse(%m: memref<1x1x64x64xf16>, %lse: memref<?x1x64xf32>, %cu: memref<?xi32>) {
  // expected-error @+1 {{'flash.attention' op with varlen, lse must have batch 1 (the sequences are packed along seq), got 'memref<?x1x64xf32>'}}
  flash.attention %m, %m, %m -> %m lse(%lse : memref<?x1x64xf32>) varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// Split K/V loops are not supported with varlen yet.
func.func @varlen_splits(%m: memref<1x1x64x64xf16>, %cu: memref<?xi32>) {
  // expected-error @+1 {{'flash.attention' op kv_splits 2 is not supported with varlen yet (use 1)}}
  flash.attention %m, %m, %m -> %m varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// flash.attention: paged (K and V a paged cache read through a block table)
//===----------------------------------------------------------------------===//

// The block table without the key lengths (only the generic form can say it).
func.func @paged_one_table(%m: memref<1x1x64x64xf16>, %t: memref<1x4xi32>) {
  // expected-error @+1 {{'flash.attention' op paged needs both block_table and seqlens_k}}
  "flash.attention"(%m, %m, %m, %m, %t) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 1, 0, 0>}> ({}, {}) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x4xi32>) -> ()
  return
}

// -----

// The block table is i32 [batch, max_pages].
func.func @paged_table_rank(%m: memref<1x1x64x64xf16>, %t: memref<4xi32>, %l: memref<1xi32>) {
  // expected-error @+1 {{'flash.attention' op block_table must be a row-major i32 memref [batch, max_pages] in global (default) memory, got 'memref<4xi32>'}}
  flash.attention %m, %m, %m -> %m paged(%t, %l : memref<4xi32>, memref<1xi32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// One key length per sequence of Q.
func.func @paged_lengths_batch(%q: memref<2x1x1x64xf16>, %c: memref<9x1x64x64xf16>, %t: memref<2x4xi32>, %l: memref<3xi32>) {
  // expected-error @+1 {{'flash.attention' op seqlens_k batch 3 differs from Q's 2}}
  flash.attention %q, %c, %c -> %q paged(%t, %l : memref<2x4xi32>, memref<3xi32>) : memref<2x1x1x64xf16>, memref<9x1x64x64xf16>, memref<9x1x64x64xf16> -> memref<2x1x1x64xf16>
  return
}

// -----

// Pages of a multiple of 16 rows.
func.func @paged_page_size(%q: memref<2x1x1x64xf16>, %c: memref<9x1x24x64xf16>, %t: memref<2x4xi32>, %l: memref<2xi32>) {
  // expected-error @+1 {{'flash.attention' op page size (K's seq) 24 is not a multiple of 16}}
  flash.attention %q, %c, %c -> %q paged(%t, %l : memref<2x4xi32>, memref<2xi32>) : memref<2x1x1x64xf16>, memref<9x1x24x64xf16>, memref<9x1x24x64xf16> -> memref<2x1x1x64xf16>
  return
}

// -----

// Not together with varlen yet.
func.func @paged_varlen(%m: memref<1x1x64x64xf16>, %cu: memref<?xi32>, %t: memref<1x4xi32>, %l: memref<1xi32>) {
  // expected-error @+1 {{'flash.attention' op paged and varlen together are not supported yet}}
  flash.attention %m, %m, %m -> %m varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) paged(%t, %l : memref<1x4xi32>, memref<1xi32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// One value as Q and K needs one set of sequence bounds.
func.func @varlen_shared(%m: memref<1x1x64x64xf16>, %o: memref<1x1x64x64xf16>, %cq: memref<?xi32>, %ck: memref<?xi32>) {
  // expected-error @+1 {{'flash.attention' op with varlen, Q and K are one value: give cu_seqlens_q and cu_seqlens_k as one value too}}
  flash.attention %m, %m, %m -> %o varlen(%cq, %ck : memref<?xi32>, memref<?xi32>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A paged cache is not also Q or O.
func.func @paged_shared(%m: memref<2x1x64x64xf16>, %t: memref<2x4xi32>, %l: memref<2xi32>) {
  // expected-error @+1 {{'flash.attention' op with paged, K and V are the cache: Q and O must be other values}}
  flash.attention %m, %m, %m -> %m paged(%t, %l : memref<2x4xi32>, memref<2xi32>) : memref<2x1x64x64xf16>, memref<2x1x64x64xf16>, memref<2x1x64x64xf16> -> memref<2x1x64x64xf16>
  return
}

// -----

// wgmma: each warpgroup of 4 warps computes 64 rows, one strip a warp.
func.func @wgmma_strips(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: strategy wgmma needs whole warpgroups (warps = 4 or 8) with one 16-row strip a warp (block_m = 16 · warps), got block_m = 128, warps = 4}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

func.func @wgmma_two_warps(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{tile config: strategy wgmma needs whole warpgroups (warps = 4 or 8) with one 16-row strip a warp (block_m = 16 · warps), got block_m = 32, warps = 2}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 32, block_n = 64, stages = 2, warps = 2, strategy = wgmma>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// wgmma's operands are 128-byte swizzled rows of 64 elements.
func.func @wgmma_head_dim_96(%m: memref<1x1x64x96xf16>) {
  // expected-error @+1 {{'flash.attention' op tile config: strategy wgmma needs a head_dim that is a multiple of 64, got 96 (its operands are 128-byte swizzled rows of 64 elements; use mma_sync)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) : memref<1x1x64x96xf16>, memref<1x1x64x96xf16>, memref<1x1x64x96xf16> -> memref<1x1x64x96xf16>
  return
}

// -----

// wgmma reads Q from shared memory.
func.func @wgmma_q_registers(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: strategy wgmma needs q = shared (its products read Q from shared memory)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wgmma>) policy(#flash.policy<q = registers, stale_max_log2 = 0, prefetch = after_barrier, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A producer warpgroup fills wgmma's mbarrier ring: other strategies have
// none.
func.func @producer_mma_sync(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: prefetch = producer needs strategy wgmma and 2 or more stages (its mbarrier ring; stages = 2)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A ring of one buffer would leave the producer nothing to fill ahead.
func.func @producer_one_stage(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: prefetch = producer needs strategy wgmma and 2 or more stages (its mbarrier ring; stages = 1)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 1, warps = 4, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = producer, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A wgmma config may use sm_90a's 227 KiB of shared memory, not more.
func.func @wgmma_shared_memory(%m: memref<1x1x64x256xf16>) {
  // expected-error @+1 {{'flash.attention' op tile config needs 327808 bytes of shared memory with head_dim 256, more than the limit of 232320 (227 KiB, less 128 B of static shared memory)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>) : memref<1x1x64x256xf16>, memref<1x1x64x256xf16>, memref<1x1x64x256xf16> -> memref<1x1x64x256xf16>
  return
}

// -----

// TMA fills wgmma's ring as the cp.async producer does: other strategies
// have none.
func.func @tma_mma_sync(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{policy: prefetch = tma needs strategy wgmma and 2 or more stages (its mbarrier ring; stages = 2)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>) : memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16> -> memref<1x1x64x64xf16>
  return
}

// -----

// A tensor map describes one strided tensor: packed sequences are not one.
func.func @tma_varlen(%q: memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>,
                      %cu: memref<?xi32>) {
  // expected-error @+1 {{policy: prefetch = tma needs K and V as plain tensors, not packed (varlen) (use prefetch = producer)}}
  flash.attention %q, %q, %q -> %q varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>) : memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>, memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>> -> memref<1x8x?x128xbf16, strided<[?, 128, 1024, 1]>>
  return
}

// -----

// Nor is a paged cache, whose rows the block table scatters.
func.func @tma_paged(%q: memref<?x8x1x128xbf16, strided<[?, ?, ?, 1]>>,
                     %cache: memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>>,
                     %table: memref<?x?xi32>, %lengths: memref<?xi32>) {
  // expected-error @+1 {{policy: prefetch = tma needs K and V as plain tensors, not a paged cache (use prefetch = producer)}}
  flash.attention %q, %cache, %cache -> %q paged(%table, %lengths : memref<?x?xi32>, memref<?xi32>) config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>) : memref<?x8x1x128xbf16, strided<[?, ?, ?, 1]>>, memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>>, memref<?x8x64x128xbf16, strided<[?, 128, 1024, 1]>> -> memref<?x8x1x128xbf16, strided<[?, ?, ?, 1]>>
  return
}

// -----

// Strides fixed at compile time are constants in the kernel; the tensor
// maps are encoded from the launch's.
func.func @tma_static_strides(%m: memref<2x8x64x128xbf16, strided<[65536, 128, 1024, 1]>>) {
  // expected-error @+1 {{policy: prefetch = tma needs K's and V's strides from the launch (row-major, or strided<[?, ?, ?, 1]>): the tensor maps are encoded then, and static strides would disagree with them (use prefetch = producer)}}
  flash.attention %m, %m, %m -> %m config(#flash.config<block_m = 128, block_n = 128, stages = 2, warps = 8, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>) : memref<2x8x64x128xbf16, strided<[65536, 128, 1024, 1]>>, memref<2x8x64x128xbf16, strided<[65536, 128, 1024, 1]>>, memref<2x8x64x128xbf16, strided<[65536, 128, 1024, 1]>> -> memref<2x8x64x128xbf16, strided<[65536, 128, 1024, 1]>>
  return
}
