// The heuristic's kernels for static sizes (select-config adds a third
// stage to 128x32 at head_dim 128 on sm_80 and sm_90, and to 64-row blocks
// of small grids, split or not; long causal sequences take 128x32) pass
// ptxas with no spill and no stack frame.
// REQUIRES: ptxas
// RUN: sed -n '/^func.func @d128/,/^}/p' %s > %t.d128.mlir
// RUN: sed -n '/^func.func @ragged/,/^}/p' %s > %t.ragged.mlir
// RUN: sed -n '/^func.func @origin/,/^}/p' %s > %t.origin.mlir
// RUN: sed 's/-> %%o :/-> %%o causal :/' %t.origin.mlir > %t.origin_causal.mlir
// RUN: sed -n '/^func.func @long_causal/,/^}/p' %s > %t.long_causal.mlir
// RUN: for arch in sm_80 sm_89 sm_90; do for f in d128 ragged origin origin_causal long_causal; do flashc %t.$f.mlir --arch $arch --emit=ptx -o %t.$f.$arch.ptx && %ptxas -v -arch=$arch %t.$f.$arch.ptx -o %t.cubin 2>&1; done; done | FileCheck %s -enable-var-scope
// RUN: flashc %t.d128.mlir --arch sm_90 --emit=tile | FileCheck %s -enable-var-scope --check-prefix=D128
// D128: block_m = 128, block_n = 32, stages = 3
// RUN: flashc %t.origin_causal.mlir --arch sm_90 --emit=tile | FileCheck %s -enable-var-scope --check-prefix=CAUSAL
// CAUSAL: block_m = 64, block_n = 64, stages = 3, warps = 4, strategy = mma_sync, kv_splits = 2
// RUN: flashc %t.long_causal.mlir --arch sm_90 --emit=tile | FileCheck %s -enable-var-scope --check-prefix=LONG
// LONG: block_m = 128, block_n = 32, stages = 2
// CHECK-COUNT-15: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK-NOT: spill

func.func @d128(%q: memref<4x16x2048x128xf16>, %k: memref<4x16x2048x128xf16>,
                %v: memref<4x16x2048x128xf16>, %o: memref<4x16x2048x128xf16>) {
  flash.attention %q, %k, %v -> %o : memref<4x16x2048x128xf16>, memref<4x16x2048x128xf16>, memref<4x16x2048x128xf16> -> memref<4x16x2048x128xf16>
  return
}
func.func @ragged(%q: memref<2x8x1000x128xbf16>, %k: memref<2x8x1000x128xbf16>,
                  %v: memref<2x8x1000x128xbf16>, %o: memref<2x8x1000x128xbf16>) {
  flash.attention %q, %k, %v -> %o : memref<2x8x1000x128xbf16>, memref<2x8x1000x128xbf16>, memref<2x8x1000x128xbf16> -> memref<2x8x1000x128xbf16>
  return
}
func.func @origin(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>,
                  %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
func.func @long_causal(%q: memref<1x16x16384x128xbf16>, %k: memref<1x16x16384x128xbf16>,
                       %v: memref<1x16x16384x128xbf16>, %o: memref<1x16x16384x128xbf16>) {
  flash.attention %q, %k, %v -> %o causal : memref<1x16x16384x128xbf16>, memref<1x16x16384x128xbf16>, memref<1x16x16384x128xbf16> -> memref<1x16x16384x128xbf16>
  return
}
