/*===- flashc-c/Dialect.h - the flash dialect for MLIR's C API ---*- C -*-===*\
|*                                                                            *|
|* For toolchains that drive MLIR through its C API (and its Python           *|
|* bindings): the flash dialect's handle, to register it in a context or a   *|
|* registry with mlirDialectHandleRegisterDialect and friends. Part of the   *|
|* `mlir` component of flashc's CMake package (target flashc::FlashCAPI).    *|
\*===----------------------------------------------------------------------===*/

#ifndef FLASHC_C_DIALECT_H
#define FLASHC_C_DIALECT_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Flash, flash);

#ifdef __cplusplus
}
#endif

#endif /* FLASHC_C_DIALECT_H */
