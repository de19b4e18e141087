// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --split-input-file --verify-diagnostics | FileCheck %s -enable-var-scope

// Non-causal, static shapes: the loop runs to seq_k; the mask handles only
// the tail (limit = seq_k); scale·log2(e) = 0.125 · 1.4427 is folded.
// CHECK-LABEL: func.func @full
// CHECK: flash.tiled %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync>)
// CHECK: ^bb0(%[[QB:.*]]: index, %[[BH:.*]]: index):
// CHECK:   %[[BM:.*]] = arith.constant 64 : index
// CHECK:   %[[ROW:.*]] = arith.muli %[[QB]], %[[BM]]
// CHECK:   %[[SEQK:.*]] = arith.constant 512 : index
// CHECK:   %[[Q:.*]] = flash.load_tile %{{.*}}[%[[BH]], %[[ROW]]] : memref<1x8x512x64xf16> -> tensor<64x64xf16>
// CHECK:   %[[NEGINF:.*]] = arith.constant dense<0xFF800000> : tensor<64xf32>
// CHECK:   %[[ZROW:.*]] = arith.constant dense<0.000000e+00> : tensor<64xf32>
// CHECK:   %[[ZACC:.*]] = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
// CHECK:   %[[R:.*]]:3 = flash.kv_loop %{{.*}}, %{{.*}}[%[[BH]]] upper %[[SEQK]] init(%[[NEGINF]], %[[ZROW]], %[[ZACC]])
// CHECK:   ^bb0(%[[START:.*]]: index, %[[K:.*]]: tensor<64x64xf16>, %[[V:.*]]: tensor<64x64xf16>, %[[M:.*]]: tensor<64xf32>, %[[L:.*]]: tensor<64xf32>, %[[ACC:.*]]: tensor<64x64xf32>):
// CHECK:     %[[S:.*]] = flash.dot %[[Q]], %[[K]] transpose_rhs
// CHECK:     %[[SM:.*]] = flash.mask %[[S]] row %[[ROW]] col %[[START]] limit %[[SEQK]] : tensor<64x64xf32>
// CHECK:     %[[P:.*]], %[[M1:.*]], %[[L1:.*]], %[[ALPHA:.*]] = flash.softmax_step %[[SM]], %[[M]], %[[L]] scale_log2e(0.180336878)
// CHECK:     %[[SCALED:.*]] = flash.rescale %[[ACC]], %[[ALPHA]]
// CHECK:     %[[ACC1:.*]] = flash.dot %[[P]], %[[V]] acc %[[SCALED]]
// CHECK:     flash.yield %[[M1]], %[[L1]], %[[ACC1]]
// CHECK:   %[[OUT:.*]] = flash.normalize %[[R]]#2, %[[R]]#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
// CHECK:   flash.store_tile %[[OUT]], %{{.*}}[%[[BH]], %[[ROW]]]
// CHECK-NOT: flash.attention
func.func @full(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>, %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}

// -----

// Causal, dynamic: the loop stops at min(seq_k, row0 + block_m), so blocks
// wholly above the diagonal are never visited; the mask is causal.
// CHECK-LABEL: func.func @causal
// CHECK: ^bb0(%[[QB:.*]]: index, %[[BH:.*]]: index):
// CHECK:   %[[ROW:.*]] = arith.muli %[[QB]]
// CHECK:   %[[SEQK:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?x?x128xbf16>
// CHECK:   %[[END:.*]] = arith.addi %[[ROW]]
// CHECK:   %[[UPPER:.*]] = arith.minui %[[SEQK]], %[[END]]
// CHECK:   flash.kv_loop {{.*}} upper %[[UPPER]]
// CHECK:     flash.mask {{.*}} limit %[[SEQK]] causal : tensor<64x64xf32>
// CHECK:     flash.softmax_step {{.*}} scale_log2e(5.000000e-01) {{.*}} -> tensor<64x64xbf16>
func.func @causal(%q: memref<?x?x?x128xbf16>) {
  flash.attention %q, %q, %q -> %q causal scale(0.346573591) : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> memref<?x?x?x128xbf16>
  return
}

// -----

// Grouped-query attention (32 query heads, 8 K/V heads): the K/V loop reads
// head b·8 + h / 4 of K and V for the program of Q's b·32 + h; Q, O and
// their batch·head index are unchanged.
// CHECK-LABEL: func.func @gqa
// CHECK: ^bb0(%[[QB:.*]]: index, %[[BH:.*]]: index):
// CHECK:   flash.load_tile %{{.*}}[%[[BH]], %{{.*}}] : memref<1x32x256x128xf16>
// CHECK:   %[[GROUP:.*]] = arith.divui %c32{{.*}}, %c8{{.*}} : index
// CHECK:   %[[B:.*]] = arith.divui %[[BH]], %c32{{.*}} : index
// CHECK:   %[[H:.*]] = arith.remui %[[BH]], %c32{{.*}} : index
// CHECK:   %[[BASE:.*]] = arith.muli %[[B]], %c8{{.*}} : index
// CHECK:   %[[KVH:.*]] = arith.divui %[[H]], %[[GROUP]] : index
// CHECK:   %[[KVBH:.*]] = arith.addi %[[BASE]], %[[KVH]] : index
// CHECK:   flash.kv_loop %{{.*}}, %{{.*}}[%[[KVBH]]] upper
// CHECK:   flash.store_tile %{{.*}}, %{{.*}}[%[[BH]], %{{.*}}] : tensor<{{.*}}> -> memref<1x32x256x128xf16>
func.func @gqa(%q: memref<1x32x256x128xf16>, %k: memref<1x8x256x128xf16>,
               %v: memref<1x8x256x128xf16>, %o: memref<1x32x256x128xf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<1x32x256x128xf16>, memref<1x8x256x128xf16>,
        memref<1x8x256x128xf16> -> memref<1x32x256x128xf16>
  return
}

// -----

// Dynamic heads: the same from memref.dim of Q and K.
// CHECK-LABEL: func.func @gqa_dynamic
// CHECK: ^bb0(%[[QB:.*]]: index, %[[BH:.*]]: index):
// CHECK:   %[[HQ:.*]] = memref.dim %{{.*}}, %c1{{.*}} : memref<?x?x?x64xbf16>
// CHECK:   %[[HK:.*]] = memref.dim %{{.*}}, %c1{{.*}} : memref<?x?x?x64xbf16>
// CHECK:   arith.divui %[[HQ]], %[[HK]] : index
// CHECK:   flash.kv_loop
func.func @gqa_dynamic(%q: memref<?x?x?x64xbf16>, %k: memref<?x?x?x64xbf16>,
                       %v: memref<?x?x?x64xbf16>, %o: memref<?x?x?x64xbf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16>,
        memref<?x?x?x64xbf16> -> memref<?x?x?x64xbf16>
  return
}
