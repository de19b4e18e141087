// RUN: flashc-opt %s --flash-select-config --flash-expand-attention | FileCheck %s --check-prefix=TILE -enable-var-scope
// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --flash-to-gpu --canonicalize | FileCheck %s -enable-var-scope

// Paged K/V: the caches are [pages, kv_heads, page_size, head_dim] (a page size given
// at launch); sequence b's keys are found through the block table.

// The key length is the sequence's seqlens_k entry, not K's seq (the page
// size), clamped to what its table row holds: it bounds the K/V loop and
// the mask.
// TILE-LABEL: func.func @paged
// TILE:         flash.tiled {{.*}} paged(%[[TABLE:.*]], %[[LENS:.*]] : memref<?x?xi32>, memref<?xi32>)
// TILE:         ^bb0(%{{.*}}: index, %[[BH:.*]]: index):
// TILE:           %[[B:.*]] = arith.divui %[[BH]], %{{.*}} : index
// TILE:           %[[LEN:.*]] = memref.load %[[LENS]][%[[B]]] : memref<?xi32>
// TILE:           %[[ENTRY:.*]] = arith.index_castui %[[LEN]] : i32 to index
// At most the keys the block table's row holds.
// TILE:           %[[PAGE:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x2x?x128xf16, strided<[?, ?, ?, 1]>>
// TILE:           %[[COLUMNS:.*]] = memref.dim %[[TABLE]], %{{.*}} : memref<?x?xi32>
// TILE:           %[[HELD:.*]] = arith.muli %[[COLUMNS]], %[[PAGE]] : index
// TILE:           %[[SEQK:.*]] = arith.minui %[[ENTRY]], %[[HELD]] : index
// TILE:           flash.kv_loop {{.*}} upper %[[SEQK]]

// The kernel views the sequence's keys with seq its length; a K/V block's
// copies look its page up once where the page size is a multiple of the
// block's rows, else once a row.
// CHECK-LABEL: gpu.func @paged_kernel
// CHECK-SAME:    %[[KTABLE:[^:]*]]: memref<?x?xi32>, %[[KLENS:[^:]*]]: memref<?xi32>
// CHECK:         memref.load %[[KLENS]]
// CHECK:         memref.reinterpret_cast {{.*}} strides: [0, %{{.*}}, %{{.*}}, 1] : memref<{{.*}}> to memref<?x2x?x128xf16, strided<[0, ?, ?, 1]{{.*}}>>
// CHECK:         %[[ONE:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:         scf.if %[[ONE]] {
// CHECK:           memref.load %[[KTABLE]]
// CHECK:           nvgpu.device_async_copy
// CHECK:         } else {
// CHECK:           memref.load %[[KTABLE]]
// CHECK:           nvgpu.device_async_copy
// CHECK:           memref.load %[[KTABLE]]
// CHECK:           nvgpu.device_async_copy
func.func @paged(%q: memref<?x8x1x128xf16, strided<[?, ?, ?, 1]>>,
                 %k: memref<?x2x?x128xf16, strided<[?, ?, ?, 1]>>,
                 %v: memref<?x2x?x128xf16, strided<[?, ?, ?, 1]>>,
                 %o: memref<?x8x1x128xf16, strided<[?, ?, ?, 1]>>,
                 %table: memref<?x?xi32>, %lens: memref<?xi32>) {
  flash.attention %q, %k, %v -> %o paged(%table, %lens : memref<?x?xi32>, memref<?xi32>)
      : memref<?x8x1x128xf16, strided<[?, ?, ?, 1]>>, memref<?x2x?x128xf16, strided<[?, ?, ?, 1]>>,
        memref<?x2x?x128xf16, strided<[?, ?, ?, 1]>> -> memref<?x8x1x128xf16, strided<[?, ?, ?, 1]>>
  return
}
