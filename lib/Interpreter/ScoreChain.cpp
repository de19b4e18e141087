//===- ScoreChain.cpp - a tile program's score modifiers on the CPU -------===//

#include "flashc/Interpreter/ScoreChain.h"

#include "flashc/Interpreter/ScalarProgram.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

namespace {
/// One link of the chain: its program and what it is given.
struct Link {
  ScalarProgram program;
  enum class Kind { Elementwise, Score, Mask } kind;
  /// The scalar captures' values (inputs after the coordinates).
  std::vector<Scalar> scalars;
  /// The data the program's loads read (kept alive with it).
  std::shared_ptr<std::vector<flashc::HostCapture>> data;
};
} // namespace

/// The ops from the scores' flash.dot to `scores`, in program order.
static FailureOr<SmallVector<Operation *>> chainOf(Value scores) {
  SmallVector<Operation *> chain;
  while (Operation *def = scores.getDefiningOp()) {
    if (isa<DotOp>(def))
      break;
    if (auto mask = dyn_cast<MaskOp>(def)) {
      scores = mask.getScores(); // the reference applies flash.mask itself
      continue;
    }
    chain.push_back(def);
    if (auto mod = dyn_cast<ScoreModOp>(def))
      scores = mod.getScores();
    else if (auto mod = dyn_cast<MaskModOp>(def))
      scores = mod.getScores();
    else {
      Value next;
      for (Value operand : def->getOperands())
        if (!operand.getDefiningOp<arith::ConstantOp>())
          next = operand;
      if (!next)
        return def->emitOpError("interpreter: no score operand");
      scores = next;
    }
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

template <typename ModOp>
static FailureOr<Link> modLink(ModOp op, Link::Kind kind, ModKind modKind,
                               const std::vector<flashc::HostCapture> &captures,
                               TiledOp tiled) {
  // The op's captures' data, in the op's order (a subset of the program's).
  auto data = std::make_shared<std::vector<flashc::HostCapture>>();
  for (Value capture : op.getCaptures()) {
    auto position =
        llvm::find(tiled.getCaptures(), capture) - tiled.getCaptures().begin();
    data->push_back(captures[position]);
  }
  FailureOr<ScalarProgram> program = ScalarProgram::fromRegion(
      op.getBody(), modLeadingArguments(modKind), data.get());
  if (failed(program))
    return failure();
  Link link{std::move(*program), kind, {}, data};
  for (auto [index, capture] : llvm::enumerate(op.getCaptures())) {
    if (isa<MemRefType>(capture.getType()))
      continue;
    Scalar value;
    value.f = (*data)[index].values[0];
    value.i = static_cast<int64_t>(value.f);
    link.scalars.push_back(value);
  }
  return link;
}

FailureOr<flashc::ScoreModifiers> flash::buildScoreModifiers(
    TiledOp tiled,
    std::shared_ptr<const std::vector<flashc::HostCapture>> captures,
    int64_t seqQ, int64_t seqK) {
  SoftmaxStepOp step;
  tiled.walk([&](SoftmaxStepOp op) { step = op; });
  flashc::ScoreModifiers modifiers;
  if (!step)
    return modifiers;
  FailureOr<SmallVector<Operation *>> chain = chainOf(step.getScores());
  if (failed(chain))
    return failure();
  if (chain->empty())
    return modifiers;
  auto links = std::make_shared<std::vector<Link>>();
  for (Operation *op : *chain) {
    FailureOr<Link> link = failure();
    if (auto mod = dyn_cast<ScoreModOp>(op)) {
      link = modLink(mod, Link::Kind::Score, ModKind::Score, *captures, tiled);
    } else if (auto mod = dyn_cast<MaskModOp>(op)) {
      link = modLink(mod, Link::Kind::Mask, ModKind::Mask, *captures, tiled);
    } else {
      unsigned scoreOperand = 0;
      for (auto [index, operand] : llvm::enumerate(op->getOperands()))
        if (!operand.getDefiningOp<arith::ConstantOp>())
          scoreOperand = index;
      FailureOr<ScalarProgram> program =
          ScalarProgram::fromElementwise(op, scoreOperand);
      if (succeeded(program))
        link = Link{std::move(*program), Link::Kind::Elementwise, {}, {}};
    }
    if (failed(link))
      return failure();
    links->push_back(std::move(*link));
  }
  modifiers.score = [links, captures, seqQ, seqK](double score, int64_t b,
                                                  int64_t h, int64_t q,
                                                  int64_t kv) {
    std::vector<Scalar> inputs;
    for (const Link &link : *links) {
      if (link.kind == Link::Kind::Elementwise) {
        Scalar x;
        x.f = score;
        score = link.program.run(x).f;
        continue;
      }
      inputs.clear();
      if (link.kind == Link::Kind::Score)
        inputs.push_back(Scalar{score, 0});
      for (int64_t coordinate : {b, h, q, kv, seqQ, seqK})
        inputs.push_back(Scalar{0, coordinate});
      llvm::append_range(inputs, link.scalars);
      Scalar result = link.program.run(inputs);
      if (link.kind == Link::Kind::Score)
        score = result.f;
      else if (!result.i)
        score = -INFINITY;
    }
    return score;
  };
  return modifiers;
}
