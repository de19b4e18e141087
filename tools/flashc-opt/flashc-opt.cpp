//===- flashc-opt.cpp - mlir-opt for the flash dialect --------------------===//
//
// The flash dialect, the upstream dialects the pipeline lowers through, the
// project's passes and the upstream passes the pipeline uses.
//
//===----------------------------------------------------------------------===//

#include "flashc/Target/Pipeline.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::flash::registerFlashcDialects(registry);
  mlir::flash::registerFlashcPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "flashc optimizer driver\n", registry));
}
