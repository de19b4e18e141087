// RUN: flashc-opt %s | flashc-opt | FileCheck %s -enable-var-scope
// RUN: flashc-opt %s --mlir-print-op-generic | flashc-opt | FileCheck %s -enable-var-scope

// Round trip of every flash op, in custom and generic form.

//===----------------------------------------------------------------------===//
// User level: flash.attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @attention_static
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: memref<1x8x512x64xf16>, %[[K:[a-z0-9_]+]]: memref<1x8x512x64xf16>, %[[V:[a-z0-9_]+]]: memref<1x8x512x64xf16>, %[[O:[a-z0-9_]+]]: memref<1x8x512x64xf16>)
// CHECK: flash.attention %[[Q]], %[[K]], %[[V]] -> %[[O]] : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
func.func @attention_static(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>,
                            %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>,
        memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}

// Dynamic batch, heads and seq; causal.
// CHECK-LABEL: func.func @attention_dynamic_causal
// CHECK: flash.attention %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} causal : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
func.func @attention_dynamic_causal(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                                    %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>,
        memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

// Query and key lengths differ; K and V mix static and dynamic dims.
// CHECK-LABEL: func.func @attention_cross
// CHECK: flash.attention %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} : memref<2x4x128x64xf16>, memref<2x?x512x64xf16>, memref<?x4x?x64xf16> -> memref<2x4x128x64xf16>
func.func @attention_cross(%q: memref<2x4x128x64xf16>, %k: memref<2x?x512x64xf16>,
                           %v: memref<?x4x?x64xf16>, %o: memref<2x4x128x64xf16>) {
  flash.attention %q, %k, %v -> %o
      : memref<2x4x128x64xf16>, memref<2x?x512x64xf16>,
        memref<?x4x?x64xf16> -> memref<2x4x128x64xf16>
  return
}

// bf16, head_dim 128, an explicit scale.
// CHECK-LABEL: func.func @attention_bf16_scale
// CHECK: flash.attention %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} scale(0.0883883461) : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16>
func.func @attention_bf16_scale(%q: memref<2x16x1024x128xbf16>, %k: memref<2x16x1024x128xbf16>,
                                %v: memref<2x16x1024x128xbf16>, %o: memref<2x16x1024x128xbf16>) {
  flash.attention %q, %k, %v -> %o scale(0.0883883461)
      : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>,
        memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16>
  return
}

// A config alone.
// CHECK-LABEL: func.func @attention_config
// CHECK: flash.attention %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} config(#flash.config<block_m = 32, block_n = 64, stages = 1, warps = 2, strategy = mma_sync>) : memref<1x1x256x128xbf16>
func.func @attention_config(%m: memref<1x1x256x128xbf16>) {
  flash.attention %m, %m, %m -> %m
      config(#flash.config<block_m = 32, block_n = 64, stages = 1, warps = 2, strategy = mma_sync>)
      : memref<1x1x256x128xbf16>, memref<1x1x256x128xbf16>,
        memref<1x1x256x128xbf16> -> memref<1x1x256x128xbf16>
  return
}

// causal, scale and config together; the config given through an alias.
#cfg = #flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>
// CHECK-LABEL: func.func @attention_all
// CHECK: flash.attention %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} causal scale(1.250000e-01) config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
func.func @attention_all(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                         %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>) {
  flash.attention %q, %k, %v -> %o causal scale(0.125) config(#cfg)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>,
        memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// Tile level: a whole causal program, dynamic shapes, f16
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @tiled_causal
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: memref<?x?x?x64xf16>, %[[K:[a-z0-9_]+]]: memref<?x?x?x64xf16>, %[[V:[a-z0-9_]+]]: memref<?x?x?x64xf16>, %[[O:[a-z0-9_]+]]: memref<?x?x?x64xf16>)
// CHECK: flash.tiled %[[Q]], %[[K]], %[[V]] -> %[[O]] config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
// CHECK: ^bb0(%[[QB:[a-z0-9_]+]]: index, %[[BH:[a-z0-9_]+]]: index):
// CHECK:   %[[ROW:[a-z0-9_]+]] = arith.muli %[[QB]], %{{.*}} : index
// CHECK:   %[[SEQK:[a-z0-9_]+]] = memref.dim %[[K]], %{{.*}} : memref<?x?x?x64xf16>
// CHECK:   %[[QT:[a-z0-9_]+]] = flash.load_tile %[[Q]][%[[BH]], %[[ROW]]] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
// CHECK:   %[[R:[a-z0-9_]+]]:3 = flash.kv_loop %[[K]], %[[V]][%[[BH]]] upper %[[UP:[a-z0-9_]+]] init(%[[M0:[a-z0-9_]+]], %[[L0:[a-z0-9_]+]], %[[ACC0:[a-z0-9_]+]]) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
// CHECK:   ^bb0(%[[START:[a-z0-9_]+]]: index, %[[KT:[a-z0-9_]+]]: tensor<64x64xf16>, %[[VT:[a-z0-9_]+]]: tensor<64x64xf16>, %[[M:[a-z0-9_]+]]: tensor<64xf32>, %[[L:[a-z0-9_]+]]: tensor<64xf32>, %[[ACC:[a-z0-9_]+]]: tensor<64x64xf32>):
// CHECK:     %[[S:[a-z0-9_]+]] = flash.dot %[[QT]], %[[KT]] transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
// CHECK:     %[[SM:[a-z0-9_]+]] = flash.mask %[[S]] row %[[ROW]] col %[[START]] limit %[[SEQK]] causal : tensor<64x64xf32>
// CHECK:     %[[P:[a-z0-9_]+]], %[[M1:[a-z0-9_]+]], %[[L1:[a-z0-9_]+]], %[[ALPHA:[a-z0-9_]+]] = flash.softmax_step %[[SM]], %[[M]], %[[L]] scale_log2e(0.180336878) : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
// CHECK:     %[[SCALED:[a-z0-9_]+]] = flash.rescale %[[ACC]], %[[ALPHA]] : tensor<64x64xf32>, tensor<64xf32>
// CHECK:     %[[ACC1:[a-z0-9_]+]] = flash.dot %[[P]], %[[VT]] acc %[[SCALED]] : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
// CHECK:     flash.yield %[[M1]], %[[L1]], %[[ACC1]] : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
// CHECK:   }
// CHECK:   %[[OT:[a-z0-9_]+]] = flash.normalize %[[R]]#2, %[[R]]#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
// CHECK:   flash.store_tile %[[OT]], %[[O]][%[[BH]], %[[ROW]]] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
// CHECK: }
func.func @tiled_causal(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                        %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>) {
  %acc0 = arith.constant dense<0.0> : tensor<64x64xf32>
  %l0 = arith.constant dense<0.0> : tensor<64xf32>
  %m0 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  flash.tiled %q, %k, %v -> %o
      config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>)
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16> {
  ^bb0(%qb: index, %bh: index):
    %row = arith.muli %qb, %c64 : index
    %seq_k = memref.dim %k, %c2 : memref<?x?x?x64xf16>
    %qt = flash.load_tile %q[%bh, %row] : memref<?x?x?x64xf16> -> tensor<64x64xf16>
    // Causal: no key block past the last query row of this block.
    %end = arith.addi %row, %c64 : index
    %upper = arith.minui %seq_k, %end : index
    %r:3 = flash.kv_loop %k, %v[%bh] upper %upper init(%m0, %l0, %acc0)
        : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
        -> tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32> {
    ^bb0(%start: index, %kt: tensor<64x64xf16>, %vt: tensor<64x64xf16>,
         %m: tensor<64xf32>, %l: tensor<64xf32>, %acc: tensor<64x64xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
      %sm = flash.mask %s row %row col %start limit %seq_k causal : tensor<64x64xf32>
      %p, %m1, %l1, %alpha = flash.softmax_step %sm, %m, %l scale_log2e(0.180336878)
          : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
      %scaled = flash.rescale %acc, %alpha : tensor<64x64xf32>, tensor<64xf32>
      %acc1 = flash.dot %p, %vt acc %scaled : tensor<64x64xf16>, tensor<64x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      flash.yield %m1, %l1, %acc1 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>
    }
    %ot = flash.normalize %r#2, %r#1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<64x64xf16>
    flash.store_tile %ot, %o[%bh, %row] : tensor<64x64xf16> -> memref<?x?x?x64xf16>
  }
  return
}

//===----------------------------------------------------------------------===//
// Tile level: static shapes, bf16, head_dim 128, block_n 32, non-causal
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @tiled_bf16_d128
// CHECK: flash.tiled %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>) : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16> {
// CHECK: flash.load_tile %{{.*}}[%{{.*}}, %{{.*}}] : memref<2x16x1024x128xbf16> -> tensor<64x128xbf16>
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %{{.*}} init(%{{.*}}, %{{.*}}, %{{.*}}) : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32> {
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: tensor<32x128xbf16>, %{{.*}}: tensor<32x128xbf16>, %{{.*}}: tensor<64xf32>, %{{.*}}: tensor<64xf32>, %{{.*}}: tensor<64x128xf32>):
// CHECK: flash.dot %{{.*}}, %{{.*}} transpose_rhs : tensor<64x128xbf16>, tensor<32x128xbf16> -> tensor<64x32xf32>
// CHECK: flash.mask %{{.*}} row %{{.*}} col %{{.*}} limit %{{[a-z0-9_]+}} : tensor<64x32xf32>
// CHECK: flash.softmax_step %{{.*}}, %{{.*}}, %{{.*}} scale_log2e(0.127516463) : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xbf16>
// CHECK: flash.rescale %{{.*}}, %{{.*}} : tensor<64x128xf32>, tensor<64xf32>
// CHECK: flash.dot %{{.*}}, %{{.*}} acc %{{.*}} : tensor<64x32xbf16>, tensor<32x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
// CHECK: flash.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32>
// CHECK: flash.normalize %{{.*}}#2, %{{.*}}#1 : tensor<64x128xf32>, tensor<64xf32> -> tensor<64x128xbf16>
// CHECK: flash.store_tile %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : tensor<64x128xbf16> -> memref<2x16x1024x128xbf16>
func.func @tiled_bf16_d128(%q: memref<2x16x1024x128xbf16>, %k: memref<2x16x1024x128xbf16>,
                           %v: memref<2x16x1024x128xbf16>, %o: memref<2x16x1024x128xbf16>) {
  %acc0 = arith.constant dense<0.0> : tensor<64x128xf32>
  %l0 = arith.constant dense<0.0> : tensor<64xf32>
  %m0 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  flash.tiled %q, %k, %v -> %o
      config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = wmma>)
      : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16> -> memref<2x16x1024x128xbf16> {
  ^bb0(%qb: index, %bh: index):
    %row = arith.muli %qb, %c64 : index
    %qt = flash.load_tile %q[%bh, %row] : memref<2x16x1024x128xbf16> -> tensor<64x128xbf16>
    %r:3 = flash.kv_loop %k, %v[%bh] upper %c1024 init(%m0, %l0, %acc0)
        : memref<2x16x1024x128xbf16>, memref<2x16x1024x128xbf16>, tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32>
        -> tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32> {
    ^bb0(%start: index, %kt: tensor<32x128xbf16>, %vt: tensor<32x128xbf16>,
         %m: tensor<64xf32>, %l: tensor<64xf32>, %acc: tensor<64x128xf32>):
      %s = flash.dot %qt, %kt transpose_rhs : tensor<64x128xbf16>, tensor<32x128xbf16> -> tensor<64x32xf32>
      %sm = flash.mask %s row %row col %start limit %c1024 : tensor<64x32xf32>
      %p, %m1, %l1, %alpha = flash.softmax_step %sm, %m, %l scale_log2e(0.127516463)
          : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xbf16>
      %scaled = flash.rescale %acc, %alpha : tensor<64x128xf32>, tensor<64xf32>
      %acc1 = flash.dot %p, %vt acc %scaled : tensor<64x32xbf16>, tensor<32x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
      flash.yield %m1, %l1, %acc1 : tensor<64xf32>, tensor<64xf32>, tensor<64x128xf32>
    }
    %ot = flash.normalize %r#2, %r#1 : tensor<64x128xf32>, tensor<64xf32> -> tensor<64x128xbf16>
    flash.store_tile %ot, %o[%bh, %row] : tensor<64x128xbf16> -> memref<2x16x1024x128xbf16>
  }
  return
}

//===----------------------------------------------------------------------===//
// Tile ops one at a time, outside flash.tiled
//===----------------------------------------------------------------------===//

// An empty tiled body.
// CHECK-LABEL: func.func @tiled_empty
// CHECK: flash.tiled %{{.*}}, %{{.*}}, %{{.*}} -> %{{.*}} config(#flash.config<block_m = 16, block_n = 16, stages = 4, warps = 1, strategy = mma_sync>) : memref<1x1x16x64xf16>, memref<1x1x16x64xf16>, memref<1x1x16x64xf16> -> memref<1x1x16x64xf16> {
// CHECK-NEXT: ^bb0(%{{.*}}: index, %{{.*}}: index):
// CHECK-NEXT: }
func.func @tiled_empty(%m: memref<1x1x16x64xf16>) {
  flash.tiled %m, %m, %m -> %m
      config(#flash.config<block_m = 16, block_n = 16, stages = 4, warps = 1, strategy = mma_sync>)
      : memref<1x1x16x64xf16>, memref<1x1x16x64xf16>, memref<1x1x16x64xf16> -> memref<1x1x16x64xf16> {
  ^bb0(%qb: index, %bh: index):
  }
  return
}

// Loads and stores of tiles of several row counts.
// CHECK-LABEL: func.func @load_store
// CHECK: %[[T:[a-z0-9_]+]] = flash.load_tile %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?x?x128xbf16> -> tensor<16x128xbf16>
// CHECK: flash.store_tile %[[T]], %{{.*}}[%{{.*}}, %{{.*}}] : tensor<16x128xbf16> -> memref<?x?x?x128xbf16>
// CHECK: %[[U:[a-z0-9_]+]] = flash.load_tile %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?x?x128xbf16> -> tensor<128x128xbf16>
// CHECK: flash.store_tile %[[U]], %{{.*}}[%{{.*}}, %{{.*}}] : tensor<128x128xbf16> -> memref<?x?x?x128xbf16>
func.func @load_store(%src: memref<?x?x?x128xbf16>, %dst: memref<?x?x?x128xbf16>, %bh: index, %row: index) {
  %t = flash.load_tile %src[%bh, %row] : memref<?x?x?x128xbf16> -> tensor<16x128xbf16>
  flash.store_tile %t, %dst[%bh, %row] : tensor<16x128xbf16> -> memref<?x?x?x128xbf16>
  %u = flash.load_tile %src[%bh, %row] : memref<?x?x?x128xbf16> -> tensor<128x128xbf16>
  flash.store_tile %u, %dst[%bh, %row] : tensor<128x128xbf16> -> memref<?x?x?x128xbf16>
  return
}

// A loop with no loop-carried values: no results, an implicit flash.yield.
// CHECK-LABEL: func.func @kv_loop_no_inits
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %{{.*}} init() : memref<1x2x256x64xf16>, memref<1x2x256x64xf16> {
// CHECK-NEXT: ^bb0(%{{.*}}: index, %{{.*}}: tensor<128x64xf16>, %{{.*}}: tensor<128x64xf16>):
// CHECK-NEXT: }
func.func @kv_loop_no_inits(%k: memref<1x2x256x64xf16>, %v: memref<1x2x256x64xf16>, %bh: index, %n: index) {
  flash.kv_loop %k, %v[%bh] upper %n init() : memref<1x2x256x64xf16>, memref<1x2x256x64xf16> {
  ^bb0(%start: index, %kt: tensor<128x64xf16>, %vt: tensor<128x64xf16>):
  }
  return
}

// One loop-carried value.
// CHECK-LABEL: func.func @kv_loop_one_init
// CHECK-SAME: %[[Z:[a-z0-9_]+]]: tensor<16x16xf32>) -> tensor<16x64xf32>
// CHECK: %[[R:[a-z0-9_]+]] = flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %{{.*}} init(%{{.*}}) : memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16>, tensor<16x64xf32> -> tensor<16x64xf32> {
// CHECK: ^bb0(%{{.*}}: index, %[[KT:[a-z0-9_]+]]: tensor<16x64xbf16>, %[[VT:[a-z0-9_]+]]: tensor<16x64xbf16>, %[[ACC:[a-z0-9_]+]]: tensor<16x64xf32>):
// CHECK:   flash.dot %[[KT]], %[[VT]] transpose_rhs acc %[[Z]] : tensor<16x64xbf16>, tensor<16x64xbf16>, tensor<16x16xf32> -> tensor<16x16xf32>
// CHECK:   flash.yield %[[ACC]] : tensor<16x64xf32>
// CHECK: return %[[R]] : tensor<16x64xf32>
func.func @kv_loop_one_init(%k: memref<?x?x?x64xbf16>, %v: memref<?x?x?x64xbf16>, %bh: index, %n: index,
                            %init: tensor<16x64xf32>, %z: tensor<16x16xf32>) -> tensor<16x64xf32> {
  %r = flash.kv_loop %k, %v[%bh] upper %n init(%init)
      : memref<?x?x?x64xbf16>, memref<?x?x?x64xbf16>, tensor<16x64xf32> -> tensor<16x64xf32> {
  ^bb0(%start: index, %kt: tensor<16x64xbf16>, %vt: tensor<16x64xbf16>, %acc: tensor<16x64xf32>):
    %d = flash.dot %kt, %vt transpose_rhs acc %z : tensor<16x64xbf16>, tensor<16x64xbf16>, tensor<16x16xf32> -> tensor<16x16xf32>
    flash.yield %acc : tensor<16x64xf32>
  }
  return %r : tensor<16x64xf32>
}

// flash.dot: plain, transposed, with acc, both, in f16 and bf16.
// CHECK-LABEL: func.func @dot
// CHECK: flash.dot %{{.*}}, %{{.*}} : tensor<32x64xf16>, tensor<64x16xf16> -> tensor<32x16xf32>
// CHECK: flash.dot %{{.*}}, %{{.*}} transpose_rhs : tensor<32x64xf16>, tensor<16x64xf16> -> tensor<32x16xf32>
// CHECK: flash.dot %{{.*}}, %{{.*}} acc %{{.*}} : tensor<32x64xf16>, tensor<64x16xf16>, tensor<32x16xf32> -> tensor<32x16xf32>
// CHECK: flash.dot %{{.*}}, %{{.*}} transpose_rhs acc %{{.*}} : tensor<32x64xbf16>, tensor<16x64xbf16>, tensor<32x16xf32> -> tensor<32x16xf32>
func.func @dot(%a: tensor<32x64xf16>, %b: tensor<64x16xf16>, %bt: tensor<16x64xf16>,
               %c: tensor<32x16xf32>, %a2: tensor<32x64xbf16>, %bt2: tensor<16x64xbf16>) {
  %0 = flash.dot %a, %b : tensor<32x64xf16>, tensor<64x16xf16> -> tensor<32x16xf32>
  %1 = flash.dot %a, %bt transpose_rhs : tensor<32x64xf16>, tensor<16x64xf16> -> tensor<32x16xf32>
  %2 = flash.dot %a, %b acc %c : tensor<32x64xf16>, tensor<64x16xf16>, tensor<32x16xf32> -> tensor<32x16xf32>
  %3 = flash.dot %a2, %bt2 transpose_rhs acc %c : tensor<32x64xbf16>, tensor<16x64xbf16>, tensor<32x16xf32> -> tensor<32x16xf32>
  return
}

// flash.mask with and without causal, static and dynamic score shapes.
// CHECK-LABEL: func.func @mask
// CHECK-SAME: (%[[S:[a-z0-9_]+]]: tensor<64x32xf32>, %[[R:[a-z0-9_]+]]: index, %[[C:[a-z0-9_]+]]: index, %[[L:[a-z0-9_]+]]: index)
// CHECK: flash.mask %[[S]] row %[[R]] col %[[C]] limit %[[L]] : tensor<64x32xf32>
// CHECK: flash.mask %[[S]] row %[[R]] col %[[C]] limit %[[L]] causal : tensor<64x32xf32>
func.func @mask(%s: tensor<64x32xf32>, %row: index, %col: index, %limit: index) {
  %0 = flash.mask %s row %row col %col limit %limit : tensor<64x32xf32>
  %1 = flash.mask %s row %row col %col limit %limit causal : tensor<64x32xf32>
  return
}

// flash.softmax_step to f16 and bf16 probabilities.
// CHECK-LABEL: func.func @softmax_step
// CHECK: %[[P:[a-z0-9_]+]], %[[M:[a-z0-9_]+]], %[[L:[a-z0-9_]+]], %[[A:[a-z0-9_]+]] = flash.softmax_step %{{.*}}, %{{.*}}, %{{.*}} scale_log2e(1.000000e+00) : tensor<128x64xf32>, tensor<128xf32> -> tensor<128x64xf16>
// CHECK: flash.softmax_step %{{.*}}, %[[M]], %[[L]] scale_log2e(0.180336878) : tensor<128x64xf32>, tensor<128xf32> -> tensor<128x64xbf16>
func.func @softmax_step(%s: tensor<128x64xf32>, %m: tensor<128xf32>, %l: tensor<128xf32>) {
  %p, %m1, %l1, %a = flash.softmax_step %s, %m, %l scale_log2e(1.0) : tensor<128x64xf32>, tensor<128xf32> -> tensor<128x64xf16>
  %p2, %m2, %l2, %a2 = flash.softmax_step %s, %m1, %l1 scale_log2e(0.180336878) : tensor<128x64xf32>, tensor<128xf32> -> tensor<128x64xbf16>
  return
}

// flash.rescale and flash.normalize.
// CHECK-LABEL: func.func @rescale_normalize
// CHECK: %[[S:[a-z0-9_]+]] = flash.rescale %{{.*}}, %{{.*}} : tensor<32x128xf32>, tensor<32xf32>
// CHECK: flash.normalize %[[S]], %{{.*}} : tensor<32x128xf32>, tensor<32xf32> -> tensor<32x128xf16>
// CHECK: flash.normalize %[[S]], %{{.*}} : tensor<32x128xf32>, tensor<32xf32> -> tensor<32x128xbf16>
func.func @rescale_normalize(%acc: tensor<32x128xf32>, %f: tensor<32xf32>) {
  %s = flash.rescale %acc, %f : tensor<32x128xf32>, tensor<32xf32>
  %h = flash.normalize %s, %f : tensor<32x128xf32>, tensor<32xf32> -> tensor<32x128xf16>
  %b = flash.normalize %s, %f : tensor<32x128xf32>, tensor<32xf32> -> tensor<32x128xbf16>
  return
}

// The backward's flash.load_rows and flash.grad_scores.
// CHECK-LABEL: func.func @backward_ops
// CHECK: %[[R:[a-z0-9_]+]] = flash.load_rows %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?x?xf32> -> tensor<64xf32>
// CHECK: flash.grad_scores %{{.*}}, %{{.*}}, %[[R]], %[[R]] scale_log2e(0.180336878) scale(1.250000e-01) : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xf16>
// CHECK: flash.grad_scores {{.*}} -> tensor<64x32xbf16>
func.func @backward_ops(%lse: memref<?x?x?xf32>, %s: tensor<64x32xf32>, %i: index) {
  %r = flash.load_rows %lse[%i, %i] : memref<?x?x?xf32> -> tensor<64xf32>
  %h = flash.grad_scores %s, %s, %r, %r scale_log2e(0.180336878) scale(0.125) : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xf16>
  %b = flash.grad_scores %s, %s, %r, %r scale_log2e(0.180336878) scale(0.125) : tensor<64x32xf32>, tensor<64xf32> -> tensor<64x32xbf16>
  return
}

// The dQ program's own row term: rowsum(dO∘O), stored for the dK/dV program.
// CHECK-LABEL: func.func @backward_row_dot
// CHECK: %[[D:[a-z0-9_]+]] = flash.row_dot %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> tensor<64xf32>
// CHECK: flash.store_rows %[[D]], %{{.*}}[%{{.*}}, %{{.*}}] : tensor<64xf32> -> memref<?x?x?xf32>
func.func @backward_row_dot(%do: memref<?x?x?x128xbf16>, %o: memref<?x?x?x128xbf16>, %delta: memref<?x?x?xf32>, %i: index) {
  %d = flash.row_dot %do, %o[%i, %i] : memref<?x?x?x128xbf16>, memref<?x?x?x128xbf16> -> tensor<64xf32>
  flash.store_rows %d, %delta[%i, %i] : tensor<64xf32> -> memref<?x?x?xf32>
  return
}

// The dK/dV program's forms: values per column, transposed scores and
// masks, and the probabilities as a second result.
// CHECK-LABEL: func.func @backward_transposed_ops
// CHECK: %[[C:[a-z0-9_]+]] = flash.load_cols %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?x?xf32> -> tensor<32xf32>
// CHECK: flash.mask %{{.*}} row %{{.*}} col %{{.*}} limit %{{.*}} causal transposed : tensor<64x32xf32>
// CHECK: flash.mask %{{.*}} row %{{.*}} col %{{.*}} limit %{{.*}} causal diagonal %{{.*}} transposed : tensor<64x32xf32>
// CHECK: %result, %probs = flash.grad_scores %{{.*}}, %{{.*}}, %[[C]], %[[C]] scale_log2e(0.180336878) scale(1.250000e-01) transposed : tensor<64x32xf32>, tensor<32xf32> -> tensor<64x32xf16>, tensor<64x32xf16>
func.func @backward_transposed_ops(%lse: memref<?x?x?xf32>, %s: tensor<64x32xf32>, %i: index) {
  %c = flash.load_cols %lse[%i, %i] : memref<?x?x?xf32> -> tensor<32xf32>
  %m = flash.mask %s row %i col %i limit %i causal transposed : tensor<64x32xf32>
  %n = flash.mask %s row %i col %i limit %i causal diagonal %i transposed : tensor<64x32xf32>
  %ds, %p = flash.grad_scores %m, %s, %c, %c scale_log2e(0.180336878) scale(0.125) transposed : tensor<64x32xf32>, tensor<32xf32> -> tensor<64x32xf16>, tensor<64x32xf16>
  return
}

// The fused backward's dQ: lhsᵀ · rhs added to rows of an f32 tensor.
// CHECK-LABEL: func.func @backward_atomic_add_dot
// CHECK: flash.atomic_add_dot %{{.*}}, %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : tensor<64x32xf16>, tensor<64x128xf16> -> memref<?x?x?x128xf32>
func.func @backward_atomic_add_dot(%dst: tensor<64x32xf16>, %k: tensor<64x128xf16>, %dq: memref<?x?x?x128xf32>, %i: index) {
  flash.atomic_add_dot %dst, %k, %dq[%i, %i] : tensor<64x32xf16>, tensor<64x128xf16> -> memref<?x?x?x128xf32>
  return
}

// A policy beside the configuration.
// CHECK-LABEL: func.func @with_policy
// CHECK: flash.attention {{.*}} config(#flash.config<block_m = 128, block_n = 32, stages = 3, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared, stale_max_log2 = 8, prefetch = after_first_dot, min_blocks_per_sm = 1>) :
func.func @with_policy(%q: memref<?x?x?x128xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 32, stages = 3, warps = 4, strategy = mma_sync>) policy(#flash.policy<q = shared, stale_max_log2 = 8, prefetch = after_first_dot, min_blocks_per_sm = 1>) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}

// strategy may be left out: mma_sync, printed.
// CHECK-LABEL: func.func @default_strategy
// CHECK: config(#flash.config<block_m = 64, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>)
func.func @default_strategy(%q: memref<?x?x?x64xf16>) {
  flash.attention %q, %q, %q -> %q config(#flash.config<warps = 4, block_n = 32, block_m = 64, stages = 2>) : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>, memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}

// Modifiers on transposed scores (the backward's dK/dV program).
// CHECK-LABEL: func.func @transposed_mods
// CHECK: flash.score_mod %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] seq(%{{.*}}, %{{.*}}) transposed : tensor<64x64xf32> {
// CHECK: flash.mask_mod %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] seq(%{{.*}}, %{{.*}}) transposed : tensor<64x64xf32> {
func.func @transposed_mods(%s: tensor<64x64xf32>, %i: index) {
  %a = flash.score_mod %s [%i, %i, %i] seq(%i, %i) transposed : tensor<64x64xf32> {
  ^bb0(%x: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    flash.yield %x : f32
  }
  %m = flash.mask_mod %a [%i, %i, %i] seq(%i, %i) transposed : tensor<64x64xf32> {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %t = arith.cmpi ule, %kv, %qi : index
    flash.yield %t : i1
  }
  return
}
