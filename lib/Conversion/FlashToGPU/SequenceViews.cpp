//===- SequenceViews.cpp - varlen sequences and paged keys ---------------===//
//
// The per-program views of varlen and paged programs (TileLowering's
// emitSequenceViews and emitPagedKeyViews): which rows of the packed
// operands are the program's sequence, and how the copies find a paged
// cache's keys.
//
//===----------------------------------------------------------------------===//

#include "TileLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::flash;

/// A view of `batches` x `source`'s heads x `length` rows from row `start`
/// of `source` (described by `meta`), with batch stride 0: every batch
/// index reads these rows, so that a program's batch·head (b·heads + h, b
/// its sequence) addresses them as it would a batch of its own.
static Value sequenceView(KernelContext &k, Value source,
                          memref::ExtractStridedMetadataOp meta, Value batches,
                          Value start, Value length) {
  OpBuilder &b = k.b;
  auto type = cast<MemRefType>(source.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes{batches, meta.getSizes()[1], length};
  SmallVector<OpFoldResult> strides{b.getIndexAttr(0), meta.getStrides()[1],
                                    meta.getStrides()[2]};
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic),
      layout(rank, ShapedType::kDynamic);
  if (rank == 4) {
    sizes.push_back(b.getIndexAttr(type.getDimSize(3)));
    strides.push_back(b.getIndexAttr(1));
    shape[3] = type.getDimSize(3);
    layout[3] = 1;
  }
  Value offset = k.add(meta.getOffset(), k.mul(start, meta.getStrides()[2]));
  auto viewType = MemRefType::get(
      shape, type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, layout));
  return memref::ReinterpretCastOp::create(b, k.loc, viewType,
                                           meta.getBaseBuffer(),
                                           OpFoldResult(offset), sizes, strides)
      .getResult();
}

void TileLowering::emitSequenceViews(Value batch, Value batches,
                                     ValueRange kernelArgs) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // Sequence b's rows are [cu[b], cu[b + 1]) of the packed seq axis.
  auto bounds = [&](Value cu) {
    Value cuArg = mapping.lookup(cu);
    auto load = [&](Value i) -> Value {
      return arith::IndexCastUIOp::create(
          b, loc, b.getIndexType(),
          memref::LoadOp::create(b, loc, cuArg, ValueRange{i}));
    };
    Value start = load(batch);
    // Bounds that fall give an empty sequence, not a huge one.
    Value end =
        arith::MaxUIOp::create(b, loc, load(k.add(batch, k.idx(1))), start);
    return std::pair{start, arith::SubIOp::create(b, loc, end, start)};
  };
  auto [startQ, lengthQ] = bounds(tiled.getCuSeqlensQ());
  auto [startK, lengthK] = bounds(tiled.getCuSeqlensK());
  sequenceLengthQ = lengthQ;
  // The modifiers and the affine mask bounds then see b too. Each view is
  // made from its role's own kernel argument (the verifier keeps one value
  // from taking two roles with different bounds).
  auto view = [&](Value operand, Value source, Value start, Value length) {
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, source);
    mapping.map(operand, sequenceView(k, source, meta, batches, start, length));
  };
  view(tiled.getQ(), kernelArgs[0], startQ, lengthQ);
  view(tiled.getO(), kernelArgs[3], startQ, lengthQ);
  view(tiled.getK(), kernelArgs[1], startK, lengthK);
  view(tiled.getV(), kernelArgs[2], startK, lengthK);
  if (Value lse = tiled.getLse())
    view(lse, kernelArgs[4], startQ, lengthQ);
}

TileLowering::PagedKeys TileLowering::emitPagedKeyViews(Value batch,
                                                        Value batches,
                                                        ValueRange kernelArgs) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // As the tile program reads it (pagedKeyLength, the same clamp).
  Value length = pagedKeyLength(b, loc, mapping.lookup(tiled.getSeqlensK()),
                                mapping.lookup(tiled.getBlockTable()),
                                kernelArgs[1], batch);
  // The page size, each cache's page stride and its view, from the caches'
  // own kernel arguments. The tile program keeps reading the caches
  // themselves (its key length comes from pagedKeyLength).
  PagedKeys paged;
  for (auto [cache, pageStride, view] :
       {std::tuple<Value, Value &, Value &>{kernelArgs[1], paged.keyPageStride,
                                            paged.keys},
        {kernelArgs[2], paged.valuePageStride, paged.values}}) {
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, cache);
    if (!paged.pageSize) // K's: the launch gives one page size for both
      paged.pageSize = meta.getSizes()[2];
    pageStride = meta.getStrides()[0];
    // The sequence's keys as the copies see them: seq its length, from row
    // 0 of page 0. Only their sizes and the head and row strides are read;
    // each row's page comes from the block table.
    view = sequenceView(k, cache, meta, batches, k.idx(0), length);
  }
  return paged;
}
