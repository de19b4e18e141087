// ptxas accepts the split-K/V kernel (kv_splits = 2, causal, head_dim 64)
// and the two-strip head_dim-128 kernel that reads Q from shared memory
// (128x32 on sm_80, sm_89 and sm_90), with no spill and no stack frame.
// (128x64 at head_dim 128 spills 16-212 bytes, depending on the arch and
// on whether the sizes are static: nothing picks it.)
// REQUIRES: ptxas
// RUN: sed -n '/^func.func @split/,/^}/p' %s > %t.split.mlir
// RUN: sed -n '/^func.func @strips/,/^}/p' %s > %t.strips.mlir
// RUN: flashc %t.split.mlir --arch sm_80 --emit=ptx -o %t.a.ptx
// RUN: %ptxas -v -arch=sm_80 %t.a.ptx -o %t.a.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %t.split.mlir --arch sm_89 --emit=ptx -o %t.b.ptx
// RUN: %ptxas -v -arch=sm_89 %t.b.ptx -o %t.b.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %t.split.mlir --arch sm_90 --emit=ptx -o %t.c.ptx
// RUN: %ptxas -v -arch=sm_90 %t.c.ptx -o %t.c.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %t.strips.mlir --arch sm_80 --emit=ptx -o %t.d.ptx
// RUN: %ptxas -v -arch=sm_80 %t.d.ptx -o %t.d.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %t.strips.mlir --arch sm_89 --emit=ptx -o %t.e.ptx
// RUN: %ptxas -v -arch=sm_89 %t.e.ptx -o %t.e.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %t.strips.mlir --arch sm_90 --emit=ptx -o %t.f.ptx
// RUN: %ptxas -v -arch=sm_90 %t.f.ptx -o %t.f.cubin 2>&1 | FileCheck %s -enable-var-scope
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
func.func @split(%q: memref<1x8x512x64xf16>, %k: memref<1x8x512x64xf16>, %v: memref<1x8x512x64xf16>, %o: memref<1x8x512x64xf16>) {
  flash.attention %q, %k, %v -> %o causal config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 2>) : memref<1x8x512x64xf16>, memref<1x8x512x64xf16>, memref<1x8x512x64xf16> -> memref<1x8x512x64xf16>
  return
}
func.func @strips(%q: memref<?x?x?x128xf16>, %k: memref<?x?x?x128xf16>, %v: memref<?x?x?x128xf16>, %o: memref<?x?x?x128xf16>) {
  flash.attention %q, %k, %v -> %o config(#flash.config<block_m = 128, block_n = 32, stages = 2, warps = 4, strategy = mma_sync>) : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>, memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}
