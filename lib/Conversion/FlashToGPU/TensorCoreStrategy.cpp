//===- TensorCoreStrategy.cpp - picking a strategy ------------------------===//

#include "TensorCoreStrategy.h"

using namespace mlir;
using namespace mlir::flash;

std::unique_ptr<TensorCoreStrategy>
flash::createTensorCoreStrategy(KernelContext &k) {
  switch (k.config.getStrategy()) {
  case Strategy::mma_sync:
    return createMmaSyncStrategy(k);
  case Strategy::wmma:
    return createWmmaStrategy(k);
  case Strategy::wgmma:
    return createWgmmaStrategy(k);
  }
  llvm_unreachable("unknown strategy");
}

SmallVector<Value> TensorCoreStrategy::convertRows(ArrayRef<Value> rows,
                                                   bool fromPartial,
                                                   bool toPartial) {
  assert(fromPartial == toPartial && "this strategy has no partial rows");
  return SmallVector<Value>(rows);
}
