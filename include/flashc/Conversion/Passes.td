//===- Passes.td - flash dialect conversions ---------------*- tablegen -*-===//

#ifndef FLASHC_CONVERSION_PASSES_TD
#define FLASHC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def FlashToGPU : Pass<"flash-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower flash.tiled programs to a GPU kernel (mma.sync, wgmma or WMMA; cp.async or TMA)";
  let description = [{
    Turns every `flash.tiled` into a `gpu.func` kernel in a `gpu.module`
    (named after the enclosing function) and replaces it with a
    `gpu.launch_func` on the grid `(ceildiv(seq_q, block_m), heads,
    batch·kv_splits)` with `32·warps` threads and the configuration's dynamic
    shared memory (causal grids take query blocks in reverse, longest
    first).

    Common to both strategies:
    - Q, K and V tiles live in one dynamic shared-memory buffer
      (`gpu.dynamic_shared_memory` + `memref.view`, 128-byte aligned parts;
      `mma_sync` swizzles 16-byte chunks by row % 8, `wmma` pads rows by 8
      elements) and arrive by 16-byte
      `nvgpu.device_async_copy` (cp.async.cg) on flat views (a per-thread
      address plus constants), with zero-fill past the sequence end (for
      K/V only in the branch that copies a sequence's last, partial block).
    - `flash.kv_loop` is software-pipelined over `stages` K/V buffers:
      blocks `i+1 .. i+stages-1` are in flight while block `i` is computed,
      with one `cp.async.wait_group` and one block barrier per K/V block;
      with 3+ stages a step issues its prefetch after its first product.
    - Each warp owns `block_m / warps` query rows (16-row strips); Q is
      loaded once, before the loop, into registers (with `mma_sync`, unless
      that would take over 32 registers: then it is read from shared memory
      once per K/V step).
    - Only blocks that cross the key length or the causal diagonal run the
      masked softmax (one uniform branch per block and warp).
    - A `flash.kv_loop` whose body has an affine `flash.mask_mod` at the
      loop's position skips the blocks that mask hides from the program's
      rows (its keys, or with `transposed` its queries).

    Strategy `mma_sync` (the default): `nvgpu.ldmatrix` feeds
    `mma.sync.m16n8k16` (f16: `nvgpu.mma.sync`; bf16: `nvvm.mma.sync`
    directly, since MLIR 22's nvgpu lowering cannot deduce bf16 types). S, P, the row
    statistics and O stay in registers: the softmax works on the accumulator
    fragments with quad shuffles (row sums stay quad-partial until the end;
    at block_n 32 the row max only moves by more than 2^8, and O is
    rescaled only when a row of the warp moved it), P is repacked into A
    fragments for P·V,
    and O is written straight from the accumulators. With `kv_splits > 1`
    a launch may use 1 to `kv_splits` programs per query block (grid z =
    batch · splits; the kernel reads its split count as grid z / batch, and
    the host launch here takes the maximum): each runs a share of the K/V
    loop; with more than one, every warp writes its partial (O, row max,
    row sum) to a global workspace (two more kernel arguments, allocated on
    the host side with `gpu.alloc`), and the warp that arrives last for its
    rows (an atomic counter) merges the partials and stores O and the
    log-sum-exp. With one split the workspace is not touched.

    Varlen and paged programs (`varlen(...)`, `paged(...)` on `flash.tiled`):
    - varlen: grid z is the number of sequences (the host launch here
      covers the total query length along x; the runtime's takes the
      longest). Each program loads its sequence's bounds and views Q, K, V,
      O and the LSE as `[sequences, heads, length, head_dim]` with batch
      stride 0 from the sequence's first row (`memref.reinterpret_cast`),
      so that the tile program's batch·head addresses them; a program whose
      query block starts past its sequence's end does nothing.
    - paged: the copies find each K/V row's page in the block table, once
      per K/V block where the page size is a multiple of `block_n`, else
      once per row; the key length comes from the tile program
      (`pagedKeyLength`).
    - A `mask_mod` that reads data (a block map) is refused with either.

    Strategy `wgmma` (sm_90a): each warpgroup (4 warps) computes 64 rows
    by `wgmma.mma_async`, reading Q (or another tile kept for the program)
    and K/V from shared memory through descriptors, and P from registers.
    Its accumulators have mma_sync's per-lane layout, so the softmax, the
    modifiers and the backward's element-wise step are mma_sync's. TMA
    copies and a producer warpgroup are policy choices (docs/Hopper.md).

    Strategy `wmma`: `wmma.m16n16k16` (f16 through `gpu.subgroup_mma_*`,
    bf16 through inline PTX, which the gpu dialect lacks). WMMA fragments
    have no documented element-to-lane map, so S goes through the warp's
    strip of shared memory for the softmax (two lanes per row), P comes back
    as A fragments, and per-row factors reach the O fragments as a 16x16
    broadcast tile; O stays in registers and is staged through shared
    memory to be written in 16-byte chunks.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect"
  ];
}

def FlashTensorMapArgs : Pass<"flash-tensor-map-args", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Make a kernel's tensor-map parameters by-value grid constants";
  let description = [{
    Runs after `convert-gpu-to-nvvm`. A kernel (`llvm.func`) with the
    attribute `flash.tensor_maps = N` (set by `flash-to-gpu` for policy
    `prefetch = tma`) takes its last N parameters as tensor maps: each
    `!llvm.ptr` becomes `{llvm.byval = !llvm.array<128 x i8>, llvm.align =
    64, nvvm.grid_constant}`, so that the PTX parameter is the 128-byte map
    itself (`.param .align 64 .b8 name[128]`) and the pointer the kernel
    hands to `cp.async.bulk.tensor` is the parameter's generic address
    (`cvta.param`), as TMA requires of a map passed at launch. Upstream
    has no pass for this: `convert-gpu-to-nvvm` drops the argument
    attributes of a `gpu.func`, and the NVVM verifier accepts
    `nvvm.grid_constant` only on an `llvm.func` kernel.

    The attribute is removed. A kernel with fewer parameters than N, or
    one whose last N are not `!llvm.ptr`, is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

#endif // FLASHC_CONVERSION_PASSES_TD
