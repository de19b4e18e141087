// RUN: flashc-opt %s --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope

// Strided Q, K, V and O ([batch, heads, seq, head_dim] views of [batch,
// seq, heads, head_dim] storage, strides given at launch): each source is
// read through a flat view of its base buffer spanning 1 + sum((size - 1)
// · stride) elements, row r of head bh at b·stride_b + h·stride_h +
// r·stride_s (b and h from bh and the source's heads); a round of copies
// adds its first row times the row stride. O is stored through its
// strided 4-D view.
// CHECK-LABEL: gpu.func @bshd_kernel
// CHECK: %{{.*}}, %{{.*}}, %[[SIZES:.*]]:4, %[[STRIDES:.*]]:4 = memref.extract_strided_metadata %arg0
// CHECK: %[[FLATQ:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<f16> to memref<?xf16>
// CHECK-COUNT-2: memref.extract_strided_metadata
// CHECK: %[[HEADS:.*]] = memref.dim %arg0, %c1
// CHECK: %[[B:.*]] = arith.divui %{{.*}}, %[[HEADS]]
// CHECK: %[[BOFF:.*]] = arith.muli %[[B]], %[[STRIDES]]#0
// CHECK: arith.muli %{{.*}}, %[[STRIDES]]#2
// CHECK: nvgpu.device_async_copy %[[FLATQ]][%{{.*}}]
// CHECK-NOT: memref.collapse_shape
// CHECK: vector.store {{.*}} : memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>, vector<2xf16>
func.func @bshd(%q: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
                %k: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
                %v: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
                %o: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>) {
  flash.attention %q, %k, %v -> %o
      : memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
        memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
        memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>
        -> memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>
  return
}
