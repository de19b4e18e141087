//===- FlashDialect.td - the flash dialect -----------------*- tablegen -*-===//

#ifndef FLASHC_DIALECT_FLASH_IR_FLASHDIALECT_TD
#define FLASHC_DIALECT_FLASH_IR_FLASHDIALECT_TD

include "mlir/IR/OpBase.td"

def Flash_Dialect : Dialect {
  let name = "flash";
  let cppNamespace = "::mlir::flash";
  let summary = "Tiled attention: a user level and a Triton-style tile level";
  let description = [{
    The `flash` dialect describes scaled dot-product attention at two levels.

    The user level is one op, `flash.attention`, on Q, K, V and O memrefs of
    shape `[batch, heads, seq, head_dim]`. The tile level spells out the tiled
    online-softmax algorithm that computes it: `flash.tiled` runs its region
    once per (query block, batch·head) program; inside it tile ops load a Q
    block, loop over K/V blocks (`flash.kv_loop`), multiply tiles on tensor
    cores (`flash.dot`), mask, take an online-softmax step, rescale and store.
    The pass `flash-expand-attention` rewrites the first level into the
    second; the GPU lowering (`flash-to-gpu`) works from the tile level only.
  }];
  let useDefaultAttributePrinterParser = 1;
  // math: the ops score_mod and mask_mod regions may hold.
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect"];
}

class Flash_Op<string mnemonic, list<Trait> traits = []>
    : Op<Flash_Dialect, mnemonic, traits>;

#endif // FLASHC_DIALECT_FLASH_IR_FLASHDIALECT_TD
