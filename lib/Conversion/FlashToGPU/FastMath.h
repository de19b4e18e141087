//===- FastMath.h - the math of modifiers on the GPU's units ----*- C++ -*-===//
//
// convert-gpu-to-nvvm turns math.exp, math.tanh and the like into calls to
// libdevice, which the pipeline does not link (nor do the runtime's
// machines have it), and upstream's polynomial approximations are built for
// CPUs: a rational tanh costs a full-precision division per score. Here
// the common ones become the GPU's special-function units (ex2.approx,
// lg2.approx, rcp.approx, relative error about 2^-22), and the rest
// upstream's polynomials. Divisions by constants become products.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_FASTMATH_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_FASTMATH_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::flash {

/// Rewrites the math ops of `kernel` into arith and NVVM intrinsics.
LogicalResult expandMath(gpu::GPUFuncOp kernel);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_FASTMATH_H
