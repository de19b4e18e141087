//===- TileInterpreter.h - run the tile level on the CPU --------*- C++ -*-===//
//
// Executes a flash.tiled program on the CPU exactly as the GPU lowering
// schedules it (same tiles, K/V blocks, masks, online softmax, f32
// accumulation, P and O rounded to the element type), so that CI can check
// the algorithm against the float64 reference without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_INTERPRETER_TILEINTERPRETER_H
#define FLASHC_INTERPRETER_TILEINTERPRETER_H

#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "flashc/Runtime/Reference.h"

#include <cstdint>
#include <vector>

namespace mlir::flash {

/// A [batch, heads, seq, head_dim] tensor of f16 or bf16 bits.
struct HostTensor {
  int64_t shape[4] = {0, 0, 0, 0};
  std::vector<uint16_t> bits;
};

/// What a paged program reads besides Q, K and V: its block table ([batch,
/// maxPages] page indices, row-major, each a page of the caches) and each
/// sequence's key length. K and V are then the caches, [pages, kv_heads,
/// page_size, head_dim].
struct PagedCache {
  std::vector<int32_t> blockTable;
  int64_t maxPages = 0;
  std::vector<int32_t> seqlensK;
};

/// Runs every program of `tiled`'s grid. `q`, `k`, `v` are read and `o`
/// written; their shapes must fit the op's memref types. `captures` holds
/// the data of the program's captures (in order), and `lse`, if the
/// program writes one, receives [batch, heads, seq_q] floats. A varlen
/// program runs one sequence at a time, as its GPU programs see it: the
/// tensors hold that sequence alone ([1, heads, its length, head_dim]) and
/// `sequence` is its index (the batch its masks, modifiers and K/V heads
/// see); -1 for other programs. A paged program needs `paged` (and others
/// none). Reports unsupported ops as diagnostics on them.
LogicalResult
interpretTiled(TiledOp tiled, const HostTensor &q, const HostTensor &k,
               const HostTensor &v, HostTensor &o,
               const std::vector<flashc::HostCapture> &captures = {},
               std::vector<float> *lse = nullptr, int64_t sequence = -1,
               const PagedCache *paged = nullptr);

} // namespace mlir::flash

#endif // FLASHC_INTERPRETER_TILEINTERPRETER_H
