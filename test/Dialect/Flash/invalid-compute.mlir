// RUN: flashc-opt %s --split-input-file --verify-diagnostics

// Verifier rules of flash.dot, flash.mask, flash.softmax_step, flash.rescale, flash.normalize, flash.load_rows, flash.load_cols, flash.row_dot, flash.store_rows, flash.grad_scores, flash.atomic_add_dot: one chunk per rule.

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
  // expected-error @+1 {{'flash.dot' op tile sizes must be static multiples of 16 (the tensor-core tile), got 'tensor<40x64xf16>'}}
  %r = flash.dot %a, %b : tensor<40x64xf16>, tensor<64x64xf16> -> tensor<40x64xf32>
  return
}

// -----

// K = 8.
func.func @dot_k_8(%a: tensor<64x8xf16>, %b: tensor<8x64xf16>) {
  // expected-error @+1 {{'flash.dot' op tile sizes must be static multiples of 16 (the tensor-core tile), got 'tensor<64x8xf16>'}}
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

// -----

// Compute tiles are static.
func.func @mask_dynamic(%s: tensor<?x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.mask' op tile sizes must be static multiples of 16 (the tensor-core tile), got 'tensor<?x64xf32>'}}
  %m = flash.mask %s row %i col %i limit %i : tensor<?x64xf32>
  return
}

// -----

func.func @rescale_dynamic(%a: tensor<?x64xf32>, %f: tensor<64xf32>) {
  // expected-error @+1 {{'flash.rescale' op tile sizes must be static multiples of 16 (the tensor-core tile), got 'tensor<?x64xf32>'}}
  %r = flash.rescale %a, %f : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// flash.load_rows and flash.grad_scores (the backward)
//===----------------------------------------------------------------------===//

// Rows come in whole 16-row strips.
func.func @load_rows_8(%lse: memref<?x?x?xf32>, %i: index) {
  // expected-error @+1 {{'flash.load_rows' op rows must be a static multiple of 16, got 'tensor<8xf32>'}}
  %r = flash.load_rows %lse[%i, %i] : memref<?x?x?xf32> -> tensor<8xf32>
  return
}

// -----

// flash.row_dot multiplies rows of one element type and head dim.
func.func @row_dot_head_dims(%a: memref<?x?x?x64xf16>, %b: memref<?x?x?x128xf16>, %i: index) {
  // expected-error @+1 {{'flash.row_dot' op lhs 'memref<?x?x?x64xf16>' and rhs 'memref<?x?x?x128xf16>' must have one element type and head dim}}
  %r = flash.row_dot %a, %b[%i, %i] : memref<?x?x?x64xf16>, memref<?x?x?x128xf16> -> tensor<64xf32>
  return
}

// -----

func.func @row_dot_types(%a: memref<?x?x?x64xf16>, %b: memref<?x?x?x64xbf16>, %i: index) {
  // expected-error @+1 {{'flash.row_dot' op lhs 'memref<?x?x?x64xf16>' and rhs 'memref<?x?x?x64xbf16>' must have one element type and head dim}}
  %r = flash.row_dot %a, %b[%i, %i] : memref<?x?x?x64xf16>, memref<?x?x?x64xbf16> -> tensor<64xf32>
  return
}

// -----

// It reads 16-byte chunks: a static head dim, a multiple of 8.
func.func @row_dot_dynamic_head_dim(%a: memref<?x?x?x?xf16>, %i: index) {
  // expected-error @+1 {{'flash.row_dot' op the head dim must be a static multiple of 8, got 'memref<?x?x?x?xf16>'}}
  %r = flash.row_dot %a, %a[%i, %i] : memref<?x?x?x?xf16>, memref<?x?x?x?xf16> -> tensor<64xf32>
  return
}

// -----

func.func @row_dot_head_dim_12(%a: memref<?x?x?x12xf16>, %i: index) {
  // expected-error @+1 {{'flash.row_dot' op the head dim must be a static multiple of 8, got 'memref<?x?x?x12xf16>'}}
  %r = flash.row_dot %a, %a[%i, %i] : memref<?x?x?x12xf16>, memref<?x?x?x12xf16> -> tensor<64xf32>
  return
}

// -----

func.func @row_dot_strided(%a: memref<?x?x?x64xf16, strided<[?, ?, ?, 2]>>, %b: memref<?x?x?x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.row_dot' op lhs 'memref<?x?x?x64xf16, strided<[?, ?, ?, 2]>>' and rhs 'memref<?x?x?x64xf16>' must be row-major (read in 16-byte chunks)}}
  %r = flash.row_dot %a, %b[%i, %i] : memref<?x?x?x64xf16, strided<[?, ?, ?, 2]>>, memref<?x?x?x64xf16> -> tensor<64xf32>
  return
}

// -----

func.func @row_dot_8(%a: memref<?x?x?x64xf16>, %i: index) {
  // expected-error @+1 {{'flash.row_dot' op rows must be a static multiple of 16, got 'tensor<8xf32>'}}
  %r = flash.row_dot %a, %a[%i, %i] : memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> tensor<8xf32>
  return
}

// -----

func.func @store_rows_8(%r: tensor<8xf32>, %d: memref<?x?x?xf32>, %i: index) {
  // expected-error @+1 {{'flash.store_rows' op rows must be a static multiple of 16, got 'tensor<8xf32>'}}
  flash.store_rows %r, %d[%i, %i] : tensor<8xf32> -> memref<?x?x?xf32>
  return
}

// -----

// Scores and dP are f32 accumulators.
func.func @grad_scores_f16(%s: tensor<64x64xf16>, %r: tensor<64xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op scores and dp must be f32, got 'tensor<64x64xf16>'}}
  %d = flash.grad_scores %s, %s, %r, %r scale_log2e(1.0) scale(1.0) : tensor<64x64xf16>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// The result feeds a product: f16 or bf16 of the scores' shape.
func.func @grad_scores_result(%s: tensor<64x64xf32>, %r: tensor<64xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op result must be f16 or bf16 of the scores' shape, got 'tensor<64x32xf16>'}}
  %d = flash.grad_scores %s, %s, %r, %r scale_log2e(1.0) scale(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x32xf16>
  return
}

// -----

// One log-sum-exp per row of the scores.
func.func @grad_scores_rows(%s: tensor<64x64xf32>, %r: tensor<32xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op lse has 32 values, the tile has 64 rows}}
  %d = flash.grad_scores %s, %s, %r, %r scale_log2e(1.0) scale(1.0) : tensor<64x64xf32>, tensor<32xf32> -> tensor<64x64xf16>
  return
}

// -----

// Transposed scores have one log-sum-exp per column (a query's).
func.func @grad_scores_columns(%s: tensor<64x32xf32>, %r: tensor<64xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op lse has 64 values, the tile has 32 columns}}
  %d = flash.grad_scores %s, %s, %r, %r scale_log2e(1.0) scale(1.0) transposed : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xf16>
  return
}

// -----

// The probabilities come back like dS.
func.func @grad_scores_probs(%s: tensor<64x64xf32>, %r: tensor<64xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op probs type 'tensor<64x64xbf16>' differs from the result's 'tensor<64x64xf16>'}}
  %d, %p = flash.grad_scores %s, %s, %r, %r scale_log2e(1.0) scale(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>, tensor<64x64xbf16>
  return
}

// -----

// flash.load_cols, as flash.load_rows: a multiple of 16 values.
func.func @load_cols_8(%lse: memref<?x?x?xf32>, %i: index) {
  // expected-error @+1 {{'flash.load_cols' op columns must be a static multiple of 16, got 'tensor<8xf32>'}}
  %r = flash.load_cols %lse[%i, %i] : memref<?x?x?xf32> -> tensor<8xf32>
  return
}

// -----

// The attention scale is positive.
func.func @grad_scores_scale(%s: tensor<64x64xf32>, %r: tensor<64xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op scale must be a positive finite number, got 0}}
  %d = flash.grad_scores %s, %s, %r, %r scale_log2e(1.0) scale(0.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// So is scale_log2e.
func.func @grad_scores_scale_log2e(%s: tensor<64x64xf32>, %r: tensor<64xf32>) {
  // expected-error @+1 {{'flash.grad_scores' op scale_log2e must be a positive finite number, got -1}}
  %d = flash.grad_scores %s, %s, %r, %r scale_log2e(-1.0) scale(1.0) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
  return
}

// -----

// flash.atomic_add_dot: the product's operands are f16 or bf16, both alike.
func.func @atomic_add_dot_mixed(%a: tensor<64x32xf16>, %b: tensor<64x64xbf16>, %d: memref<?x?x?x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.atomic_add_dot' op lhs and rhs must both be f16 or both bf16, got 'tensor<64x32xf16>' and 'tensor<64x64xbf16>'}}
  flash.atomic_add_dot %a, %b, %d[%i, %i] : tensor<64x32xf16>, tensor<64x64xbf16> -> memref<?x?x?x64xf32>
  return
}

// -----

// The product sums over the rows of both operands.
func.func @atomic_add_dot_rows(%a: tensor<64x32xf16>, %b: tensor<32x64xf16>, %d: memref<?x?x?x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.atomic_add_dot' op rhs has 32 rows, lhs has 64 (the product sums over them)}}
  flash.atomic_add_dot %a, %b, %d[%i, %i] : tensor<64x32xf16>, tensor<32x64xf16> -> memref<?x?x?x64xf32>
  return
}

// -----

// The destination's rows are rhs's columns wide.
func.func @atomic_add_dot_head_dim(%a: tensor<64x32xf16>, %b: tensor<64x64xf16>, %d: memref<?x?x?x128xf32>, %i: index) {
  // expected-error @+1 {{'flash.atomic_add_dot' op dest head_dim must be static and equal rhs's 64 columns, got 'memref<?x?x?x128xf32>'}}
  flash.atomic_add_dot %a, %b, %d[%i, %i] : tensor<64x32xf16>, tensor<64x64xf16> -> memref<?x?x?x128xf32>
  return
}

// -----

// Tiles are whole tensor-core tiles.
func.func @atomic_add_dot_tile(%a: tensor<64x24xf16>, %b: tensor<64x64xf16>, %d: memref<?x?x?x64xf32>, %i: index) {
  // expected-error @+1 {{'flash.atomic_add_dot' op tile sizes must be static multiples of 16 (the tensor-core tile), got 'tensor<64x24xf16>'}}
  flash.atomic_add_dot %a, %b, %d[%i, %i] : tensor<64x24xf16>, tensor<64x64xf16> -> memref<?x?x?x64xf32>
  return
}
