//===- TileInterpreter.cpp - run the tile level on the CPU ----------------===//

#include "flashc/Interpreter/TileInterpreter.h"

#include "flashc/Interpreter/ScalarProgram.h"

#include "flashc/Runtime/Runner.h"

#include "llvm/ADT/DenseMap.h"

#include <cmath>
#include <map>
#include <utility>

using namespace mlir;
using namespace mlir::flash;
using flashc::bfloat16ToFloat;
using flashc::floatToBFloat16;
using flashc::floatToHalf;
using flashc::halfToFloat;

namespace {

/// A tile (rank 2) or row vector (rank 1) of floats, row-major.
struct Tile {
  int64_t rows = 0, cols = 1;
  std::vector<float> data;
  float &at(int64_t r, int64_t c) { return data[r * cols + c]; }
  float at(int64_t r, int64_t c) const { return data[r * cols + c]; }
};

/// Node-based storage: references stay valid while entries are added.
struct TileMap {
  std::map<void *, Tile> map;
  Tile &operator[](Value v) { return map[v.getAsOpaquePointer()]; }
  std::map<void *, Tile>::iterator find(Value v) {
    return map.find(v.getAsOpaquePointer());
  }
  std::map<void *, Tile>::iterator end() { return map.end(); }
  void clear() { map.clear(); }
};

class Interpreter {
public:
  Interpreter(TiledOp tiled, const HostTensor &q, const HostTensor &k,
              const HostTensor &v, HostTensor &o,
              const std::vector<flashc::HostCapture> &captures,
              std::vector<float> *lse, int64_t firstBatch,
              const PagedCache *paged)
      : tiled(tiled), captures(captures), lse(lse), firstBatch(firstBatch),
        paged(paged) {
    tensors[tiled.getQ()] = const_cast<HostTensor *>(&q);
    tensors[tiled.getK()] = const_cast<HostTensor *>(&k);
    tensors[tiled.getV()] = const_cast<HostTensor *>(&v);
    tensors[tiled.getO()] = &o;
    bf16 = cast<MemRefType>(tiled.getQ().getType()).getElementType().isBF16();
  }

  LogicalResult run() {
    const HostTensor &q = *tensors[tiled.getQ()];
    int64_t blockM = tiled.getConfig().getBlockM();
    int64_t grid = (q.shape[2] + blockM - 1) / blockM;
    int64_t heads = q.shape[1];
    for (int64_t bh = firstBatch * heads;
         bh < (firstBatch + q.shape[0]) * heads; ++bh)
      for (int64_t block = 0; block < grid; ++block) {
        scalars.clear();
        tiles.clear();
        scalars[tiled.getQueryBlock()] = block;
        scalars[tiled.getBatchHead()] = bh;
        if (failed(runBlock(tiled.getBody().front())))
          return failure();
      }
    return success();
  }

private:
  float round(float x) const {
    return bf16 ? bfloat16ToFloat(floatToBFloat16(x))
                : halfToFloat(floatToHalf(x));
  }
  float load(uint16_t bits) const {
    return bf16 ? bfloat16ToFloat(bits) : halfToFloat(bits);
  }

  FailureOr<int64_t> scalar(Value value) {
    auto it = scalars.find(value);
    if (it != scalars.end())
      return it->second;
    if (auto constant = value.getDefiningOp<arith::ConstantIndexOp>())
      return constant.value();
    if (Operation *def = value.getDefiningOp())
      if (succeeded(evalScalar(def)))
        return scalars[value];
    emitError(value.getLoc(), "interpreter: no value for an index operand");
    return failure();
  }

  FailureOr<Tile *> tile(Value value) {
    auto it = tiles.find(value);
    if (it != tiles.end())
      return &it->second;
    if (auto constant = value.getDefiningOp<arith::ConstantOp>())
      if (auto splat = dyn_cast<SplatElementsAttr>(constant.getValue())) {
        auto type = cast<RankedTensorType>(splat.getType());
        Tile t;
        t.rows = type.getDimSize(0);
        t.cols = type.getRank() == 2 ? type.getDimSize(1) : 1;
        t.data.assign(t.rows * t.cols,
                      splat.getSplatValue<APFloat>().convertToFloat());
        return &(tiles[value] = std::move(t));
      }
    emitError(value.getLoc(), "interpreter: no value for a tile operand");
    return failure();
  }

  LogicalResult evalScalar(Operation *op) {
    auto binary = [&](auto fn) -> LogicalResult {
      FailureOr<int64_t> a = scalar(op->getOperand(0));
      FailureOr<int64_t> b = scalar(op->getOperand(1));
      if (failed(a) || failed(b))
        return failure();
      scalars[op->getResult(0)] = fn(*a, *b);
      return success();
    };
    if (auto c = dyn_cast<arith::ConstantIndexOp>(op)) {
      scalars[c] = c.value();
      return success();
    }
    if (isa<arith::AddIOp>(op))
      return binary([](int64_t a, int64_t b) { return a + b; });
    if (isa<arith::SubIOp>(op))
      return binary([](int64_t a, int64_t b) { return a - b; });
    if (isa<arith::MulIOp>(op))
      return binary([](int64_t a, int64_t b) { return a * b; });
    if (isa<arith::MinUIOp, arith::MinSIOp>(op))
      return binary([](int64_t a, int64_t b) { return std::min(a, b); });
    if (isa<arith::MaxUIOp, arith::MaxSIOp>(op))
      return binary([](int64_t a, int64_t b) { return std::max(a, b); });
    if (isa<arith::DivUIOp, arith::DivSIOp>(op))
      return binary([](int64_t a, int64_t b) { return a / b; });
    if (isa<arith::RemUIOp, arith::RemSIOp>(op))
      return binary([](int64_t a, int64_t b) { return a % b; });
    if (isa<arith::CeilDivUIOp, arith::CeilDivSIOp>(op))
      return binary([](int64_t a, int64_t b) { return (a + b - 1) / b; });
    if (isa<arith::IndexCastOp, arith::IndexCastUIOp>(op)) {
      FailureOr<int64_t> a = scalar(op->getOperand(0));
      if (failed(a))
        return failure();
      scalars[op->getResult(0)] = *a;
      return success();
    }
    if (auto load = dyn_cast<memref::LoadOp>(op))
      return evalPagedLoad(load);
    if (auto dim = dyn_cast<memref::DimOp>(op);
        dim && paged && dim.getSource() == tiled.getBlockTable()) {
      std::optional<int64_t> index = dim.getConstantIndex();
      if (!index)
        return dim.emitOpError("interpreter: needs a constant index");
      scalars[dim] = *index == 0
                         ? int64_t(paged->blockTable.size()) / paged->maxPages
                         : paged->maxPages;
      return success();
    }
    if (auto dim = dyn_cast<memref::DimOp>(op)) {
      std::optional<int64_t> index = dim.getConstantIndex();
      auto it = tensors.find(dim.getSource());
      if (!index || it == tensors.end())
        return dim.emitOpError("interpreter: needs a constant index into "
                               "Q, K, V or O");
      scalars[dim] = it->second->shape[*index];
      return success();
    }
    return op->emitOpError("interpreter: not supported");
  }

  /// A paged program's read of a sequence's key length or of its block
  /// table.
  LogicalResult evalPagedLoad(memref::LoadOp load) {
    if (!paged || (load.getMemRef() != tiled.getSeqlensK() &&
                   load.getMemRef() != tiled.getBlockTable()))
      return load.emitOpError("interpreter: loads only a paged program's "
                              "seqlens_k or block_table");
    SmallVector<int64_t, 2> at;
    for (Value index : load.getIndices()) {
      FailureOr<int64_t> i = scalar(index);
      if (failed(i))
        return failure();
      at.push_back(*i);
    }
    bool table = load.getMemRef() == tiled.getBlockTable();
    const std::vector<int32_t> &data =
        table ? paged->blockTable : paged->seqlensK;
    int64_t flat = table ? at[0] * paged->maxPages + at[1] : at[0];
    if (flat < 0 || flat >= int64_t(data.size()) ||
        (table && (at[1] < 0 || at[1] >= paged->maxPages)))
      return load.emitOpError("interpreter: reads past the paged inputs");
    scalars[load.getResult()] = data[flat];
    return success();
  }

  /// Where batch·head `bh` of the program lies in `t`, whose first batch is
  /// `firstBatch`.
  int64_t local(const HostTensor &t, int64_t bh) const {
    return bh - firstBatch * t.shape[1];
  }

  /// Where row `row` of head `bh` starts in `t`, or -1 past its end. In a
  /// paged cache ([pages, kv_heads, page_size, head_dim], K and V of a
  /// paged program) row r of sequence b is row r mod page_size of page
  /// block_table[b, r / page_size], and ends with the table.
  int64_t rowStart(const HostTensor &t, int64_t bh, int64_t row) {
    int64_t heads = t.shape[1], seq = t.shape[2], d = t.shape[3];
    bool cache = paged && (&t == tensors.lookup(tiled.getK()) ||
                           &t == tensors.lookup(tiled.getV()));
    if (!cache)
      return row < seq ? ((local(t, bh) * seq) + row) * d : -1;
    int64_t slot = row / seq;
    if (slot >= paged->maxPages)
      return -1;
    int64_t page = paged->blockTable[bh / heads * paged->maxPages + slot];
    return ((page * heads + bh % heads) * seq + row % seq) * d;
  }

  /// Rows [row0, row0 + rows) of head `bh`, zero past its end.
  Tile loadRows(const HostTensor &t, int64_t bh, int64_t row0, int64_t rows) {
    Tile tile;
    tile.rows = rows;
    tile.cols = t.shape[3];
    tile.data.assign(rows * tile.cols, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t start = rowStart(t, bh, row0 + r);
      if (start < 0)
        break;
      for (int64_t c = 0; c < tile.cols; ++c)
        tile.at(r, c) = load(t.bits[start + c]);
    }
    return tile;
  }

  LogicalResult runBlock(Block &block) {
    for (Operation &op : block.without_terminator())
      if (failed(runOp(&op)))
        return failure();
    return success();
  }

  LogicalResult runOp(Operation *op) {
    if (auto load = dyn_cast<LoadTileOp>(op))
      return run(load);
    if (auto loop = dyn_cast<KVLoopOp>(op))
      return runLoop(loop);
    if (auto dot = dyn_cast<DotOp>(op))
      return run(dot);
    if (auto mask = dyn_cast<MaskOp>(op))
      return run(mask);
    if (auto step = dyn_cast<SoftmaxStepOp>(op))
      return run(step);
    if (auto rescale = dyn_cast<RescaleOp>(op))
      return run(rescale);
    if (auto normalize = dyn_cast<NormalizeOp>(op))
      return run(normalize);
    if (auto store = dyn_cast<StoreTileOp>(op))
      return run(store);
    if (auto store = dyn_cast<StoreLseOp>(op))
      return run(store);
    if (auto mod = dyn_cast<ScoreModOp>(op))
      return runMod(mod, ModKind::Score);
    if (auto mod = dyn_cast<MaskModOp>(op))
      return runMod(mod, ModKind::Mask);
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      if (isa<RankedTensorType>(constant.getType()))
        return success(succeeded(tile(constant)));
    }
    if (llvm::any_of(op->getResultTypes(),
                     [](Type t) { return isa<RankedTensorType>(t); }))
      return runElementwise(op);
    return evalScalar(op);
  }

  LogicalResult run(LoadTileOp load) {
    FailureOr<int64_t> bh = scalar(load.getBatchHead());
    FailureOr<int64_t> row = scalar(load.getRow());
    if (failed(bh) || failed(row))
      return failure();
    tiles[load] = loadRows(*tensors[load.getSource()], *bh, *row,
                           load.getType().getDimSize(0));
    return success();
  }

  LogicalResult run(DotOp dot) {
    FailureOr<Tile *> a = tile(dot.getLhs()), b = tile(dot.getRhs());
    if (failed(a) || failed(b))
      return failure();
    Tile out;
    out.rows = dot.getType().getDimSize(0);
    out.cols = dot.getType().getDimSize(1);
    out.data.assign(out.rows * out.cols, 0.0f);
    if (dot.getAcc()) {
      FailureOr<Tile *> acc = tile(dot.getAcc());
      if (failed(acc))
        return failure();
      out.data = (*acc)->data;
    }
    int64_t kDim = (*a)->cols;
    for (int64_t i = 0; i < out.rows; ++i)
      for (int64_t j = 0; j < out.cols; ++j) {
        float sum = out.at(i, j);
        for (int64_t kk = 0; kk < kDim; ++kk)
          sum += (*a)->at(i, kk) *
                 (dot.getTransposeRhs() ? (*b)->at(j, kk) : (*b)->at(kk, j));
        out.at(i, j) = sum;
      }
    tiles[dot] = std::move(out);
    return success();
  }

  LogicalResult run(MaskOp mask) {
    FailureOr<Tile *> s = tile(mask.getScores());
    FailureOr<int64_t> row = scalar(mask.getRow());
    FailureOr<int64_t> col = scalar(mask.getCol());
    FailureOr<int64_t> limit = scalar(mask.getLimit());
    if (failed(s) || failed(row) || failed(col) || failed(limit))
      return failure();
    int64_t diagonal = 0;
    if (mask.getDiagonal()) {
      FailureOr<int64_t> d = scalar(mask.getDiagonal());
      if (failed(d))
        return failure();
      diagonal = *d;
    }
    Tile out = **s;
    for (int64_t i = 0; i < out.rows; ++i)
      for (int64_t j = 0; j < out.cols; ++j) {
        // Transposed: rows are keys, columns queries.
        int64_t key = *col + j, query = *row + i;
        if (mask.getTransposed())
          std::swap(key, query);
        if (*col + j >= *limit || (mask.getCausal() && key > query + diagonal))
          out.at(i, j) = -INFINITY;
      }
    tiles[mask] = std::move(out);
    return success();
  }

  LogicalResult run(SoftmaxStepOp step) {
    FailureOr<Tile *> s = tile(step.getScores());
    FailureOr<Tile *> m = tile(step.getMaxIn());
    FailureOr<Tile *> l = tile(step.getSumIn());
    if (failed(s) || failed(m) || failed(l))
      return failure();
    float c = step.getScaleLog2e().convertToFloat();
    Tile p = **s, mOut = **m, lOut = **l, alpha = **m;
    for (int64_t i = 0; i < p.rows; ++i) {
      float rowMax = -INFINITY;
      for (int64_t j = 0; j < p.cols; ++j)
        rowMax = std::max(rowMax, (*s)->at(i, j));
      float newMax = std::max((*m)->data[i], rowMax * c);
      float useMax = newMax == -INFINITY ? 0.0f : newMax;
      float sum = 0;
      for (int64_t j = 0; j < p.cols; ++j) {
        float e = std::exp2(std::fma((*s)->at(i, j), c, -useMax));
        p.at(i, j) = round(e);
        sum += e;
      }
      alpha.data[i] = std::exp2((*m)->data[i] - useMax);
      mOut.data[i] = newMax;
      lOut.data[i] = (*l)->data[i] * alpha.data[i] + sum;
    }
    tiles[step.getProbs()] = std::move(p);
    tiles[step.getMaxOut()] = std::move(mOut);
    tiles[step.getSumOut()] = std::move(lOut);
    tiles[step.getAlpha()] = std::move(alpha);
    return success();
  }

  LogicalResult run(RescaleOp rescale) {
    FailureOr<Tile *> acc = tile(rescale.getAcc());
    FailureOr<Tile *> f = tile(rescale.getFactor());
    if (failed(acc) || failed(f))
      return failure();
    Tile out = **acc;
    for (int64_t i = 0; i < out.rows; ++i)
      for (int64_t j = 0; j < out.cols; ++j)
        out.at(i, j) *= (*f)->data[i];
    tiles[rescale] = std::move(out);
    return success();
  }

  LogicalResult run(NormalizeOp normalize) {
    FailureOr<Tile *> acc = tile(normalize.getAcc());
    FailureOr<Tile *> sum = tile(normalize.getSum());
    if (failed(acc) || failed(sum))
      return failure();
    Tile out = **acc;
    for (int64_t i = 0; i < out.rows; ++i) {
      float l = (*sum)->data[i];
      float inv = l == 0.0f ? 0.0f : 1.0f / l;
      for (int64_t j = 0; j < out.cols; ++j)
        out.at(i, j) = round(out.at(i, j) * inv);
    }
    tiles[normalize] = std::move(out);
    return success();
  }

  LogicalResult run(StoreTileOp store) {
    FailureOr<Tile *> value = tile(store.getValue());
    FailureOr<int64_t> bh = scalar(store.getBatchHead());
    FailureOr<int64_t> row = scalar(store.getRow());
    if (failed(value) || failed(bh) || failed(row))
      return failure();
    HostTensor &dest = *tensors[store.getDest()];
    int64_t head = local(dest, *bh);
    for (int64_t r = 0; r < (*value)->rows && *row + r < dest.shape[2]; ++r)
      for (int64_t c = 0; c < (*value)->cols; ++c) {
        float x = (*value)->at(r, c);
        dest.bits[((head * dest.shape[2]) + *row + r) * dest.shape[3] + c] =
            bf16 ? floatToBFloat16(x) : floatToHalf(x);
      }
    return success();
  }

  /// A flash.score_mod or flash.mask_mod, element by element.
  template <typename ModOp> LogicalResult runMod(ModOp op, ModKind kind) {
    FailureOr<Tile *> s = tile(op.getScores());
    FailureOr<int64_t> bh = scalar(op.getBatchHead());
    FailureOr<int64_t> row = scalar(op.getRow());
    FailureOr<int64_t> col = scalar(op.getCol());
    FailureOr<int64_t> seqQ = scalar(op.getSeqQ());
    FailureOr<int64_t> seqK = scalar(op.getSeqK());
    if (failed(s) || failed(bh) || failed(row) || failed(col) || failed(seqQ) ||
        failed(seqK))
      return failure();
    std::vector<flashc::HostCapture> &data = modData[op];
    std::vector<Scalar> scalarCaptures;
    data.clear();
    for (Value capture : op.getCaptures()) {
      auto position = llvm::find(tiled.getCaptures(), capture) -
                      tiled.getCaptures().begin();
      if (position >= int64_t(captures.size()))
        return op.emitOpError("interpreter: no data for a capture");
      data.push_back(captures[position]);
      if (!isa<MemRefType>(capture.getType()))
        scalarCaptures.push_back(
            Scalar{data.back().values[0], int64_t(data.back().values[0])});
    }
    FailureOr<ScalarProgram> program = ScalarProgram::fromRegion(
        op.getBody(), modLeadingArguments(kind), &data);
    if (failed(program))
      return failure();
    int64_t heads = tensors[tiled.getQ()]->shape[1];
    Tile out = **s;
    program->applyToTile(kind == ModKind::Score, out.data, out.rows, out.cols,
                         {*bh / heads, *bh % heads, *row, *col, *seqQ, *seqK,
                          op.getTransposed()},
                         scalarCaptures);
    tiles[op.getResult()] = std::move(out);
    return success();
  }

  /// An elementwise arith/math op on a tile (the others splat constants).
  LogicalResult runElementwise(Operation *op) {
    unsigned scoreOperand = 0;
    Tile *input = nullptr;
    for (auto [index, operand] : llvm::enumerate(op->getOperands()))
      if (!operand.getDefiningOp<arith::ConstantOp>()) {
        FailureOr<Tile *> t = tile(operand);
        if (failed(t))
          return failure();
        input = *t;
        scoreOperand = index;
      }
    if (!input)
      return op->emitOpError("interpreter: not supported");
    FailureOr<ScalarProgram> program =
        ScalarProgram::fromElementwise(op, scoreOperand);
    if (failed(program))
      return failure();
    Tile out = *input;
    for (float &x : out.data)
      x = static_cast<float>(program->run(Scalar{x, 0}).f);
    tiles[op->getResult(0)] = std::move(out);
    return success();
  }

  LogicalResult run(StoreLseOp store) {
    FailureOr<Tile *> m = tile(store.getMax()), l = tile(store.getSum());
    FailureOr<int64_t> bh = scalar(store.getBatchHead());
    FailureOr<int64_t> row = scalar(store.getRow());
    if (failed(m) || failed(l) || failed(bh) || failed(row))
      return failure();
    if (!lse)
      return store.emitOpError("interpreter: no LSE output given");
    const HostTensor &q = *tensors[tiled.getQ()];
    int64_t seq = q.shape[2], head = local(q, *bh);
    for (int64_t r = 0; r < (*m)->rows && *row + r < seq; ++r)
      (*lse)[head * seq + *row + r] = static_cast<float>(
          M_LN2 * ((*m)->data[r] + std::log2((*l)->data[r])));
    return success();
  }

  LogicalResult runLoop(KVLoopOp loop) {
    FailureOr<int64_t> bh = scalar(loop.getBatchHead());
    FailureOr<int64_t> upper = scalar(loop.getUpper());
    if (failed(bh) || failed(upper))
      return failure();
    Block &body = loop.getBody().front();
    int64_t blockN =
        cast<RankedTensorType>(body.getArgument(1).getType()).getDimSize(0);
    std::vector<Tile> carried;
    for (Value init : loop.getInits()) {
      FailureOr<Tile *> t = tile(init);
      if (failed(t))
        return failure();
      carried.push_back(**t);
    }
    int64_t first = 0;
    if (loop.getLower()) {
      FailureOr<int64_t> lower = scalar(loop.getLower());
      if (failed(lower))
        return failure();
      first = *lower / blockN * blockN;
    }
    for (int64_t start = first; start < *upper; start += blockN) {
      scalars[body.getArgument(0)] = start;
      tiles[body.getArgument(1)] =
          loadRows(*tensors[loop.getK()], *bh, start, blockN);
      tiles[body.getArgument(2)] =
          loadRows(*tensors[loop.getV()], *bh, start, blockN);
      for (size_t i = 0; i < carried.size(); ++i)
        tiles[body.getArgument(3 + i)] = carried[i];
      if (failed(runBlock(body)))
        return failure();
      auto yield = cast<YieldOp>(body.getTerminator());
      for (size_t i = 0; i < carried.size(); ++i) {
        FailureOr<Tile *> t = tile(yield.getValues()[i]);
        if (failed(t))
          return failure();
        carried[i] = **t;
      }
    }
    for (size_t i = 0; i < carried.size(); ++i)
      tiles[loop.getResult(i)] = carried[i];
    return success();
  }

  TiledOp tiled;
  const std::vector<flashc::HostCapture> &captures;
  std::vector<float> *lse;
  /// The batch index of the tensors' first batch (a varlen sequence's).
  int64_t firstBatch;
  /// A paged program's block table and key lengths (null otherwise).
  const PagedCache *paged;
  /// Each modifier op's captures' data, in the op's order.
  llvm::DenseMap<Operation *, std::vector<flashc::HostCapture>> modData;
  bool bf16 = false;
  llvm::DenseMap<Value, HostTensor *> tensors;
  llvm::DenseMap<Value, int64_t> scalars;
  TileMap tiles;
};

} // namespace

LogicalResult mlir::flash::interpretTiled(
    TiledOp tiled, const HostTensor &q, const HostTensor &k,
    const HostTensor &v, HostTensor &o,
    const std::vector<flashc::HostCapture> &captures, std::vector<float> *lse,
    int64_t sequence, const PagedCache *paged) {
  // The inputs each kind of program needs, as the header says.
  bool pagedFits =
      !paged ||
      (paged->maxPages >= 1 &&
       int64_t(paged->blockTable.size()) == q.shape[0] * paged->maxPages &&
       int64_t(paged->seqlensK.size()) == q.shape[0] &&
       llvm::all_of(paged->blockTable, [&](int32_t page) {
         return page >= 0 && page < k.shape[0] && page < v.shape[0];
       }));
  bool varlenFits = !tiled.isVarlen() || q.shape[0] == 1;
  if (tiled.isPaged() != (paged != nullptr) || !pagedFits ||
      tiled.isVarlen() != (sequence >= 0) || !varlenFits)
    return tiled.emitOpError()
           << "interpreter: needs "
           << (tiled.isVarlen()
                   ? "one sequence's tensors (batch 1) and its index"
               : tiled.isPaged()
                   ? "a block table [batch, max_pages] of the caches' pages "
                     "and key lengths [batch]"
                   : "no sequence index or block table");
  return Interpreter(tiled, q, k, v, o, captures, lse,
                     std::max<int64_t>(0, sequence), paged)
      .run();
}
