// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --flash-to-gpu --split-input-file | FileCheck %s -enable-var-scope

// head_dim 80 (not a multiple of 64): mma_sync pads each shared row by 8
// elements (88) instead of XOR-swizzling it, and 10 chunks a row do not
// divide 128 threads: 12 rows a round, the last 8 threads sit out every
// round, and the partial last round of the 128-row Q block guards by row.
// CHECK-LABEL: gpu.func @d80_kernel
// CHECK: memref.view {{.*}} to memref<11264xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<128x88xf16, #gpu.address_space<workgroup>>
// CHECK: %[[ROW:.*]] = arith.divui %thread_id_x, %c10
// CHECK-NOT: arith.xori
// CHECK: arith.cmpi ult, %[[ROW]], %c12
// CHECK-NEXT: scf.if
// CHECK: nvgpu.device_async_copy
// CHECK: %[[LAST:.*]] = arith.addi %[[ROW]], %c120
// CHECK: arith.cmpi ult, %[[LAST]], %c128
// CHECK-NOT: arith.xori
// CHECK: gpu.return
func.func @d80(%q: memref<?x?x?x80xf16>, %k: memref<?x?x?x80xf16>, %v: memref<?x?x?x80xf16>, %o: memref<?x?x?x80xf16>) {
  flash.attention %q, %k, %v -> %o : memref<?x?x?x80xf16>, memref<?x?x?x80xf16>, memref<?x?x?x80xf16> -> memref<?x?x?x80xf16>
  return
}

// -----

// head_dim 192 (three 64-column groups): swizzled, unpadded rows of 192;
// 24 chunks a row leave 8 of 128 threads out of each 5-row round. Past
// head_dim 128 the default is 64x32, one strip a warp.
// CHECK-LABEL: gpu.func @d192_kernel
// Q (64 rows) and two stages of 32 K and V rows.
// CHECK-COUNT-3: memref.view {{.*}} to memref<64x192xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[ROW:.*]] = arith.divui %thread_id_x, %c24
// CHECK: arith.xori
// CHECK: arith.cmpi ult, %[[ROW]], %c5
// CHECK-NEXT: scf.if
// CHECK: gpu.return
func.func @d192(%q: memref<?x?x?x192xbf16>, %k: memref<?x?x?x192xbf16>, %v: memref<?x?x?x192xbf16>, %o: memref<?x?x?x192xbf16>) {
  flash.attention %q, %k, %v -> %o causal : memref<?x?x?x192xbf16>, memref<?x?x?x192xbf16>, memref<?x?x?x192xbf16> -> memref<?x?x?x192xbf16>
  return
}

// -----

// head_dim 32: 4 chunks a row, 32 whole rows a round, no guard.
// CHECK-LABEL: gpu.func @d32_kernel
// CHECK: memref.view {{.*}} to memref<128x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[ROW:.*]] = arith.divui %thread_id_x, %c4
// CHECK-NOT: arith.cmpi ult, %[[ROW]]
// CHECK: nvgpu.device_async_copy
// CHECK: gpu.return
func.func @d32(%q: memref<?x?x?x32xf16>, %k: memref<?x?x?x32xf16>, %v: memref<?x?x?x32xf16>, %o: memref<?x?x?x32xf16>) {
  flash.attention %q, %k, %v -> %o : memref<?x?x?x32xf16>, memref<?x?x?x32xf16>, memref<?x?x?x32xf16> -> memref<?x?x?x32xf16>
  return
}
