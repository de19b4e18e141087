//===- Passes.td - flash dialect conversions ---------------*- tablegen -*-===//

#ifndef FLASHC_CONVERSION_PASSES_TD
#define FLASHC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def FlashToGPU : Pass<"flash-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower flash.tiled programs to a GPU kernel (WMMA + cp.async)";
  let description = [{
    Turns every `flash.tiled` into a `gpu.func` kernel in a `gpu.module`
    (named after the enclosing function) and replaces it with a
    `gpu.launch_func` on the grid `(ceildiv(seq_q, block_m), batch·heads)`
    with `32·warps` threads and the configuration's dynamic shared memory.

    Mapping of the tile level (strategy `wmma`):
    - Tiles live in one dynamic shared-memory buffer (`gpu.dynamic_shared_memory`
      + `memref.view`, 128-byte aligned parts); Q, K and V arrive by 16-byte
      `nvgpu.device_async_copy` (cp.async.cg) with zero-fill past the
      sequence end.
    - `flash.kv_loop` is software-pipelined over `stages` K/V buffers:
      blocks `i+1 .. i+stages-1` are in flight while block `i` is computed,
      with one `cp.async.wait_group` and one block barrier per K/V block.
    - Each warp owns `block_m / warps` query rows (16-row strips). Its Q
      fragments stay in registers for the whole loop; S = Q·Kᵀ and P·V run
      on `wmma.m16n16k16` (f16 through `gpu.subgroup_mma_*`; bf16 through the
      NVVM bf16 WMMA intrinsics, which the gpu dialect lacks), f32
      accumulation, the O accumulator stays in registers.
    - Softmax works on the warp's S strip in shared memory (WMMA fragments
      have no documented element-to-lane map): two lanes per row, `exp2` as
      `ex2.approx`, row reductions by one shuffle. The per-row rescale and
      the final 1/l multiply reach the fragments as a broadcast tile.
    - Only warp-level syncs separate the phases of one warp's strip.

    Strategy `mma_sync` is rejected with a diagnostic (not implemented yet).
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect"
  ];
}

#endif // FLASHC_CONVERSION_PASSES_TD
