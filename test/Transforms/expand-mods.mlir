// RUN: flashc-opt %s --flash-select-config --flash-expand-attention | FileCheck %s -enable-var-scope

// A score_mod sees the scaled score: the tile is multiplied by the scale,
// the region is carried by flash.score_mod with the program's coordinates
// and both lengths, and the softmax adds only log2(e). Captures become the
// program's and the modifier's.
// CHECK-LABEL: func.func @scored
// CHECK-SAME: (%{{.*}}: memref<1x2x256x64xf16>, %{{.*}}, %{{.*}}, %{{.*}}, %[[T:.*]]: memref<2xf32>)
// CHECK: flash.tiled {{.*}} captures(%[[T]] : memref<2xf32>)
// CHECK: ^bb0(%[[QB:.*]]: index, %[[BH:.*]]: index):
// CHECK:   %[[ROW:.*]] = arith.muli %[[QB]]
// CHECK:   %[[SEQK:.*]] = arith.constant 256 : index
// CHECK:   %[[SEQQ:.*]] = arith.constant 256 : index
// CHECK:   flash.kv_loop
// CHECK:   ^bb0(%[[START:.*]]: index,
// CHECK:     %[[S:.*]] = flash.dot
// CHECK:     %[[SCALE:.*]] = arith.constant dense<1.250000e-01> : tensor<64x64xf32>
// CHECK:     %[[SCALED:.*]] = arith.mulf %[[S]], %[[SCALE]] : tensor<64x64xf32>
// CHECK:     %[[MOD:.*]] = flash.score_mod %[[SCALED]][%[[BH]], %[[ROW]], %[[START]]] seq(%[[SEQQ]], %[[SEQK]]) captures(%[[T]] : memref<2xf32>) : tensor<64x64xf32> {
// CHECK:       memref.load
// CHECK:       flash.yield %{{.*}} : f32
// CHECK:     }
// CHECK:     %[[MASKED:.*]] = flash.mask_mod %[[MOD]][%[[BH]], %[[ROW]], %[[START]]] seq(%[[SEQQ]], %[[SEQK]]) captures(%[[T]] : memref<2xf32>) : tensor<64x64xf32> {
// CHECK:       flash.yield %{{.*}} : i1
// CHECK:     }
// CHECK:     %[[M:.*]] = flash.mask %[[MASKED]] row %[[ROW]] col %[[START]] limit %[[SEQK]] :
// CHECK:     flash.softmax_step %[[M]], %{{.*}}, %{{.*}} scale_log2e(1.44269502)
func.func @scored(%q: memref<1x2x256x64xf16>, %k: memref<1x2x256x64xf16>,
                  %v: memref<1x2x256x64xf16>, %o: memref<1x2x256x64xf16>,
                  %t: memref<2xf32>) {
  flash.attention %q, %k, %v -> %o captures(%t : memref<2xf32>)
      : memref<1x2x256x64xf16>, memref<1x2x256x64xf16>,
        memref<1x2x256x64xf16> -> memref<1x2x256x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index,
       %sk: index, %tt: memref<2xf32>):
    %x = memref.load %tt[%h] : memref<2xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index,
       %tt: memref<2xf32>):
    %seen = arith.cmpi ule, %kv, %qi : index
    flash.yield %seen : i1
  }
  return
}

// Bottom-right causal: the diagonal is seq_k - seq_q, the loop bound is
// clamped to [0, seq_k] with signed compares (a query block may see no
// key), the mask carries the diagonal, and the log-sum-exp is stored from
// the final max and sum after the normalize (which merges split K/V loops'
// rows) and before the output.
// CHECK-LABEL: func.func @bottom_right
// CHECK: flash.tiled %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} lse(%[[LSE:.*]] : memref<?x?x?xf32>) config
// CHECK: ^bb0(%[[QB:.*]]: index, %[[BH:.*]]: index):
// CHECK:   %[[ROW:.*]] = arith.muli %[[QB]]
// CHECK:   %[[SEQK:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?x?x64xf16>
// CHECK:   %[[SEQQ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?x?x64xf16>
// CHECK:   %[[DIAG:.*]] = arith.subi %[[SEQK]], %[[SEQQ]] : index
// CHECK:   %[[END:.*]] = arith.addi %[[ROW]], %{{.*}} : index
// CHECK:   %[[SHIFTED:.*]] = arith.addi %[[END]], %[[DIAG]] : index
// CHECK:   %[[MIN:.*]] = arith.minsi %[[SEQK]], %[[SHIFTED]] : index
// CHECK:   %[[UPPER:.*]] = arith.maxsi %[[MIN]], %{{.*}} : index
// CHECK:   %[[R:.*]]:3 = flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %[[UPPER]]
// CHECK:     flash.mask %{{.*}} row %[[ROW]] col %{{.*}} limit %[[SEQK]] causal diagonal %[[DIAG]] :
// CHECK:   flash.normalize %[[R]]#2, %[[R]]#1
// CHECK:   flash.store_lse %[[R]]#0, %[[R]]#1, %[[LSE]][%[[BH]], %[[ROW]]] : tensor<{{.*}}xf32> -> memref<?x?x?xf32>
func.func @bottom_right(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                        %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>,
                        %lse: memref<?x?x?xf32>) {
  flash.attention %q, %k, %v -> %o lse(%lse : memref<?x?x?xf32>) causal bottom_right
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>,
        memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}
