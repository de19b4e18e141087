// RUN: flashc-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(gpu.module(flash-tensor-map-args))' | FileCheck %s

// The last `flash.tensor_maps` parameters become 128-byte by-value grid
// constants, 64-byte aligned; the others and the attribute's other
// functions are left alone, and the attribute goes.
// CHECK-LABEL: llvm.func @maps
// CHECK-SAME: (%arg0: !llvm.ptr, %arg1: i64,
// CHECK-SAME: %arg2: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME: %arg3: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant})
// CHECK-SAME: attributes {nvvm.kernel}
// CHECK-NOT: flash.tensor_maps
// CHECK-LABEL: llvm.func @plain
// CHECK-SAME: (%{{.*}}: !llvm.ptr)
gpu.module @m {
  llvm.func @maps(%a: !llvm.ptr, %n: i64, %k: !llvm.ptr, %v: !llvm.ptr)
      attributes {nvvm.kernel, flash.tensor_maps = 2 : i64} {
    llvm.return
  }
  llvm.func @plain(%a: !llvm.ptr) attributes {nvvm.kernel} {
    llvm.return
  }
}

// -----

gpu.module @m {
  // expected-error @below {{'llvm.func' op flash.tensor_maps = 3, but the kernel has 2 parameters}}
  llvm.func @too_many(%k: !llvm.ptr, %v: !llvm.ptr)
      attributes {nvvm.kernel, flash.tensor_maps = 3 : i64} {
    llvm.return
  }
}

// -----

gpu.module @m {
  // expected-error @below {{'llvm.func' op parameter 1 is a tensor map and must be !llvm.ptr, got 'i64'}}
  llvm.func @not_pointer(%k: !llvm.ptr, %n: i64)
      attributes {nvvm.kernel, flash.tensor_maps = 1 : i64} {
    llvm.return
  }
}
