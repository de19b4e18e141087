// RUN: flashc-opt %s --split-input-file --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// Varlen: packed sequences bounded by cu_seqlens_q/k. One program per
// (query block of the total, head, sequence) from the host; the kernel
// reads its sequence's bounds, views its rows with batch stride 0 (so that
// batch·head = sequence·heads + head addresses them), and returns at once
// past its sequence's end.

// CHECK-LABEL: func.func @varlen
// CHECK-SAME:    (%[[Q:.*]]: memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>, {{.*}}, %[[CUQ:[^:]*]]: memref<?xi32>, %[[CUK:[^:]*]]: memref<?xi32>)
// Grid z: one batch per sequence.
// CHECK:         %[[ENTRIES:.*]] = memref.dim %[[CUQ]], %{{.*}} : memref<?xi32>
// CHECK:         %[[SEQS:.*]] = arith.subi %[[ENTRIES]], %{{.*}} : index
// CHECK:         %[[Z:.*]] = arith.muli %[[SEQS]], %{{.*}} : index
// CHECK:         gpu.launch_func  @varlen_kernels::@varlen_kernel blocks in (%{{.*}}, %{{.*}}, %[[Z]]) {{.*}} args({{.*}}, %[[CUQ]] : memref<?xi32>, %[[CUK]] : memref<?xi32>)
// CHECK:       gpu.func @varlen_kernel({{.*}}, %[[KCUQ:[^:]*]]: memref<?xi32>, %[[KCUK:[^:]*]]: memref<?xi32>) kernel
// CHECK:         %[[B:.*]] = gpu.block_id z
// CHECK:         %[[START:.*]] = memref.load %[[KCUQ]][%[[B]]] : memref<?xi32>
// CHECK:         %[[NEXT:.*]] = arith.addi %[[B]], %{{.*}} : index
// CHECK:         %[[END:.*]] = memref.load %[[KCUQ]][%[[NEXT]]] : memref<?xi32>
// CHECK:         memref.load %[[KCUK]][%[[B]]] : memref<?xi32>
// Q's and O's rows of the sequence: batch stride 0.
// CHECK:         memref.reinterpret_cast {{.*}} strides: [0, %{{.*}}, %{{.*}}, 1] : memref<f16> to memref<?x?x?x64xf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK:         memref.reinterpret_cast {{.*}} strides: [0, %{{.*}}, %{{.*}}, 1] : memref<f16> to memref<?x?x?x64xf16, strided<[?, ?, ?, 1], offset: ?>>
// The copies' flat views keep the sequence's offset.
// CHECK:         memref.reinterpret_cast {{.*}} to offset: [%{{.*}}], sizes: [%{{.*}}], strides: [1] : memref<f16> to memref<?xf16, strided<[1], offset: ?>>
// Programs past the sequence's end do nothing.
// CHECK:         %[[INSIDE:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    scf.if %[[INSIDE]] {
// CHECK:           nvgpu.device_async_copy
func.func @varlen(%q: memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>,
                  %k: memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>,
                  %v: memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>,
                  %o: memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>,
                  %cu_q: memref<?xi32>, %cu_k: memref<?xi32>) {
  flash.attention %q, %k, %v -> %o varlen(%cu_q, %cu_k : memref<?xi32>, memref<?xi32>) causal
      : memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>, memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>>,
        memref<1x2x?x64xf16, strided<[?, 64, 128, 1]>> -> memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>
  return
}

// -----

// Row-major operands ([heads, total, head_dim] storage) and the LSE
// ([heads, total_q]): views of the same kind. One value as Q, K and V
// (one set of bounds): each role's view is made from its own kernel
// argument, not from another view.
// CHECK-LABEL: gpu.func @varlen_lse_kernel
// CHECK:         memref.extract_strided_metadata %arg0 :
// CHECK:         memref.extract_strided_metadata %arg3 :
// CHECK:         memref.extract_strided_metadata %arg1 :
// CHECK:         memref.extract_strided_metadata %arg2 :
// CHECK:         memref.extract_strided_metadata %arg4 :
// CHECK:         memref.reinterpret_cast {{.*}} sizes: [%{{.*}}, %{{.*}}, %{{.*}}], strides: [0, %{{.*}}, %{{.*}}] : memref<f32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK:         memref.store {{.*}} : memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
func.func @varlen_lse(%q: memref<1x4x?x64xf16>, %o: memref<1x4x?x64xf16>,
                      %lse: memref<1x4x?xf32>,
                      %cu_q: memref<?xi32>, %cu_k: memref<?xi32>) {
  flash.attention %q, %q, %q -> %o lse(%lse : memref<1x4x?xf32>) varlen(%cu_q, %cu_q : memref<?xi32>, memref<?xi32>)
      : memref<1x4x?x64xf16>, memref<1x4x?x64xf16>, memref<1x4x?x64xf16> -> memref<1x4x?x64xf16>
  return
}
