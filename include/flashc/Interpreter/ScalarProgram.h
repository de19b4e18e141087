//===- ScalarProgram.h - modifier regions evaluated on the CPU --*- C++ -*-===//
//
// A score_mod or mask_mod region (or one elementwise op of a tile program)
// turned once into a straight-line program over float64 and int64 values,
// then evaluated per score element, from many threads: by the float64
// reference of `flashc FILE --run` and by the CPU interpreter of the tile
// level, independently of the GPU lowering.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_INTERPRETER_SCALARPROGRAM_H
#define FLASHC_INTERPRETER_SCALARPROGRAM_H

#include "flashc/Runtime/Reference.h"

#include "mlir/IR/Region.h"
#include "mlir/Support/LLVM.h"

#include <functional>
#include <vector>

namespace mlir::flash {

/// A value of the program: floats in `f` (float64), integers and index in
/// `i` (sign-extended from their width; i1 is 0 or 1).
struct Scalar {
  double f = 0;
  int64_t i = 0;
};

class ScalarProgram {
public:
  /// The program of `region` (its block arguments are the inputs; memref
  /// arguments read `captures`, matched from `firstCapture` on). An error at
  /// the op it cannot evaluate.
  static FailureOr<ScalarProgram>
  fromRegion(Region &region, unsigned firstCapture,
             const std::vector<flashc::HostCapture> *captures);
  /// The program of one elementwise op whose operand `scoreOperand` is the
  /// input; the others are splat constants.
  static FailureOr<ScalarProgram> fromElementwise(Operation *op,
                                                  unsigned scoreOperand);

  /// Evaluates with `inputs` (one per non-memref input, in order).
  Scalar run(ArrayRef<Scalar> inputs) const;

  /// Where a modifier's tile lies: element (i, j) is query `row + i`
  /// against key `col + j` (with `transposed`, key `row + i` against query
  /// `col + j`) of head `head` of batch `batch`, of `seqQ` queries and
  /// `seqK` keys.
  struct TileCoordinates {
    int64_t batch, head, row, col, seqQ, seqK;
    bool transposed = false;
  };
  /// Runs this score_mod (`score`) or mask_mod program on every element of
  /// the row-major `rows` x `cols` tile `scores`, as the GPU does: a
  /// score_mod replaces the element, a mask_mod sets those it hides to
  /// -inf. `captures`: the values of the scalar captures.
  void applyToTile(bool score, std::vector<float> &scores, int64_t rows,
                   int64_t cols, const TileCoordinates &at,
                   ArrayRef<Scalar> captures) const;

private:
  using Step = std::function<Scalar(const std::vector<Scalar> &)>;
  unsigned numInputs = 0;
  std::vector<Scalar> initial; // inputs, then constants and results
  std::vector<std::pair<unsigned, Step>> steps; // (slot, how)
  unsigned result = 0;
  friend class ScalarProgramBuilder;
};

} // namespace mlir::flash

#endif // FLASHC_INTERPRETER_SCALARPROGRAM_H
