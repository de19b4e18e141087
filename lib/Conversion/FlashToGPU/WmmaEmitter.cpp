//===- WmmaEmitter.cpp - m16n16k16 WMMA fragments, f16 and bf16 -----------===//

#include "WmmaEmitter.h"

#include "KernelContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::flash;

static gpu::MMAMatrixType fragType(Type element, StringRef operand) {
  return gpu::MMAMatrixType::get({16, 16}, element, operand);
}

bool WmmaEmitter::isBF16() const { return operandType.isBF16(); }

Value WmmaEmitter::loadA(Value memref, Value row, Value col, int64_t ld) {
  if (isBF16())
    return loadBF16("a", "row", memref, row, col, ld);
  return gpu::SubgroupMmaLoadMatrixOp::create(
      b, loc, fragType(operandType, "AOp"), memref, ValueRange{row, col},
      b.getIndexAttr(ld), UnitAttr());
}

Value WmmaEmitter::loadB(Value memref, Value row, Value col, int64_t ld,
                         bool transposed) {
  if (isBF16())
    return loadBF16("b", transposed ? "col" : "row", memref, row, col, ld);
  return gpu::SubgroupMmaLoadMatrixOp::create(
      b, loc, fragType(operandType, "BOp"), memref, ValueRange{row, col},
      b.getIndexAttr(ld), transposed ? b.getUnitAttr() : UnitAttr());
}

Value WmmaEmitter::loadC(Value memref, Value row, Value col, int64_t ld) {
  return gpu::SubgroupMmaLoadMatrixOp::create(
      b, loc, fragType(b.getF32Type(), "COp"), memref, ValueRange{row, col},
      b.getIndexAttr(ld), UnitAttr());
}

Value WmmaEmitter::splatC(float value) {
  Value scalar = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  return gpu::SubgroupMmaConstantMatrixOp::create(
      b, loc, fragType(b.getF32Type(), "COp"), scalar);
}

void WmmaEmitter::storeC(Value acc, Value memref, Value row, Value col,
                         int64_t ld) {
  gpu::SubgroupMmaStoreMatrixOp::create(b, loc, acc, memref,
                                        ValueRange{row, col},
                                        b.getIndexAttr(ld), UnitAttr());
}

Value WmmaEmitter::mulC(Value lhs, Value rhs) {
  return gpu::SubgroupMmaElementwiseOp::create(
      b, loc, lhs.getType(), ValueRange{lhs, rhs}, gpu::MMAElementwiseOp::MULF);
}

Value WmmaEmitter::mma(Value a, Value bFrag, Value acc, bool bTransposed) {
  if (!isBF16())
    return gpu::SubgroupMmaComputeOp::create(
        b, loc, acc.getType(), a, bFrag, acc, UnitAttr(),
        bTransposed ? b.getUnitAttr() : UnitAttr());
  // bf16: the accumulator crosses to the LLVM struct the gpu-to-nvvm type
  // converter gives it (8 x f32) and back; reconcile-unrealized-casts
  // removes the pair of casts.
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto accStruct = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                    SmallVector<Type>(8, f32));
  Value accIn =
      UnrealizedConversionCastOp::create(b, loc, accStruct, acc).getResult(0);
  SmallVector<Value> operands;
  for (Value frag : {a, bFrag})
    for (int64_t i = 0; i < 4; ++i)
      operands.push_back(LLVM::ExtractValueOp::create(b, loc, i32, frag, i));
  for (int64_t i = 0; i < 8; ++i)
    operands.push_back(LLVM::ExtractValueOp::create(b, loc, f32, accIn, i));
  std::string asmText =
      std::string("wmma.mma.sync.aligned.row.") +
      (bTransposed ? "col" : "row") +
      ".m16n16k16.f32.bf16.bf16.f32 {$0,$1,$2,$3,$4,$5,$6,$7}, "
      "{$8,$9,$10,$11}, {$12,$13,$14,$15}, "
      "{$16,$17,$18,$19,$20,$21,$22,$23};";
  std::string constraints = "=f,=f,=f,=f,=f,=f,=f,=f,r,r,r,r,r,r,r,r,f,f,f,f,"
                            "f,f,f,f";
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, accStruct, operands, asmText, constraints,
      /*has_side_effects=*/false, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
      ArrayAttr());
  return UnrealizedConversionCastOp::create(b, loc, acc.getType(),
                                            asmOp.getResult(0))
      .getResult(0);
}

Value WmmaEmitter::sharedAddress(Value memref, Value row, Value col,
                                 int64_t ld) {
  Value ldValue = arith::ConstantIndexOp::create(b, loc, ld);
  Value offset = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, row, ldValue), col);
  Value bytes = arith::MulIOp::create(
      b, loc, offset, arith::ConstantIndexOp::create(b, loc, 2));
  return sharedWindowAddress(b, loc, memref, bytes);
}

Value WmmaEmitter::loadBF16(StringRef frag, StringRef layout, Value memref,
                            Value row, Value col, int64_t ld) {
  Type i32 = b.getI32Type();
  auto fragStruct = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                     SmallVector<Type>(4, i32));
  Value address = sharedAddress(memref, row, col, ld);
  Value stride = arith::ConstantIntOp::create(b, loc, ld, 32);
  std::string asmText = ("wmma.load." + frag + ".sync.aligned." + layout +
                         ".m16n16k16.shared.bf16 {$0,$1,$2,$3}, [$4], $5;")
                            .str();
  // Not side-effect free: it reads shared memory that cp.async and other
  // lanes write, so it must stay after the barriers that publish them.
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, fragStruct, ValueRange{address, stride}, asmText,
      "=r,=r,=r,=r,l,r", /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
      ArrayAttr());
  return asmOp.getResult(0);
}
