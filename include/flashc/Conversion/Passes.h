//===- Passes.h - flash dialect conversions ---------------------*- C++ -*-===//

#ifndef FLASHC_CONVERSION_PASSES_H
#define FLASHC_CONVERSION_PASSES_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::flash {
#define GEN_PASS_DECL
#include "flashc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "flashc/Conversion/Passes.h.inc"
} // namespace mlir::flash

#endif // FLASHC_CONVERSION_PASSES_H
