// Score modifiers through flash-to-gpu: applied per element where the
// strategy reads the scores, for both strategies.

// A hand-written tile program with a softcap of elementwise ops and a
// log-sum-exp output: the kernel takes lse after O; tanh is expanded to
// arith (no libdevice call); the LSE is ln 2 · (max + lg2(sum)), stored by
// one lane per row, for rows inside seq_q.
// RUN: flashc-opt %examples/tile/softcap_tiled.mlir --flash-to-gpu | FileCheck %s -enable-var-scope --check-prefix=SOFTCAP
// SOFTCAP-LABEL: gpu.func @softcap_tiled_kernel
// SOFTCAP-SAME: %{{.*}}: memref<?x?x?x64xf16>, %[[LSE:[^ ]*]]: memref<?x?x?xf32>)
// SOFTCAP-NOT: math.tanh
// SOFTCAP: scf.for
// SOFTCAP: %[[LG:.*]] = llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// SOFTCAP: %[[SUM:.*]] = arith.addf %{{.*}}, %[[LG]] : f32
// SOFTCAP: %[[VALUE:.*]] = arith.mulf %[[SUM]], %{{.*}} : f32
// SOFTCAP: scf.if
// SOFTCAP:   memref.store %[[VALUE]], %[[LSE]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x?x?xf32>
// The same with WMMA.
// RUN: sed 's/warps = 4>/warps = 4, strategy = wmma>/' %examples/tile/softcap_tiled.mlir | flashc-opt --flash-to-gpu | FileCheck %s --check-prefix=SOFTCAP-WMMA
// SOFTCAP-WMMA-LABEL: gpu.func @softcap_tiled_kernel
// SOFTCAP-WMMA-NOT: math.tanh
// SOFTCAP-WMMA: gpu.subgroup_mma_compute
// SOFTCAP-WMMA: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"

// A captured memref is a kernel parameter, loaded from where the region
// reads it: ALiBi's slope of the program's head.
// RUN: flashc-opt %examples/mods/alibi.mlir --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope --check-prefix=ALIBI
// ALIBI: gpu.launch_func {{.*}} args({{.*}}, %arg4 : memref<16xf32>)
// ALIBI-LABEL: gpu.func @alibi_kernel
// ALIBI-SAME: %[[SLOPES:[^ ]*]]: memref<16xf32>)
// ALIBI: scf.for
// ALIBI: memref.load %[[SLOPES]][%{{.*}}] : memref<16xf32>
// ALIBI: arith.sitofp

// A data-dependent mask_mod (document ids) gets a block map (BlockMap.h):
// a map kernel, launched first on (key blocks, query blocks, batch: the
// mask reads the batch, not the head; blocks past the causal diagonal are
// not evaluated),
// evaluates the region on every pair of its block (each thread one key
// column where block_n divides its 128 threads, stepping through rows: the
// key's loads hoist out of the loop) and writes whether some pair is seen
// and some hidden (warp votes, or'ed in shared memory); the
// attention kernel takes the map after the captures, scans its row for
// the first and last block seen (lanes strided, shuffles), and per block
// reads its entry; the region selects -inf where it yields false. The same
// with WMMA.
// RUN: flashc-opt %examples/mods/document_mask.mlir --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope --check-prefix=DOCS
// RUN: flashc-opt %examples/mods/document_mask.mlir --flash-select-config="strategy=wmma" --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope --check-prefix=DOCS
// DOCS: %[[MAP:.*]] = gpu.alloc  (%{{.*}}) : memref<?xi32>
// DOCS: gpu.launch_func  @document_mask_kernels::@document_mask_kernel_block_map blocks in (%{{.*}}, %{{.*}}, %dim{{.*}}) threads in (%c128{{.*}}) args({{.*}}, %arg4 : memref<2x1024xi32>, %[[MAP]] : memref<?xi32>)
// DOCS: gpu.launch_func  @document_mask_kernels::@document_mask_kernel blocks {{.*}} args({{.*}}, %arg4 : memref<2x1024xi32>, %[[MAP]] : memref<?xi32>)
// DOCS: gpu.dealloc  %[[MAP]]
// DOCS-LABEL: gpu.func @document_mask_kernel_block_map
// DOCS-SAME: workgroup(%{{.*}} : memref<4xi32, #gpu.address_space<workgroup>>)
// DOCS: scf.for
// DOCS: memref.load %arg4[%{{.*}}, %{{.*}}] : memref<2x1024xi32>
// DOCS: memref.load %arg4[%{{.*}}, %{{.*}}] : memref<2x1024xi32>
// DOCS: nvvm.vote.sync  any
// DOCS: gpu.barrier
// DOCS: memref.store %{{.*}}, %arg5[%{{.*}}] : memref<?xi32>
// DOCS-LABEL: gpu.func @document_mask_kernel(
// DOCS-SAME: %[[IDS:[^ ]*]]: memref<2x1024xi32>, %[[ROWMAP:[^ ]*]]: memref<?xi32>)
// DOCS: memref.load %[[ROWMAP]][%{{.*}}] : memref<?xi32>
// DOCS: gpu.shuffle  xor %{{.*}} : i32
// DOCS: scf.for
// DOCS: memref.load %[[ROWMAP]][%{{.*}}] : memref<?xi32>
// DOCS: %[[DQ:.*]] = memref.load %[[IDS]][%{{.*}}, %{{.*}}] : memref<2x1024xi32>
// DOCS: %[[DK:.*]] = memref.load %[[IDS]][%{{.*}}, %{{.*}}] : memref<2x1024xi32>
// DOCS: %[[SAME:.*]] = arith.cmpi eq, %[[DQ]], %[[DK]] : i32
// DOCS: arith.select %[[SAME]], %{{.*}}, %cst{{.*}} : f32

// Bottom-right causal: the loop bound is clamped with signed compares, and
// the diagonal test (per block and per element) is signed.
// RUN: flashc-opt %examples/mods/decode_bottom_right.mlir --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s -enable-var-scope --check-prefix=DECODE
// DECODE-LABEL: gpu.func @decode_bottom_right_kernel
// DECODE: arith.minsi
// DECODE: arith.maxsi
// DECODE: scf.for
// DECODE: arith.cmpi sgt
// DECODE: scf.if
// DECODE: arith.cmpi sgt

// An affine mask_mod (a sliding window): the loop starts at the block of
// the window's first key; a block is masked where it crosses the key
// length, the diagonal or the window's edge for this warp's rows (q - kv
// >= 256 for some pair: the affine test), and only the masked branch
// evaluates the region.
// RUN: flashc-opt %examples/mods/sliding_window_256.mlir --flash-select-config --flash-expand-attention --flash-to-gpu --canonicalize --cse | FileCheck %s -enable-var-scope --check-prefix=WINDOW
// WINDOW-LABEL: gpu.func @sliding_window_256_kernel
// WINDOW: %[[FIRST:.*]] = arith.divui %{{.*}}, %c64 : index
// WINDOW: %[[BEGIN:.*]] = arith.minui %[[FIRST]], %{{.*}} : index
// WINDOW: scf.for
// WINDOW: %[[CUT:.*]] = arith.cmpi sge, %{{.*}}, %c0 : index
// WINDOW: arith.ori %{{.*}}, %[[CUT]] : i1
// WINDOW: scf.if %{{.*}} -> (f32
// WINDOW: arith.cmpi slt, %{{.*}}, %c256 : index
// WINDOW: } else {
// WINDOW-NOT: %c256
// WINDOW: scf.yield

// The softcap's math on the special-function units: s / 50 becomes a
// product with 1/50, tanh becomes 1 - 2 / (e^2x + 1) with ex2.approx and
// rcp.approx (FastMath.cpp); no tanh, no libdevice call.
// RUN: flashc-opt %examples/mods/softcap.mlir --flash-select-config --flash-expand-attention --flash-to-gpu | FileCheck %s --check-prefix=FAST
// FAST-LABEL: gpu.func @softcap_kernel
// FAST-NOT: math.tanh
// FAST: arith.constant 2.000000e-02 : f32
// FAST: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// FAST: llvm.call_intrinsic "llvm.nvvm.rcp.approx.ftz.f"
