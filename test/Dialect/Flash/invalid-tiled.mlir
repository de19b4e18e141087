// RUN: flashc-opt %s --split-input-file --verify-diagnostics

// Verifier rules of flash.tiled: one chunk per rule.

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
  "flash.tiled"(%m, %m, %m, %m) <{config = #flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0>}> ({
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>) -> ()
  return
}

// -----

// The config is required on flash.tiled.
func.func @tiled_no_config(%m: memref<1x1x64x64xf16>) {
  // expected-error @+1 {{'flash.tiled' op requires attribute 'config'}}
  "flash.tiled"(%m, %m, %m, %m) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0>}> ({
  ^bb0(%qb: index, %bh: index):
  }) : (memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>, memref<1x1x64x64xf16>) -> ()
  return
}

// -----

// The shared-memory limit counts the whole program: the configuration's
// 96 KiB (Q, two stages of K and V) fit, the tile it keeps for the program
// besides Q (32 KiB) does not.
func.func @tiled_resident_too_big(%q: memref<1x1x128x128xf16>, %dout: memref<1x1x128x128xf16>) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'flash.tiled' op tile config and the program's kept tiles need 131072 bytes of shared memory with head_dim 128, more than the limit of 101248 (99 KiB, less 128 B of static shared memory)}}
  flash.tiled %q, %q, %q -> %q config(#flash.config<block_m = 128, block_n = 64, stages = 2, warps = 8, strategy = mma_sync>) captures(%dout : memref<1x1x128x128xf16>) : memref<1x1x128x128xf16>, memref<1x1x128x128xf16>, memref<1x1x128x128xf16> -> memref<1x1x128x128xf16> {
  ^bb0(%qb: index, %bh: index):
    %t = flash.load_tile %dout[%bh, %c0] : memref<1x1x128x128xf16> -> tensor<128x128xf16>
  }
  return
}
