//===- Wgmma.cpp - the Hopper warpgroup MMA strategy (sm_90a) -------------===//
//
// Each warpgroup (4 warps) computes 64 query rows with wgmma m64nNk16:
// S = Q·Kᵀ reads Q and K from shared memory through matrix descriptors, and
// O += P·V takes P from registers and V from shared memory. A wgmma
// accumulator holds, in each warp, the same rows and columns as mma.sync's
// m16n8 fragments (lane l: rows l/4 and l/4+8, columns 2(l%4)+{0,1} of each
// 8-column tile), and its A registers the same as mma.sync's A fragment. So
// everything but the products and the shared-memory layout is MmaSync's:
// scores, softmax, rescales, the split merge and the stores.
//
// Shared memory: Q, K and V rows in blocks of 64 columns (128 bytes), each
// block [rows][64] contiguous, with each 16-byte chunk's index XORed with
// row % 8: the 128-byte swizzle that the descriptors name. Buffers start at
// multiples of 1 KiB (whole 8-row swizzle atoms) from the dynamic buffer,
// which must itself start on a 1 KiB boundary (allocateScratch checks).
//
//===----------------------------------------------------------------------===//

#include "MmaSync.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Elements of a 128-byte swizzled row, and bytes of one 8-row atom.
constexpr int64_t kAtomColumns = 64;
constexpr int64_t kAtomRowBytes = 128;
constexpr int64_t kAtomBytes = 8 * kAtomRowBytes;
/// Query rows of one warpgroup's products.
constexpr int64_t kWarpgroupRows = 64;

class Wgmma : public MmaSync {
public:
  using MmaSync::MmaSync;

  int64_t qkvRowStride() const override { return kAtomColumns; }
  Value qkvColumn(Value row, Value laneCol, int64_t constCol,
                  int64_t bufferRows) override;
  int64_t qkvBufferElements(int64_t rows) const override {
    return rows * k.headDim;
  }
  void afterCopiesLanded() override;
  void allocateScratch(int64_t &offset) override;
  SmallVector<Value> loadQ(Value) override { return {}; }
  FailureOr<TileStorage> dot(DotOp op, const TileStorage &lhs,
                             const TileStorage &rhs,
                             const TileStorage *acc) override;
  // mma_sync's staging reads the kept tile by ldmatrix in mma_sync's layout;
  // wgmma's 64-column blocks would put columns past 64 in the wrong place.
  LogicalResult atomicAddTransposedDot(Operation *op, const TileStorage &,
                                       const TileStorage &, Value, Value, Value,
                                       Value, Value, Value, bool) override {
    return op->emitOpError("flash-to-gpu: flash.atomic_add_dot needs "
                           "strategy mma_sync");
  }

private:
  /// A 128-byte-swizzle matrix descriptor of the operand at `address`:
  /// `leadingBytes` between 64-column blocks along N (MN-major operands
  /// only), 1 KiB between 8-row groups.
  Value descriptor(Value address, int64_t leadingBytes);
  /// `desc` moved on by `bytes` (a multiple of 16).
  Value advance(Value desc, int64_t bytes);
  /// The values passed through an empty asm with side effects: the wgmma
  /// fences order register accesses, and LLVM would otherwise move the
  /// arithmetic that produces or reads the accumulators across them.
  SmallVector<Value> pin(ArrayRef<Value> values, StringRef constraint);
  /// Accumulator fragments (vector<2x2xf32>) to and from wgmma's registers
  /// (4 per 8-column tile: row r, r, r+8, r+8).
  SmallVector<Value> flatten(ArrayRef<Value> fragments);
  SmallVector<Value> fragments(ArrayRef<Value> registers);
  LLVM::LLVMStructType accumulatorType(int64_t n);
  Value toStruct(ArrayRef<Value> registers);
  SmallVector<Value> fromStruct(Value s, int64_t n);
  /// Q·Kᵀ (+ `acc`'s registers, else into new scores) for this warpgroup,
  /// both operands from shared memory (nvvm.wgmma).
  SmallVector<Value> productQK(const TileStorage &q, const TileStorage &kTile,
                               int64_t n, ArrayRef<Value> acc);
  /// acc += P·V with P from registers: inline PTX, since MLIR 22's
  /// nvvm.wgmma.mma_async takes A only as a shared-memory descriptor.
  SmallVector<Value> productPV(const TileStorage &p, const TileStorage &v,
                               SmallVector<Value> acc);
};

} // namespace

Value Wgmma::qkvColumn(Value row, Value laneCol, int64_t constCol,
                       int64_t bufferRows) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value col = constCol ? k.add(laneCol, k.idx(constCol)) : laneCol;
  Value block = arith::DivUIOp::create(b, loc, col, k.idx(kAtomColumns));
  Value chunk = arith::DivUIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, col, k.idx(kAtomColumns)),
      k.idx(kChunkElements));
  Value swizzled = arith::XOrIOp::create(
      b, loc, chunk, arith::RemUIOp::create(b, loc, row, k.idx(8)));
  return k.add(k.mul(block, k.idx(bufferRows * kAtomColumns)),
               k.mul(swizzled, k.idx(kChunkElements)));
}

void Wgmma::allocateScratch(int64_t &) {
  // The hardware swizzles by address, the copies by row: they agree only if
  // the dynamic buffer starts on a 1 KiB boundary. It does, as the kernel's
  // first shared memory, but the lowering declares it 16-byte aligned only,
  // and aligning it at run time cost 5 % at head_dim 64 (registers): so a
  // kernel that finds it misaligned traps rather than compute wrong
  // results.
  OpBuilder &b = k.b;
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, k.loc,
                                                              k.sharedBuffer());
  Value misaligned = arith::CmpIOp::create(
      b, k.loc, arith::CmpIPredicate::ne,
      arith::AndIOp::create(b, k.loc, base, k.idx(kAtomBytes - 1)), k.idx(0));
  auto ifOp = scf::IfOp::create(b, k.loc, misaligned, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  LLVM::Trap::create(b, k.loc);
}

void Wgmma::afterCopiesLanded() {
  // cp.async writes through the generic proxy and wgmma reads through the
  // async proxy: each writing thread fences before the barrier.
  NVVM::FenceProxyOp::create(
      k.b, k.loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(k.b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

Value Wgmma::descriptor(Value address, int64_t leadingBytes) {
  // PTX's matrix descriptor: start address, leading and stride byte
  // offsets (each >> 4, 14 bits), and the swizzle mode (1: 128 bytes) in
  // bits 62-63. The nvgpu op that builds one wants a TMA descriptor's type,
  // which these cp.async-filled tiles do not have.
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, loc, i64, v).getResult();
  };
  // Shared-window addresses fit 18 bits (228 KiB); the field keeps 14
  // bits of address >> 4.
  constexpr int64_t kSharedAddressMask = (1 << 18) - 1;
  Value start = arith::ShRUIOp::create(
      b, loc,
      arith::AndIOp::create(b, loc, address, constant(kSharedAddressMask)),
      constant(4));
  int64_t fields = ((leadingBytes >> 4) << 16) | ((kAtomBytes >> 4) << 32) |
                   (int64_t(1) << 62);
  return arith::OrIOp::create(b, loc, start, constant(fields));
}

Value Wgmma::advance(Value desc, int64_t bytes) {
  assert(bytes % 16 == 0 && "descriptor addresses are in 16-byte units");
  if (bytes == 0)
    return desc;
  return arith::AddIOp::create(
      k.b, k.loc, desc,
      arith::ConstantIntOp::create(k.b, k.loc, k.b.getI64Type(), bytes >> 4));
}

/// Inline-asm constraints: `count` outputs "=`constraint`", then (after
/// the caller's other inputs) inputs tied to them ("0", "1", ...).
static std::string outputConstraints(size_t count, StringRef constraint) {
  std::string text;
  for (size_t i = 0; i < count; ++i)
    text += (i ? ",=" : "=") + constraint.str();
  return text;
}
static std::string tiedConstraints(size_t count) {
  std::string text;
  for (size_t i = 0; i < count; ++i)
    text += "," + std::to_string(i);
  return text;
}

SmallVector<Value> Wgmma::pin(ArrayRef<Value> values, StringRef constraint) {
  if (values.empty())
    return {};
  std::string constraints = outputConstraints(values.size(), constraint) +
                            tiedConstraints(values.size());
  SmallVector<Type> types(ValueRange(values).getTypes());
  auto type = LLVM::LLVMStructType::getLiteral(k.b.getContext(), types);
  auto asmOp = LLVM::InlineAsmOp::create(
      k.b, k.loc, type, values, "", constraints, /*has_side_effects=*/true,
      /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr(), ArrayAttr());
  SmallVector<Value> out;
  for (size_t i = 0; i < values.size(); ++i)
    out.push_back(LLVM::ExtractValueOp::create(k.b, k.loc, types[i],
                                               asmOp.getResult(0), i));
  return out;
}

SmallVector<Value> Wgmma::flatten(ArrayRef<Value> fragments) {
  SmallVector<Value> registers;
  for (Value fragment : fragments)
    registers.append(accumulatorRegisters(fragment));
  return registers;
}

SmallVector<Value> Wgmma::fragments(ArrayRef<Value> registers) {
  SmallVector<Value> out;
  for (size_t i = 0; i < registers.size(); i += 4)
    out.push_back(accumulatorFragment(registers.slice(i, 4)));
  return out;
}

LLVM::LLVMStructType Wgmma::accumulatorType(int64_t n) {
  return LLVM::LLVMStructType::getLiteral(
      k.b.getContext(), SmallVector<Type>(n / 2, k.b.getF32Type()));
}

Value Wgmma::toStruct(ArrayRef<Value> registers) {
  Value s =
      LLVM::UndefOp::create(k.b, k.loc, accumulatorType(2 * registers.size()));
  for (auto [i, value] : llvm::enumerate(registers))
    s = LLVM::InsertValueOp::create(k.b, k.loc, s, value, i);
  return s;
}

SmallVector<Value> Wgmma::fromStruct(Value s, int64_t n) {
  SmallVector<Value> registers;
  for (int64_t i = 0; i < n / 2; ++i)
    registers.push_back(
        LLVM::ExtractValueOp::create(k.b, k.loc, k.b.getF32Type(), s, i));
  return registers;
}

SmallVector<Value> Wgmma::productQK(const TileStorage &q,
                                    const TileStorage &kTile, int64_t n,
                                    ArrayRef<Value> accIn) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t rowBytes = k.headDim * kElementBytes;
  // This warpgroup's 64 rows of Q, and the stage of K.
  Value groupRow =
      k.mul(arith::DivUIOp::create(b, loc, k.warpRow, k.idx(kWarpgroupRows)),
            k.idx(kWarpgroupRows));
  Value qDesc =
      descriptor(sharedWindowAddress(k.b, k.loc, q.memref,
                                     k.mul(groupRow, k.idx(kAtomRowBytes))),
                 0);
  Value kDesc =
      descriptor(sharedWindowAddress(k.b, k.loc, kTile.memref,
                                     k.mul(kTile.rowBase, k.idx(rowBytes))),
                 0);
  auto elementType =
      k.element.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  auto shape = NVVM::MMAShapeAttr::get(b.getContext(), 64, n, 16);
  // New scores: the first k slice scales D by 0, so D need not be set.
  Value acc =
      accIn.empty()
          ? LLVM::UndefOp::create(b, loc, accumulatorType(n)).getResult()
          : toStruct(pin(accIn, "f"));
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t kk = 0; kk < k.headDim / kSliceK; ++kk) {
    // k slice kk: 32 bytes into a row of 64-column block kk / 4.
    auto offset = [&](int64_t rows) {
      return (kk / 4) * rows * kAtomRowBytes + (kk % 4) * 32;
    };
    acc = NVVM::WgmmaMmaAsyncOp::create(
        b, loc, acc.getType(), acc, advance(qDesc, offset(k.blockM)),
        advance(kDesc, offset(k.blockN)), shape, elementType, elementType,
        NVVM::WGMMATypes::f32,
        kk == 0 && accIn.empty() ? NVVM::WGMMAScaleOut::zero
                                 : NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
        NVVM::MMALayout::col,
        /*satfinite=*/NVVM::MMAIntOverflowAttr());
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  return pin(fromStruct(acc, n), "f");
}

SmallVector<Value> Wgmma::productPV(const TileStorage &p, const TileStorage &v,
                                    SmallVector<Value> acc) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t n = k.headDim, regs = n / 2;
  int64_t rowBytes = k.headDim * kElementBytes;
  // V is MN-major (N = head_dim contiguous): 64-column blocks blockN rows
  // apart, and k slice kk starts 16 rows down.
  Value vDesc =
      descriptor(sharedWindowAddress(k.b, k.loc, v.memref,
                                     k.mul(v.rowBase, k.idx(rowBytes))),
                 k.blockN * kAtomRowBytes);
  std::string type = k.element.isBF16() ? "bf16" : "f16";
  std::string asmText = "wgmma.mma_async.sync.aligned.m64n" +
                        std::to_string(n) + "k16.f32." + type + "." + type +
                        " {";
  for (int64_t i = 0; i < regs; ++i)
    asmText += (i ? ", $" : "$") + std::to_string(i);
  // A's four registers, B's descriptor; scale-d 1 (accumulate), scales 1,
  // B transposed (MN-major).
  asmText += "}, {$" + std::to_string(regs) + ", $" + std::to_string(regs + 1) +
             ", $" + std::to_string(regs + 2) + ", $" +
             std::to_string(regs + 3) + "}, $" + std::to_string(regs + 4) +
             ", 1, 1, 1, 1;";
  std::string constraints =
      outputConstraints(regs, "f") + ",r,r,r,r,l" + tiedConstraints(regs);
  // One strip a warp (a verifier rule): P holds blockN / 16 A fragments.
  SmallVector<Value> allA;
  for (int64_t kk = 0; kk < k.blockN / kSliceK; ++kk)
    allA.append(packedRegisters(p.values[kk], 4));
  allA = pin(allA, "r");
  acc = pin(acc, "f");
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t kk = 0; kk < k.blockN / kSliceK; ++kk) {
    SmallVector<Value> operands(allA.begin() + 4 * kk,
                                allA.begin() + 4 * kk + 4);
    operands.push_back(advance(vDesc, kk * kSliceK * kAtomRowBytes));
    operands.append(acc);
    auto asmOp = LLVM::InlineAsmOp::create(
        b, loc, accumulatorType(n), operands, asmText, constraints,
        /*has_side_effects=*/true, /*is_align_stack=*/false,
        LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
        ArrayAttr());
    acc = fromStruct(asmOp.getResult(0), n);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  return pin(acc, "f");
}

FailureOr<TileStorage> Wgmma::dot(DotOp op, const TileStorage &lhs,
                                  const TileStorage &rhs,
                                  const TileStorage *accIn) {
  // The descriptors name K-major K for Q·Kᵀ and MN-major V for P·V; the
  // other forms the dialect allows (Q·V, P·Kᵀ) would need the other majors.
  if (lhs.isQ != op.getTransposeRhs())
    return op.emitOpError()
           << "flash-to-gpu: wgmma multiplies Q by a transposed K/V tile "
              "(Q·Kᵀ) or probabilities by an untransposed one (P·V), not "
           << (lhs.isQ ? "Q by an untransposed one"
                       : "probabilities by a transposed one");
  int64_t n = op.getType().getDimSize(1);
  SmallVector<Value> acc;
  if (accIn)
    acc = flatten(accIn->values);
  TileStorage storage{accIn ? TileStorage::Kind::Acc
                            : TileStorage::Kind::Scores};
  storage.cols = n;
  if (lhs.isQ) {
    storage.values = fragments(productQK(lhs, rhs, n, acc));
    return storage;
  }
  // P·V (n = head_dim, the K/V tile's columns), from zero without acc.
  if (!accIn)
    acc.assign(n / 2, k.f32(0.0f));
  storage.values = fragments(productPV(lhs, rhs, acc));
  return storage;
}

std::unique_ptr<TensorCoreStrategy>
flash::createWgmmaStrategy(KernelContext &k) {
  return std::make_unique<Wgmma>(k);
}
