//===- ScoreMods.cpp - what is applied to each score element --------------===//

#include "ScoreMods.h"

#include "BlockMap.h"
#include "ScoreTangents.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>
#include <utility>

using namespace mlir;
using namespace mlir::flash;

Value flash::clampBelow(OpBuilder &b, Location loc, Value index, Value size) {
  Value last = arith::SubIOp::create(b, loc, size,
                                     arith::ConstantIndexOp::create(b, loc, 1));
  return arith::MinUIOp::create(b, loc, index, last);
}

Value flash::inlineModRegion(OpBuilder &b, Region &region, ValueRange args) {
  Block &body = region.front();
  IRMapping mapping;
  mapping.map(body.getArguments(), args);
  for (Operation &op : body.without_terminator())
    b.clone(op, mapping);
  return mapping.lookup(cast<YieldOp>(body.getTerminator()).getValues()[0]);
}

/// The arguments of the region of a flash.score_mod or flash.mask_mod for
/// one element. `keysInside`: the block's keys are all below seq_k (an
/// unmasked block of a program with flash.mask).
static SmallVector<Value> modRegionArgs(KernelContext &k,
                                        const ScoreModifier &mod,
                                        Region &region,
                                        std::optional<Value> score, Value row,
                                        Value col, bool keysInside) {
  SmallVector<Value> args;
  if (score)
    args.push_back(*score);
  Value q = k.add(mod.row, row), kv = k.add(mod.col, col);
  if (mod.transposed) {
    std::swap(q, kv);
    keysInside = false; // the unmasked branch bounds the queries then
  }
  if (loadsAtCoordinates(region, score ? ModKind::Score : ModKind::Mask)) {
    // Padding rows and keys past seq_k are discarded or masked; clamped,
    // their loads stay inside the captured data. (The row's clamp is one
    // per row; the key's, per element, only where keys may pass seq_k.)
    q = clampBelow(k.b, k.loc, q, mod.seqQ);
    if (!keysInside)
      kv = clampBelow(k.b, k.loc, kv, mod.seqK);
  }
  args.append({mod.batch, mod.head, q, kv, mod.seqQ, mod.seqK});
  llvm::append_range(args, mod.captures);
  return args;
}

/// The region cloned for one element: what it yields.
static Value inlineModRegion(KernelContext &k, const ScoreModifier &mod,
                             Region &region, std::optional<Value> score,
                             Value row, Value col, bool keysInside) {
  return flash::inlineModRegion(
      k.b, region, modRegionArgs(k, mod, region, score, row, col, keysInside));
}

static Value applyModifier(KernelContext &k, const ScoreModifier &mod,
                           Value value, Value row, Value col, bool keysInside) {
  if (auto scoreMod = dyn_cast<ScoreModOp>(mod.op))
    return inlineModRegion(k, mod, scoreMod.getBody(), value, row, col,
                           keysInside);
  if (auto maskMod = dyn_cast<MaskModOp>(mod.op)) {
    Value seen = inlineModRegion(k, mod, maskMod.getBody(), std::nullopt, row,
                                 col, keysInside);
    return arith::SelectOp::create(k.b, k.loc, seen, value, k.f32(-INFINITY));
  }
  // An elementwise op of the tile program, on scalars.
  OperationState state(k.loc, mod.op->getName());
  for (Value operand : mod.operands)
    state.addOperands(operand ? operand : value);
  state.addTypes(k.b.getF32Type());
  state.addAttributes(mod.op->getAttrs());
  return k.b.create(state)->getResult(0);
}

/// An i1: key `key` lies past the causal diagonal of query `query` (shifted
/// by the mask's diagonal, which may be negative: then compared signed).
static Value pastDiagonal(KernelContext &k, const TileStorage &scores,
                          Value key, Value query) {
  if (!scores.maskDiagonal)
    return arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ugt, key,
                                 query);
  return arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::sgt, key,
                               k.add(query, scores.maskDiagonal));
}

/// An i1: the mask of `scores` hides (`row`, `col`): columns at or past
/// the limit and, if causal, keys after the (shifted) diagonal of their
/// query (a column's key against a row's query, or transposed).
static Value maskHides(KernelContext &k, const TileStorage &scores, Value row,
                       Value col) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value column = k.add(scores.maskCol, col);
  Value bad = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, column,
                                    scores.maskLimit);
  if (scores.causal) {
    Value tileRow = k.add(scores.maskRow, row);
    Value above = scores.transposed ? pastDiagonal(k, scores, tileRow, column)
                                    : pastDiagonal(k, scores, column, tileRow);
    bad = arith::OrIOp::create(b, loc, bad, above);
  }
  return bad;
}

/// Whether `mod` is skipped for elements of a block taken unmasked: one
/// that an affine mask, or the block map, says the mask sees whole.
static bool skippedUnmasked(const ScoreModifier &mod, bool masked) {
  return (mod.affine || mod.mapBits) && !masked;
}

/// The unmasked branch of a flash.mask is taken only by blocks whose keys
/// are all below its limit (emitMaskedOrNot): below seq_k when that is the
/// limit (as expand makes it).
static bool keysInsideFor(const TileStorage &scores, const ScoreModifier &mod,
                          bool masked) {
  return !masked && scores.kind == TileStorage::Kind::MaskedScores &&
         scores.maskLimit == mod.seqK;
}

Value flash::applyScoreMods(KernelContext &k, const TileStorage &scores,
                            Value value, Value row, Value col, bool masked) {
  for (const ScoreModifier &mod : scores.modifiers)
    if (!skippedUnmasked(mod, masked))
      value = applyModifier(k, mod, value, row, col,
                            keysInsideFor(scores, mod, masked));
  if (masked && scores.kind == TileStorage::Kind::MaskedScores)
    return arith::SelectOp::create(k.b, k.loc, maskHides(k, scores, row, col),
                                   k.f32(-INFINITY), value);
  return value;
}

std::pair<Value, Value>
flash::applyScoreModsWithTangent(KernelContext &k, const TileStorage &scores,
                                 Value value, Value row, Value col,
                                 bool masked) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value tangent = k.f32(1.0f);
  // Hidden elements get derivative 0 (their p is 0; an infinite
  // derivative there would make 0 · inf a NaN).
  auto hide = [&](Value hidden) {
    value = arith::SelectOp::create(b, loc, hidden, k.f32(-INFINITY), value);
    tangent = arith::SelectOp::create(b, loc, hidden, k.f32(0.0f), tangent);
  };
  for (const ScoreModifier &mod : scores.modifiers) {
    if (skippedUnmasked(mod, masked))
      continue;
    bool keysInside = keysInsideFor(scores, mod, masked);
    if (auto scoreMod = dyn_cast<ScoreModOp>(mod.op)) {
      Region &region = scoreMod.getBody();
      std::tie(value, tangent) = inlineWithTangent(
          b, loc, region.front(),
          modRegionArgs(k, mod, region, value, row, col, keysInside), tangent);
      if (!tangent) // the region's result does not depend on the score
        tangent = k.f32(0.0f);
    } else if (auto maskMod = dyn_cast<MaskModOp>(mod.op)) {
      Value seen = ::inlineModRegion(k, mod, maskMod.getBody(), std::nullopt,
                                     row, col, keysInside);
      hide(arith::XOrIOp::create(b, loc, seen,
                                 arith::ConstantIntOp::create(b, loc, 1, 1)));
    } else {
      Value result = applyModifier(k, mod, value, row, col, keysInside);
      SmallVector<Value> operandTangents;
      for (Value operand : mod.operands)
        operandTangents.push_back(operand ? Value() : tangent);
      tangent = tangentOf(b, loc, result.getDefiningOp(), operandTangents);
      if (!tangent)
        tangent = k.f32(0.0f);
      value = result;
    }
  }
  if (masked && scores.kind == TileStorage::Kind::MaskedScores)
    hide(maskHides(k, scores, row, col));
  return {value, tangent};
}

/// An i1: some (query, key) pair of this warp's rows and the block's `cols`
/// keys is hidden by an affine mask_mod of `scores`; null if it has none.
static Value affineMaskCuts(KernelContext &k, const TileStorage &scores,
                            int64_t cols) {
  Value cuts;
  auto cut = [&](Value some) {
    cuts =
        cuts ? arith::OrIOp::create(k.b, k.loc, cuts, some).getResult() : some;
  };
  for (const ScoreModifier &mod : scores.modifiers) {
    if (mod.mapBits) {
      // Not a full block (BlockMap.h): its mask is evaluated.
      cut(arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ne,
                                mod.mapBits, k.i32(kBlockSeenOnly)));
      continue;
    }
    if (!mod.affine)
      continue;
    // This warp's rows and the block's columns: queries and keys, or keys
    // and queries when transposed.
    Value rowLo = k.add(mod.row, k.warpRow);
    Value rowHi = k.add(rowLo, k.idx(k.rowsPerWarp - 1));
    Value colHi = k.add(mod.col, k.idx(cols - 1));
    Value qLo = rowLo, qHi = rowHi, kvLo = mod.col, kvHi = colHi;
    if (mod.transposed) {
      std::swap(qLo, kvLo);
      std::swap(qHi, kvHi);
    }
    Value args[] = {mod.batch, mod.head, Value(), Value(), mod.seqQ, mod.seqK};
    Value allSeen =
        mod.affine->emitAllSeen(k.b, k.loc, qLo, qHi, kvLo, kvHi, args);
    Value some = arith::XOrIOp::create(
        k.b, k.loc, allSeen, arith::ConstantIntOp::create(k.b, k.loc, 1, 1));
    cuts =
        cuts ? arith::OrIOp::create(k.b, k.loc, cuts, some).getResult() : some;
  }
  return cuts;
}

/// `emitStep(true)` where `needed`, else `emitStep(false)`.
static SmallVector<Value>
emitBranch(KernelContext &k, Value needed, TypeRange resultTypes,
           function_ref<SmallVector<Value>(bool masked)> emitStep) {
  auto ifOp = scf::IfOp::create(k.b, k.loc, resultTypes, needed,
                                /*withElse=*/true);
  OpBuilder::InsertionGuard guard(k.b);
  k.b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  scf::YieldOp::create(k.b, k.loc, emitStep(true));
  k.b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  scf::YieldOp::create(k.b, k.loc, emitStep(false));
  return SmallVector<Value>(ifOp.getResults());
}

SmallVector<Value>
flash::emitMaskedOrNot(KernelContext &k, const TileStorage &scores,
                       int64_t cols, TypeRange resultTypes,
                       function_ref<SmallVector<Value>(bool masked)> emitStep) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value cuts = affineMaskCuts(k, scores, cols);
  if (scores.kind == TileStorage::Kind::Scores && !cuts)
    return emitStep(false);
  if (scores.kind == TileStorage::Kind::Scores)
    return emitBranch(k, cuts, resultTypes, emitStep);
  // Only blocks that cross the key length or the diagonal pay for masking.
  Value blockEnd = k.add(scores.maskCol, k.idx(cols));
  Value needed = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                       blockEnd, scores.maskLimit);
  if (cuts)
    needed = arith::OrIOp::create(b, loc, needed, cuts);
  if (scores.causal) {
    // Some pair of this warp's rows and the block's columns is past the
    // diagonal: the last key against the first query.
    Value firstRow = k.add(scores.maskRow, k.warpRow);
    Value crosses;
    if (scores.transposed) {
      Value lastRow = k.add(firstRow, k.idx(k.rowsPerWarp - 1));
      crosses = pastDiagonal(k, scores, lastRow, scores.maskCol);
    } else {
      Value lastCol = arith::SubIOp::create(b, loc, blockEnd, k.idx(1));
      crosses = pastDiagonal(k, scores, lastCol, firstRow);
    }
    needed = arith::OrIOp::create(b, loc, needed, crosses);
  }
  return emitBranch(k, needed, resultTypes, emitStep);
}
