// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --flash-to-gpu --verify-diagnostics

// A mask that reads data needs a block map, which varlen does not build yet.
func.func @varlen_block_map(%m: memref<1x1x?x64xf16>, %docs: memref<?xi32>, %cu: memref<?xi32>) {
  // expected-error @+1 {{'flash.mask_mod' op flash-to-gpu: a mask_mod that reads data (which needs a block map) is not supported with varlen yet}}
  flash.attention %m, %m, %m -> %m varlen(%cu, %cu : memref<?xi32>, memref<?xi32>) captures(%docs : memref<?xi32>) : memref<1x1x?x64xf16>, memref<1x1x?x64xf16>, memref<1x1x?x64xf16> -> memref<1x1x?x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %d: memref<?xi32>):
    %x = memref.load %d[%qi] : memref<?xi32>
    %y = memref.load %d[%kv] : memref<?xi32>
    %same = arith.cmpi eq, %x, %y : i32
    flash.yield %same : i1
  }
  return
}
