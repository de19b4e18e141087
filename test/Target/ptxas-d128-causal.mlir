// ptxas accepts the kernel for sm_80, sm_89 and sm_90 with no spill and no
// stack frame (head_dim 128, causal, f16 and bf16).
// REQUIRES: ptxas
// RUN: flashc %s --arch sm_80 --emit=ptx -o %t.sm_80.ptx
// RUN: %ptxas -v -arch=sm_80 %t.sm_80.ptx -o %t.sm_80.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %s --arch sm_89 --emit=ptx -o %t.sm_89.ptx
// RUN: %ptxas -v -arch=sm_89 %t.sm_89.ptx -o %t.sm_89.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: flashc %s --arch sm_90 --emit=ptx -o %t.sm_90.ptx
// RUN: %ptxas -v -arch=sm_90 %t.sm_90.ptx -o %t.sm_90.cubin 2>&1 | FileCheck %s -enable-var-scope
// RUN: sed 's/xf16>/xbf16>/g' %s > %t.bf16.mlir
// RUN: flashc %t.bf16.mlir --arch sm_89 --emit=ptx -o %t.bf16.ptx
// RUN: %ptxas -v -arch=sm_89 %t.bf16.ptx -o %t.bf16.cubin 2>&1 | FileCheck %s -enable-var-scope

// CHECK: Compiling entry function '{{.*}}_kernel'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK-NOT: spill
func.func @d128_causal(%q: memref<?x?x?x128xf16>, %k: memref<?x?x?x128xf16>,
                    %v: memref<?x?x?x128xf16>, %o: memref<?x?x?x128xf16>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<?x?x?x128xf16>, memref<?x?x?x128xf16>,
        memref<?x?x?x128xf16> -> memref<?x?x?x128xf16>
  return
}
