//===- Pipeline.h - flash to PTX: registration and pipelines ----*- C++ -*-===//
//
// One library behind flashc, flashc-opt and the C API: what to register, the
// pass pipelines from the flash dialect to PTX, and the PTX they produce.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_TARGET_PIPELINE_H
#define FLASHC_TARGET_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

#include "flashc/Runtime/Bundle.h"

#include <string>

namespace mlir::flash {

/// The flash dialect and every dialect, interface and translation the
/// pipeline to PTX goes through.
void registerFlashcDialects(DialectRegistry &registry);
/// The project's passes and the upstream passes the pipeline uses.
void registerFlashcPasses();

/// GPU architectures flashc compiles for.
bool isSupportedArch(llvm::StringRef chip);
/// Supported architectures, for messages: "sm_80, sm_86, sm_89, sm_90, sm_90a".
std::string supportedArchList();

struct TargetOptions {
  std::string chip = "sm_89";
  /// PTX ISA 8.0: accepted by ptxas for every supported chip and by drivers
  /// from CUDA 12 on. Pinned rather than left to LLVM's per-chip default
  /// (7.0 for sm_80, 7.8 for sm_89/sm_90) so that every target prints the
  /// same ISA; the upstream pipeline's +ptx60 aborts LLVM for sm_89.
  std::string features = "+ptx80";
  int optLevel = 3;
  /// Tune cache for flash-select-config ("" for none).
  std::string tuneCache;
  /// Strategy the heuristic must use ("" for the default).
  std::string strategy;
};

/// The tile level only: flash.attention -> flash.tiled.
void buildFlashToTilePipeline(OpPassManager &pm,
                              const TargetOptions &options = {});
/// flash.tiled -> gpu.module + gpu.launch_func (then canonicalize, CSE).
void buildTileToGPUPipeline(OpPassManager &pm);
/// gpu.module -> NVVM/LLVM dialect (the kernel, ready to serialise).
LogicalResult buildGPUToLLVMPipeline(OpPassManager &pm,
                                     const TargetOptions &options);
/// gpu.module -> gpu.binary holding PTX (upstream gpu-module-to-binary).
LogicalResult buildSerializePipeline(OpPassManager &pm);

/// The PTX of the single gpu.binary in `module`, NUL-free text.
FailureOr<std::string> extractPTX(ModuleOp module);

/// How far compileModule goes.
enum class Stage {
  Input, ///< parse and verify only
  Tile,  ///< the tile level (flash.tiled)
  GPU,   ///< gpu.module + gpu.launch_func (gpu, nvgpu, scf, ...)
  LLVM,  ///< the kernel in the NVVM/LLVM dialects
  PTX,   ///< serialised: gpu.binary with PTX
};

/// Launch metadata of the module's single flash.tiled program (the module
/// must be at the tile level).
FailureOr<flashc::KernelBundle> describeKernel(ModuleOp module,
                                               const TargetOptions &options);

/// Runs the pipeline on `module` up to `stage`. From Stage::Tile on,
/// `bundle` (if given) receives the launch metadata, and at Stage::PTX the
/// PTX too. Diagnostics go to the context's handler.
LogicalResult compileModule(ModuleOp module, Stage stage,
                            const TargetOptions &options,
                            flashc::KernelBundle *bundle = nullptr);

} // namespace mlir::flash

#endif // FLASHC_TARGET_PIPELINE_H
