//===- MmaSync.cpp - the mma.sync m16n8k16 strategy -----------------------===//
//
// ldmatrix feeds mma.sync m16n8k16; S, P, the row statistics and O stay in
// registers. Fragments follow PTX's documented layout: lane l holds rows
// l/4 and l/4+8 and columns 2(l%4)+{0,1} of each n8 accumulator tile
// (vector<2x2xf32>: [row half][element]), so a row's values are spread over
// the four lanes of a quad. Q/K/V rows in shared memory are unpadded, with
// each 16-byte chunk's index XORed with row % 8 against bank conflicts.
//
//===----------------------------------------------------------------------===//

#include "MmaSync.h"

#include "ScoreMods.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::flash;

namespace mlir::flash {

/// The scores of a strip as the fragments hold them: x[half][j][e] for n8
/// tile j, element e, extracted (and masked) once, up front.
class MmaScoreStrip : public ScoreStrip {
public:
  MmaScoreStrip(MmaSync &tc, KernelContext &k, const TileStorage &scores,
                int64_t strip, bool masked)
      : k(k), strip(strip), cols(scores.cols) {
    for (int64_t half = 0; half < 2; ++half) {
      Value row =
          k.add(k.add(k.warpRow, k.idx(16 * strip + 8 * half)), tc.quad);
      for (int64_t j = 0; j < cols / kTileCols; ++j)
        for (int64_t e = 0; e < 2; ++e) {
          Value value = vector::ExtractOp::create(
              k.b, k.loc, scores.values[strip * (cols / kTileCols) + j],
              ArrayRef<int64_t>{half, e});
          Value col = needsCoordinates(scores, masked)
                          ? k.add(k.idx(kTileCols * j + e), tc.pairCol)
                          : Value();
          if (scores.withTangents) {
            auto [modified, tangent] =
                applyScoreModsWithTangent(k, scores, value, row, col, masked);
            value = modified;
            t[half].push_back(tangent);
          } else if (col) {
            value = applyScoreMods(k, scores, value, row, col, masked);
          }
          x[half].push_back(value);
        }
    }
  }
  int64_t rowSlots() const override { return 2; }
  int64_t elementsPerRow() const override { return 2 * (cols / kTileCols); }
  Value element(int64_t slot, int64_t j) override { return x[slot][j]; }
  Value tangent(int64_t slot, int64_t j) override {
    return t[slot].empty() ? Value() : t[slot][j];
  }
  void setProbability(int64_t slot, int64_t, Value p) override {
    probs[slot].push_back(p);
  }
  void finish(SmallVectorImpl<Value> &fragments) override {
    // Two adjacent n8 tiles of P are one A fragment (k16) of P·V:
    // [row r: tile 2kk] [row r+8: tile 2kk] [row r: 2kk+1] [row r+8: 2kk+1].
    auto fragType = VectorType::get({4, 2}, k.element);
    for (int64_t kk = 0; kk < cols / kSliceK; ++kk) {
      SmallVector<Value> elems;
      for (int64_t t = 0; t < 2; ++t)
        for (int64_t half = 0; half < 2; ++half)
          for (int64_t e = 0; e < 2; ++e)
            elems.push_back(arith::TruncFOp::create(
                k.b, k.loc, k.element, probs[half][(2 * kk + t) * 2 + e]));
      fragments.push_back(k.buildVector(fragType, elems));
    }
  }

private:
  KernelContext &k;
  int64_t strip, cols;
  SmallVector<Value> x[2], t[2], probs[2];
};

} // namespace mlir::flash

Value MmaSync::qkvColumn(Value row, Value laneCol, int64_t constCol, int64_t) {
  OpBuilder &b = k.b;
  // Padded rows (an odd number of 16-byte chunks apart) spread ldmatrix's
  // eight rows over the banks without a swizzle.
  if (!mmaSyncSwizzlesRows(k.headDim))
    return constCol ? k.add(laneCol, k.idx(constCol)) : laneCol;
  // A multiple of 8 chunks a row, so the XOR stays inside the row.
  // The column is split into a lane-dependent part d and a constant part c
  // (in chunks), whose bits callers keep apart (d < 2 and c even, or c = 0):
  // then (c + d) ^ r = (c & ~7) + ((c & 7) ^ (d ^ r)) with r = row % 8.
  // d ^ r is the same for every c, so LLVM computes it once and each
  // access costs at most one XOR, and accesses 8 chunks apart share it
  // with an immediate offset (a plain (c + d) ^ r kept a register per
  // address).
  assert(constCol % kChunkElements == 0 &&
         "swizzle: constant column in whole chunks");
  int64_t c = constCol / kChunkElements;
  Value laneBits = arith::XOrIOp::create(
      b, k.loc, arith::DivUIOp::create(b, k.loc, laneCol, k.idx(8)),
      arith::RemUIOp::create(b, k.loc, row, k.idx(8)));
  Value low =
      c & 7
          ? arith::XOrIOp::create(b, k.loc, laneBits, k.idx(c & 7)).getResult()
          : laneBits;
  return k.add(k.mul(low, k.idx(kChunkElements)),
               k.idx((c & ~int64_t(7)) * kChunkElements));
}

Value MmaSync::ldmatrix(Value memref, Value row, Value laneCol,
                        int64_t constCol, bool transpose) {
  auto type = VectorType::get({4, 2}, k.element);
  return nvgpu::LdMatrixOp::create(
      k.b, k.loc, type, memref,
      // mma_sync's rows are whole: the buffer's rows do not matter.
      ValueRange{row, qkvColumn(row, laneCol, constCol, /*bufferRows=*/0)},
      k.b.getBoolAttr(transpose), k.b.getI32IntegerAttr(4));
}

Value MmaSync::loadQFragment(Value qBuffer, int64_t strip, int64_t kk) {
  // ldmatrix.x4: lane l addresses row l%16, column half l/16.
  Value row = k.add(k.add(k.warpRow, k.idx(16 * strip)),
                    arith::RemUIOp::create(k.b, k.loc, k.lane, k.idx(16)));
  Value laneCol =
      k.mul(arith::DivUIOp::create(k.b, k.loc, k.lane, k.idx(16)), k.idx(8));
  return ldmatrix(qBuffer, row, laneCol, kSliceK * kk, false);
}

SmallVector<Value> MmaSync::loadQ(Value qBuffer) {
  SmallVector<Value> fragments;
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t kk = 0; kk < k.headDim / kSliceK; ++kk)
      fragments.push_back(loadQFragment(qBuffer, s, kk));
  return fragments;
}

Value MmaSync::mma(Value a, Value bFrag, Value acc) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  if (k.element.isF16())
    return nvgpu::MmaSyncOp::create(b, loc, a, bFrag, acc,
                                    ArrayRef<int64_t>{16, 8, 16});
  // bf16: nvgpu.mma.sync's lowering in MLIR 22 cannot deduce bf16 PTX
  // types, so the NVVM op it would produce is built directly: the same
  // instruction over the fragments' 32-bit registers (bf16 pairs, as
  // nvgpu.ldmatrix lays them out).
  Type f32Type = b.getF32Type();
  SmallVector<Value> aRegs = packedRegisters(a, 4);
  SmallVector<Value> bRegs = packedRegisters(bFrag, 2);
  SmallVector<Value> cRegs = accumulatorRegisters(acc);
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, f32Type));
  auto mmaOp = NVVM::MmaOp::create(
      b, loc, resultType, aRegs, bRegs, cRegs, ArrayRef<int64_t>{16, 8, 16},
      /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(
        LLVM::ExtractValueOp::create(b, loc, f32Type, mmaOp.getResult(), i));
  return accumulatorFragment(out);
}

SmallVector<Value> MmaSync::packedRegisters(Value fragment, int64_t rows) {
  auto i32x1 = VectorType::get({1}, k.b.getI32Type());
  SmallVector<Value> regs;
  for (int64_t r = 0; r < rows; ++r) {
    Value row =
        vector::ExtractOp::create(k.b, k.loc, fragment, ArrayRef<int64_t>{r});
    Value asInt = vector::BitCastOp::create(k.b, k.loc, i32x1, row);
    regs.push_back(
        vector::ExtractOp::create(k.b, k.loc, asInt, ArrayRef<int64_t>{0}));
  }
  return regs;
}

SmallVector<Value> MmaSync::accumulatorRegisters(Value fragment) {
  SmallVector<Value> regs;
  for (int64_t half = 0; half < 2; ++half)
    for (int64_t e = 0; e < 2; ++e)
      regs.push_back(vector::ExtractOp::create(k.b, k.loc, fragment,
                                               ArrayRef<int64_t>{half, e}));
  return regs;
}

Value MmaSync::accumulatorFragment(ArrayRef<Value> registers) {
  return k.buildVector(VectorType::get({2, 2}, k.b.getF32Type()), registers);
}

Value MmaSync::sliceB(Value x4, int64_t which) {
  SmallVector<Value> elems;
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t e = 0; e < 2; ++e)
      elems.push_back(vector::ExtractOp::create(
          k.b, k.loc, x4, ArrayRef<int64_t>{2 * which + r, e}));
  return k.buildVector(VectorType::get({2, 2}, k.element), elems);
}

Value MmaSync::zeroFragment() {
  auto type = VectorType::get({2, 2}, k.b.getF32Type());
  return arith::ConstantOp::create(
      k.b, k.loc, DenseElementsAttr::get(type, k.b.getF32FloatAttr(0.0f)));
}

FailureOr<SmallVector<Value>>
MmaSync::splatAccumulator(float value, RankedTensorType type, Operation *user) {
  if (value != 0.0f || type.getDimSize(0) != k.blockM) {
    user->emitOpError("flash-to-gpu: accumulator inits must be zero");
    return failure();
  }
  return SmallVector<Value>(k.strips * (type.getDimSize(1) / kTileCols),
                            zeroFragment());
}

FailureOr<TileStorage> MmaSync::dot(DotOp op, const TileStorage &lhs,
                                    const TileStorage &rhs,
                                    const TileStorage *accIn) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value lane = k.lane;
  int64_t n = op.getType().getDimSize(1);
  int64_t kDim = op.getLhs().getType().getDimSize(1);
  int64_t strips = k.strips;
  bool transposed = op.getTransposeRhs();
  bool lhsFromShared = lhs.isQ && !k.policy.qInRegisters();
  // The verifiers tie k to Q's head_dim or to the probabilities' columns.
  assert((lhsFromShared || lhs.values.size() == size_t(strips * (kDim / 16))) &&
         "lhs fragments match the tile");
  Value laneMod8 = arith::RemUIOp::create(b, loc, lane, k.idx(8));
  Value laneMod16 = arith::RemUIOp::create(b, loc, lane, k.idx(16));
  Value laneDiv8Mod2 = arith::RemUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, lane, k.idx(8)), k.idx(2));
  Value laneDiv16 = arith::DivUIOp::create(b, loc, lane, k.idx(16));
  // B fragments for n8 tiles j and j+1 and k16 slice kk, by one ldmatrix.x4.
  auto rhsPair = [&](int64_t j, int64_t kk) -> Value {
    if (transposed) {
      // K rows are the n index: no transpose; lanes 16-31 take rows +8.
      Value row = k.add(k.add(rhs.rowBase, k.idx(8 * j)),
                        k.add(laneMod8, k.mul(laneDiv16, k.idx(8))));
      return ldmatrix(rhs.memref, row, k.mul(laneDiv8Mod2, k.idx(8)), 16 * kk,
                      false);
    }
    // V rows are the k index: transpose; lanes 16-31 take columns +8.
    Value row = k.add(k.add(rhs.rowBase, k.idx(16 * kk)), laneMod16);
    return ldmatrix(rhs.memref, row, k.mul(laneDiv16, k.idx(8)), 8 * j, true);
  };
  SmallVector<Value> acc;
  if (accIn) {
    acc = accIn->values;
  } else {
    acc.assign(strips * (n / kTileCols), Value());
    for (Value &v : acc)
      v = zeroFragment();
  }
  // k slices outermost: an A fragment read from shared memory is read once
  // per step and used for every n tile; each B pair serves every strip.
  // (Loading slice kk + 1 before the products of slice kk, as software
  // pipelining would, gives the same SASS: ptxas schedules them itself.)
  int64_t tiles = n / kTileCols;
  for (int64_t kk = 0; kk < kDim / kSliceK; ++kk) {
    SmallVector<Value> a;
    for (int64_t s = 0; s < strips; ++s)
      a.push_back(lhsFromShared ? loadQFragment(lhs.memref, s, kk)
                                : lhs.values[s * (kDim / kSliceK) + kk]);
    for (int64_t j = 0; j < tiles; j += 2) {
      Value pair = rhsPair(j, kk);
      Value b0 = sliceB(pair, 0), b1 = sliceB(pair, 1);
      for (int64_t s = 0; s < strips; ++s) {
        acc[s * tiles + j] = mma(a[s], b0, acc[s * tiles + j]);
        acc[s * tiles + j + 1] = mma(a[s], b1, acc[s * tiles + j + 1]);
      }
    }
  }
  TileStorage storage{accIn ? TileStorage::Kind::Acc
                            : TileStorage::Kind::Scores};
  storage.values = acc;
  storage.cols = n;
  return storage;
}

void MmaSync::beginScores() {
  quad = arith::DivUIOp::create(k.b, k.loc, k.lane, k.idx(4));
  pairCol =
      k.mul(arith::RemUIOp::create(k.b, k.loc, k.lane, k.idx(4)), k.idx(2));
}

std::unique_ptr<ScoreStrip> MmaSync::scoreStrip(const TileStorage &scores,
                                                int64_t strip, bool masked) {
  assert(quad && pairCol && "beginScores comes first");
  return std::make_unique<MmaScoreStrip>(*this, k, scores, strip, masked);
}

FailureOr<SmallVector<Value>> MmaSync::laneColumns(int64_t cols) {
  // Element 2t + e of a row is column 8t + 2(l%4) + e (MmaScoreStrip).
  Value laneCol =
      k.mul(arith::RemUIOp::create(k.b, k.loc, k.lane, k.idx(4)), k.idx(2));
  SmallVector<Value> columns;
  for (int64_t t = 0; t < cols / kTileCols; ++t)
    for (int64_t e = 0; e < 2; ++e)
      columns.push_back(k.add(laneCol, k.idx(kTileCols * t + e)));
  return columns;
}

SmallVector<Type> MmaSync::probabilityTypes(int64_t cols) {
  return SmallVector<Type>(cols / kSliceK, VectorType::get({4, 2}, k.element));
}

TileStorage MmaSync::finishScores(int64_t cols, ArrayRef<Value> probs) {
  TileStorage storage{TileStorage::Kind::Probs};
  storage.cols = cols;
  storage.values.assign(probs.begin(), probs.end());
  return storage;
}

Value MmaSync::reduceRowMax(Value laneMax) {
  // The four lanes of a quad share a row.
  Value rowMax =
      arith::MaximumFOp::create(k.b, k.loc, laneMax, k.shuffleXor(laneMax, 1));
  return arith::MaximumFOp::create(k.b, k.loc, rowMax, k.shuffleXor(rowMax, 2));
}

SmallVector<Value> MmaSync::convertRows(ArrayRef<Value> rows, bool fromPartial,
                                        bool toPartial) {
  SmallVector<Value> out(rows);
  if (fromPartial == toPartial)
    return out;
  OpBuilder &b = k.b;
  if (toPartial) {
    // The row's value in the quad's first lane, 0 in the others.
    Value first = arith::CmpIOp::create(
        b, k.loc, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(b, k.loc, k.lane, k.idx(4)), k.idx(0));
    for (Value &value : out)
      value = arith::SelectOp::create(b, k.loc, first, value, k.f32(0.0f));
    return out;
  }
  for (Value &value : out) {
    value = arith::AddFOp::create(b, k.loc, value, k.shuffleXor(value, 1));
    value = arith::AddFOp::create(b, k.loc, value, k.shuffleXor(value, 2));
  }
  return out;
}

SmallVector<Value> MmaSync::scaleRows(ArrayRef<Value> acc,
                                      ArrayRef<Value> rows) {
  SmallVector<Value> out;
  int64_t perStrip = acc.size() / k.strips;
  auto type = VectorType::get({2, 2}, k.b.getF32Type());
  for (int64_t s = 0; s < k.strips; ++s) {
    Value r0 = rows[2 * s], r1 = rows[2 * s + 1];
    Value factor = k.buildVector(type, {r0, r0, r1, r1});
    for (int64_t j = 0; j < perStrip; ++j)
      out.push_back(
          arith::MulFOp::create(k.b, k.loc, acc[s * perStrip + j], factor));
  }
  return out;
}

void MmaSync::storeOutput(ArrayRef<Value> acc, Value o, Value batch, Value head,
                          Value row0, Value seq) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value quadRow = arith::DivUIOp::create(b, loc, k.lane, k.idx(4));
  Value laneCol =
      k.mul(arith::RemUIOp::create(b, loc, k.lane, k.idx(4)), k.idx(2));
  int64_t perStrip = k.headDim / kTileCols;
  auto outType = VectorType::get({2}, k.element);
  for (int64_t s = 0; s < k.strips; ++s)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = k.add(
          row0, k.add(k.add(k.warpRow, k.idx(16 * s + 8 * half)), quadRow));
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, seq);
      auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      for (int64_t j = 0; j < perStrip; ++j) {
        Value pair = vector::ExtractOp::create(b, loc, acc[s * perStrip + j],
                                               ArrayRef<int64_t>{half});
        Value rounded = arith::TruncFOp::create(b, loc, outType, pair);
        vector::StoreOp::create(
            b, loc, rounded, o,
            ValueRange{batch, head, row, k.add(k.idx(kTileCols * j), laneCol)},
            /*nontemporal=*/false, llvm::MaybeAlign(4));
      }
    }
}

std::unique_ptr<TensorCoreStrategy>
flash::createMmaSyncStrategy(KernelContext &k) {
  return std::make_unique<MmaSync>(k);
}
