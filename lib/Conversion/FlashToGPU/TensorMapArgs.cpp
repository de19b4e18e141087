//===- TensorMapArgs.cpp - tensor maps as by-value grid constants ---------===//
//
// flash-tensor-map-args: a kernel's last `flash.tensor_maps` parameters
// become 128-byte by-value grid constants (Passes.td says why upstream
// cannot do it).
//
//===----------------------------------------------------------------------===//

#include "flashc/Conversion/LaunchPlan.h"
#include "flashc/Conversion/Passes.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHTENSORMAPARGS
#include "flashc/Conversion/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

namespace {
struct FlashTensorMapArgsPass
    : public mlir::flash::impl::FlashTensorMapArgsBase<FlashTensorMapArgsPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    auto mapType =
        LLVM::LLVMArrayType::get(IntegerType::get(context, 8), kTensorMapBytes);
    WalkResult result = getOperation().walk([&](LLVM::LLVMFuncOp func) {
      auto count = func->getAttrOfType<IntegerAttr>(kTensorMapArgsAttrName);
      if (!count)
        return WalkResult::advance();
      int64_t maps = count.getInt();
      unsigned args = func.getNumArguments();
      if (maps < 0 || maps > args) {
        func.emitOpError() << kTensorMapArgsAttrName << " = " << maps
                           << ", but the kernel has " << args << " parameters";
        return WalkResult::interrupt();
      }
      for (unsigned i = args - maps; i < args; ++i) {
        if (!isa<LLVM::LLVMPointerType>(func.getArgument(i).getType())) {
          func.emitOpError() << "parameter " << i
                             << " is a tensor map and must be !llvm.ptr, got "
                             << func.getArgument(i).getType();
          return WalkResult::interrupt();
        }
        func.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                        TypeAttr::get(mapType));
        func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                        IntegerAttr::get(IntegerType::get(context, 64),
                                         kTensorMapAlignment));
        func.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(),
                        UnitAttr::get(context));
      }
      func->removeAttr(kTensorMapArgsAttrName);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
