//===- flash-embed-opt.cpp - an mlir-opt of a toolchain that embeds flash -===//
//
// Registers the flash dialect and passes beside the upstream dialects a
// toolchain has, as an out-of-tree project would, and runs MlirOptMain: the
// host code around flash.attention stays for the toolchain to lower. The
// dialect is registered twice on purpose: through the C++ entry point and
// through its MLIR C API handle (flashc-c/Dialect.h), which is what C and
// Python toolchains use.
//
//===----------------------------------------------------------------------===//

#include "flashc-c/Dialect.h"
#include "flashc/Conversion/Passes.h"
#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "flashc/Transforms/Passes.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

#include <cstdio>

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::memref::MemRefDialect, mlir::scf::SCFDialect>();
  mlir::flash::registerFlashDialect(registry);
  // The C API handle: its hooks insert the same dialect and name it.
  MlirDialectHandle handle = mlirGetDialectHandle__flash__();
  auto *hooks = static_cast<const MlirDialectRegistrationHooks *>(handle.ptr);
  hooks->insertHook(wrap(&registry));
  if (unwrap(hooks->getNamespaceHook()) != "flash") {
    std::fprintf(stderr, "flash-embed-opt: the C API handle is not flash's\n");
    return 1;
  }
  mlir::flash::registerFlashPasses();
  mlir::flash::registerFlashConversionPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "an mlir-opt that embeds the flash dialect", registry));
}
