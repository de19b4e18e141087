// The dQ program computing its own row term (examples/tile/
// backward_dq_delta.mlir): flash.row_dot reads each of the lane's rows of
// dO and O in 16-byte chunks (the four lanes of a row's quad take chunks
// q, q + 4, ...), multiplies and adds them in f32, and sums the quad by
// two shuffles; rows past the sequence give 0. flash.store_rows writes
// each row once (the quad's first lane), inside the sequence, and the
// program reads no D.
// RUN: flashc-opt %examples/tile/backward_dq_delta.mlir --flash-to-gpu | FileCheck %s -enable-var-scope
// RUN: sed 's/warps = 4>/warps = 4, strategy = wgmma>/' %examples/tile/backward_dq_delta.mlir | flashc-opt --flash-to-gpu | FileCheck %s --check-prefix=WGMMA

// CHECK-LABEL: gpu.func @backward_dq_delta_kernel
// CHECK-SAME:    %[[DO:arg4]]: memref<?x?x?x64xf16>, %[[LSE:arg5]]: memref<?x?x?xf32>, %[[D:arg6]]: memref<?x?x?xf32>, %[[O:arg7]]: memref<?x?x?x64xf16>
// CHECK-NOT:   memref.load %[[D]]
// CHECK:       %[[QUAD:.*]] = arith.remui %{{.*}}, %c4{{.*}} : index
// CHECK:       %[[IN:.*]] = arith.cmpi ult, %[[ROW:[0-9]+]], %{{.*}} : index
// CHECK-NEXT:  %[[LANE:.*]] = scf.if %[[IN]] -> (f32) {
// CHECK:         %[[C0:.*]] = arith.addi %[[QUAD]], %c0{{.*}} : index
// CHECK-NEXT:    %[[COL0:.*]] = arith.muli %[[C0]], %c8{{.*}} : index
// CHECK-NEXT:    vector.load %[[O]][%{{.*}}, %{{.*}}, %[[ROW]], %[[COL0]]] {alignment = 16 : i64} : memref<?x?x?x64xf16>, vector<8xf16>
// CHECK:         vector.load %[[DO]][%{{.*}}, %{{.*}}, %[[ROW]], %[[COL0]]] {alignment = 16 : i64} : memref<?x?x?x64xf16>, vector<8xf16>
// CHECK:         vector.fma
// CHECK:         %[[C4:.*]] = arith.addi %[[QUAD]], %c4{{.*}} : index
// CHECK-NEXT:    arith.muli %[[C4]], %c8{{.*}} : index
// CHECK:         %[[ACC:.*]] = vector.fma
// CHECK-NEXT:    %[[SUM:.*]] = vector.reduction <add>, %[[ACC]] : vector<8xf32> into f32
// CHECK-NEXT:    scf.yield %[[SUM]] : f32
// CHECK:       } else {
// CHECK:         scf.yield %cst{{.*}} : f32
// CHECK:       gpu.shuffle  xor %[[LANE]], %c1_i32
// CHECK:       gpu.shuffle  xor %{{.*}}, %c2_i32
// The second row of the lane's strip, then the stores.
// CHECK:       scf.if %{{.*}} -> (f32) {
// CHECK:       %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0{{.*}} : index
// CHECK:       %[[W:.*]] = arith.andi %[[FIRST]], %{{.*}} : i1
// CHECK-NEXT:  scf.if %[[W]] {
// CHECK-NEXT:    memref.store %{{.*}}, %[[D]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x?x?xf32>
// CHECK:       memref.store %{{.*}}, %[[D]]
// CHECK-NOT:   memref.load %[[D]]
// CHECK:       scf.for
// CHECK-NOT:   memref.load %[[D]]
// CHECK:       gpu.return

// The same under wgmma: the rows are the accumulator's, as under mma_sync.
// WGMMA-LABEL: gpu.func @backward_dq_delta_kernel
// WGMMA-COUNT-4: vector.load %arg7
// WGMMA:       scf.for
// WGMMA:       nvvm.wgmma.mma_async
