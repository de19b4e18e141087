//===- WmmaEmitter.h - m16n16k16 WMMA fragments, f16 and bf16 ---*- C++ -*-===//
//
// One interface over the two ways this project reaches WMMA: f16 through the
// gpu dialect (gpu.subgroup_mma_*), bf16 through inline PTX, because neither
// the gpu dialect nor the NVVM dialect's wmma ops accept bf16
// (docs/Pipeline.md, "Upstream traps"; NVVMOps.td lists f16, tf32, s8/u8 and
// f64 WMMA only). Accumulators
// are f32 `!gpu.mma_matrix<16x16xf32, "COp">` in both cases, so everything
// but the A/B loads and the mma itself is shared.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_WMMAEMITTER_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_WMMAEMITTER_H

#include "mlir/IR/Builders.h"

namespace mlir::flash {

class WmmaEmitter {
public:
  WmmaEmitter(OpBuilder &builder, Location loc, Type operandType)
      : b(builder), loc(loc), operandType(operandType) {}

  /// A operand (16x16, row-major) at `memref[row, col]`, leading dim `ld`.
  Value loadA(Value memref, Value row, Value col, int64_t ld);
  /// B operand (16x16) at `memref[row, col]`: row-major, or with
  /// `transposed` the 16x16 block read as Bᵀ (column-major B).
  Value loadB(Value memref, Value row, Value col, int64_t ld, bool transposed);
  /// f32 accumulator at `memref[row, col]` (row-major).
  Value loadC(Value memref, Value row, Value col, int64_t ld);
  Value splatC(float value);
  void storeC(Value acc, Value memref, Value row, Value col, int64_t ld);
  /// acc + a·b; `bTransposed` as given to loadB.
  Value mma(Value a, Value b, Value acc, bool bTransposed);
  /// Element-wise product of two accumulators (same layout).
  Value mulC(Value lhs, Value rhs);

private:
  bool isBF16() const;
  Value sharedAddress(Value memref, Value row, Value col, int64_t ld);
  Value loadBF16(StringRef frag, StringRef layout, Value memref, Value row,
                 Value col, int64_t ld);

  OpBuilder &b;
  Location loc;
  Type operandType;
};

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_WMMAEMITTER_H
