// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --canonicalize --split-input-file | FileCheck %s -enable-var-scope

// A mask_mod that is an and/or of affine comparisons of q_idx and kv_idx
// bounds the K/V loop to the keys the query block [row, row + block_m) may
// see (AffineMask.h); other masks leave the loop as it was.

// Sliding window (q - kv < 256) under causal: keys from row - 255.
// CHECK-LABEL: func.func @window
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c64
// CHECK: %[[END:.*]] = arith.addi %[[ROW]], %c64
// CHECK: %[[UPPER:.*]] = arith.minui %[[END]], %c1024
// CHECK: %[[FROM:.*]] = arith.addi %[[ROW]], %c-255
// CHECK: %[[LOWER:.*]] = arith.maxsi %[[FROM]], %c0
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] lower %[[LOWER]] upper %[[UPPER]]
func.func @window(%q: memref<1x2x1024x64xf16>, %k: memref<1x2x1024x64xf16>, %v: memref<1x2x1024x64xf16>, %o: memref<1x2x1024x64xf16>) {
  flash.attention %q, %k, %v -> %o causal config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) : memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16> -> memref<1x2x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %w = arith.constant 256 : index
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }
  return
}

// -----

// Prefix-LM (kv < 256 or kv <= q): the union's hull, no lower bound.
// CHECK-LABEL: func.func @prefix
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c64
// CHECK: %[[END:.*]] = arith.addi %[[ROW]], %c64
// CHECK: %[[HULL:.*]] = arith.maxsi %[[END]], %c256
// CHECK: %[[MIN:.*]] = arith.minsi %[[HULL]], %c1024
// CHECK: %[[UPPER:.*]] = arith.maxsi %[[MIN]], %c0
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %[[UPPER]]
func.func @prefix(%q: memref<1x2x1024x64xf16>, %k: memref<1x2x1024x64xf16>, %v: memref<1x2x1024x64xf16>, %o: memref<1x2x1024x64xf16>) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) : memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16> -> memref<1x2x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %p = arith.constant 256 : index
    %in = arith.cmpi ult, %kv, %p : index
    %before = arith.cmpi ule, %kv, %qi : index
    %seen = arith.ori %in, %before : i1
    flash.yield %seen : i1
  }
  return
}

// -----

// Bottom-right causal written as a mask (kv <= q + seq_k - seq_q), negated
// twice (xori with true), with dynamic lengths: the bound uses them.
// CHECK-LABEL: func.func @bottom_right_mask
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c64
// CHECK: %[[SEQK:.*]] = memref.dim %{{.*}}, %c2 : memref<1x2x?x64xf16>
// CHECK: %[[SEQQ:.*]] = memref.dim %{{.*}}, %c2 : memref<1x2x?x64xf16>
// CHECK: %[[LAST:.*]] = arith.addi %[[ROW]], %c63
// CHECK: %[[PLUSK:.*]] = arith.addi %[[LAST]], %[[SEQK]]
// CHECK: %[[SHIFTED:.*]] = arith.subi %[[PLUSK]], %[[SEQQ]]
// CHECK: %[[END:.*]] = arith.addi %[[SHIFTED]], %c1
// CHECK: %[[MIN:.*]] = arith.minsi %[[SEQK]], %[[END]]
// CHECK: %[[UPPER:.*]] = arith.maxsi %[[MIN]], %c0
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %[[UPPER]] init
func.func @bottom_right_mask(%q: memref<1x2x?x64xf16>, %k: memref<1x2x?x64xf16>, %v: memref<1x2x?x64xf16>, %o: memref<1x2x?x64xf16>) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) : memref<1x2x?x64xf16>, memref<1x2x?x64xf16>, memref<1x2x?x64xf16> -> memref<1x2x?x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %t = arith.constant true
    %shift = arith.subi %sk, %sq : index
    %last = arith.addi %qi, %shift : index
    %after = arith.cmpi sgt, %kv, %last : index
    %seen = arith.xori %after, %t : i1
    flash.yield %seen : i1
  }
  return
}

// -----

// Not affine: document ids loaded from a capture; and an unsigned compare
// of a difference (q - kv may wrap): no bounds from either.
// CHECK-LABEL: func.func @not_affine
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %{{.*}} init
// CHECK-NOT: lower
// CHECK-LABEL: func.func @unsigned_difference
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %c1024 init
func.func @not_affine(%q: memref<1x2x1024x64xf16>, %k: memref<1x2x1024x64xf16>, %v: memref<1x2x1024x64xf16>, %o: memref<1x2x1024x64xf16>, %docs: memref<1024xi32>) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) captures(%docs : memref<1024xi32>) : memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16> -> memref<1x2x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %ids: memref<1024xi32>):
    %a = memref.load %ids[%qi] : memref<1024xi32>
    %c = memref.load %ids[%kv] : memref<1024xi32>
    %same = arith.cmpi eq, %a, %c : i32
    flash.yield %same : i1
  }
  return
}
func.func @unsigned_difference(%q: memref<1x2x1024x64xf16>, %k: memref<1x2x1024x64xf16>, %v: memref<1x2x1024x64xf16>, %o: memref<1x2x1024x64xf16>) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) : memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16> -> memref<1x2x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %w = arith.constant 256 : index
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi ult, %d, %w : index
    flash.yield %near : i1
  }
  return
}

// -----

// A window whose width is a captured scalar: data for the analysis (the
// block map handles it), no bounds.
// CHECK-LABEL: func.func @captured_width
// CHECK: flash.kv_loop %{{.*}}, %{{.*}}[%{{.*}}] upper %c1024 init
func.func @captured_width(%q: memref<1x2x1024x64xf16>, %k: memref<1x2x1024x64xf16>, %v: memref<1x2x1024x64xf16>, %o: memref<1x2x1024x64xf16>, %w: index) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4>) captures(%w : index) : memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16>, memref<1x2x1024x64xf16> -> memref<1x2x1024x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %width: index):
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi slt, %d, %width : index
    flash.yield %near : i1
  }
  return
}
