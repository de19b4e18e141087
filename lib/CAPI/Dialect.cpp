//===- Dialect.cpp - the flash dialect's MLIR C API handle ----------------===//

#include "flashc-c/Dialect.h"

#include "flashc/Dialect/Flash/IR/FlashDialect.h"

#include "mlir/CAPI/Registration.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Flash, flash, mlir::flash::FlashDialect)
