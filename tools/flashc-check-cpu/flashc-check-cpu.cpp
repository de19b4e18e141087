//===- flashc-check-cpu.cpp - check the tiled algorithm on the CPU --------===//
//
// flashc-check-cpu FILE.mlir [--batch N --heads N --kv-heads N --seq N
//                             --seq-k N --seed N]
// flashc-check-cpu VARLEN.mlir [--seq-lens L,L,... --seq-lens-k L,L,...
//                               --heads N --kv-heads N --seed N]
//
// Compiles FILE to the tile level, runs the tiled program on the CPU with
// seeded random inputs (the interpreter follows the GPU schedule: tiles, K/V
// blocks, masks, online softmax, f32 accumulation, rounding of P and O), and
// compares it with a float64 reference: relative L2 error < 1e-3 for f16
// (1e-2 for bf16), no NaN. A varlen program is checked sequence by
// sequence, as its GPU programs see them (each its own lengths, its index
// as the batch), and must pass on every one. Exit 0 pass, 1 fail, 3 error.
//
//===----------------------------------------------------------------------===//

#include "flashc/Interpreter/ScoreChain.h"
#include "flashc/Interpreter/TileInterpreter.h"
#include "flashc/Runtime/Captures.h"
#include "flashc/Runtime/Reference.h"
#include "flashc/Runtime/Runner.h"
#include "flashc/Target/Pipeline.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace llvm;

static cl::OptionCategory checkCategory("flashc-check-cpu options");
static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .mlir>"),
                                          cl::init("-"),
                                          cl::cat(checkCategory));
static cl::opt<int64_t> batch("batch", cl::desc("batch (if dynamic)"),
                              cl::init(-1), cl::cat(checkCategory));
static cl::opt<int64_t> heads("heads", cl::desc("heads (if dynamic)"),
                              cl::init(-1), cl::cat(checkCategory));
static cl::opt<int64_t>
    kvHeads("kv-heads", cl::desc("K/V heads (if dynamic; default: heads)"),
            cl::init(-1), cl::cat(checkCategory));
static cl::opt<int64_t> seqQ("seq", cl::desc("query length (if dynamic)"),
                             cl::init(-1), cl::cat(checkCategory));
static cl::opt<int64_t> seqK("seq-k",
                             cl::desc("key length (default: the query's)"),
                             cl::init(-1), cl::cat(checkCategory));
static cl::opt<uint64_t> seed("seed", cl::desc("random seed"), cl::init(1),
                              cl::cat(checkCategory));
static cl::list<int64_t>
    seqLens("seq-lens",
            cl::desc("varlen: the sequences' query lengths (default "
                     "1,17,130,64)"),
            cl::CommaSeparated, cl::cat(checkCategory));
static cl::list<int64_t>
    seqLensK("seq-lens-k",
             cl::desc("varlen: their key lengths (default: the query "
                      "lengths)"),
             cl::CommaSeparated, cl::cat(checkCategory));

namespace {

/// One problem's check: its inputs, the interpreter's output and the float64
/// reference's verdict.
struct Check {
  flashc::ErrorStats stats;
  bool passed = false;
};

} // namespace

/// Interprets `tiled` on seeded random inputs of `problem`'s shape (varlen:
/// one sequence, `sequence` its index, else -1) and compares it with the
/// float64 reference. Fails (after reporting) where the program cannot be
/// interpreted.
static FailureOr<Check> checkProblem(flash::TiledOp tiled,
                                     const flashc::KernelBundle &info,
                                     flashc::AttentionProblem problem,
                                     int64_t sequence, uint64_t runSeed,
                                     std::string &error) {
  std::mt19937_64 rng(runSeed);
  auto makeTensor = [&](int64_t h, int64_t s, bool random) {
    flash::HostTensor t;
    int64_t shape[4] = {problem.batch, h, s, problem.headDim};
    std::copy(shape, shape + 4, t.shape);
    size_t count = size_t(problem.batch * h * s * problem.headDim);
    t.bits = random ? flashc::randomInput(count, rng, problem.bf16)
                    : std::vector<uint16_t>(count, 0xffff); // NaN poison
    return t;
  };
  flash::HostTensor q = makeTensor(problem.heads, problem.seqQ, true);
  flash::HostTensor k = makeTensor(problem.keyHeads(), problem.seqK, true);
  flash::HostTensor v = makeTensor(problem.keyHeads(), problem.seqK, true);
  flash::HostTensor o = makeTensor(problem.heads, problem.seqQ, false);
  // The captures are the whole batch's (a varlen sequence reads its row).
  auto captures = std::make_shared<std::vector<flashc::HostCapture>>();
  if (!flashc::makeHostCaptures(info, seed + 2, *captures, error))
    return failure();
  std::vector<float> lse;
  if (info.lse)
    lse.assign(size_t(problem.batch * problem.heads * problem.seqQ), NAN);
  if (failed(flash::interpretTiled(tiled, q, k, v, o, *captures,
                                   info.lse ? &lse : nullptr, sequence)))
    return failure();
  // The reference evaluates the modifiers itself, in float64.
  FailureOr<flashc::ScoreModifiers> modifiers =
      flash::buildScoreModifiers(tiled, captures, problem.seqQ, problem.seqK);
  if (failed(modifiers))
    return failure();
  problem.modifiers = &*modifiers;
  Check check;
  check.stats = flashc::compareWithReference(problem, q.bits, k.bits, v.bits,
                                             o.bits, runSeed + 1, 4.0e9,
                                             info.lse ? &lse : nullptr);
  double bound = problem.bf16 ? 1e-2 : 1e-3;
  check.passed = !check.stats.nan && check.stats.relL2 < bound &&
                 !check.stats.lseBad &&
                 check.stats.lseMaxRel <= flashc::kLseBound;
  return check;
}

/// The problem's kind, as the report's first line ends.
static std::string describe(const flashc::AttentionProblem &problem,
                            const flashc::KernelBundle &info) {
  std::string text = " head_dim=" + std::to_string(problem.headDim) + " " +
                     (problem.bf16 ? "bf16" : "f16");
  if (problem.causal)
    text += " causal";
  if (problem.bottomRight)
    text += " bottom-right";
  if (info.modified)
    text += " modified";
  return text;
}

/// A varlen program, sequence by sequence: each as its GPU programs see it
/// (its own lengths, its index as the batch).
static int checkVarlen(flash::TiledOp tiled, const flashc::KernelBundle &info) {
  auto fail = [](const Twine &message) {
    errs() << "flashc-check-cpu: error: " << message << "\n";
    return 3;
  };
  if (batch != -1 || seqQ != -1 || seqK != -1)
    return fail("a varlen program's sequences are given with --seq-lens (and "
                "--seq-lens-k), not --batch, --seq or --seq-k");
  std::vector<int64_t> lensQ(seqLens.begin(), seqLens.end());
  if (lensQ.empty())
    lensQ = {1, 17, 130, 64};
  std::vector<int64_t> lensK(seqLensK.begin(), seqLensK.end());
  if (lensK.empty())
    lensK = lensQ;
  if (lensK.size() != lensQ.size())
    return fail("--seq-lens-k gives " + Twine(lensK.size()) +
                " lengths and --seq-lens " + Twine(lensQ.size()) +
                ": one of each per sequence");
  for (auto [flag, lens] :
       {std::pair<StringRef, std::vector<int64_t> &>{"--seq-lens", lensQ},
        {"--seq-lens-k", lensK}})
    for (int64_t len : lens)
      if (len < 0)
        return fail(flag + " " + Twine(len) +
                    ": a length is at least 0 (0: an empty sequence)");
  // Heads and K/V heads as for any run.
  flashc::RunOptions requested;
  requested.heads = heads;
  requested.kvHeads = kvHeads;
  requested.seqQ = 1;
  requested.seqK = 1;
  flashc::RunShape shape;
  std::string error;
  if (!flashc::chooseRunShape(requested,
                              {info.batch, info.heads, -1, -1, info.kvHeads},
                              shape, error))
    return fail(error);
  bool passed = true;
  for (size_t b = 0; b < lensQ.size(); ++b) {
    flashc::RunShape one = shape;
    one.batch = 1;
    one.seqQ = lensQ[b];
    one.seqK = lensK[b];
    flashc::AttentionProblem problem = flashc::attentionProblem(info, one);
    problem.firstBatch = static_cast<int64_t>(b);
    if (b == 0) {
      outs() << "shape sequences=" << lensQ.size()
             << " heads=" << problem.heads;
      if (problem.keyHeads() != problem.heads)
        outs() << " kv_heads=" << problem.keyHeads();
      outs() << describe(problem, info) << " varlen\n";
    }
    FailureOr<Check> check = checkProblem(
        tiled, info, problem, problem.firstBatch, seed + 1000 * b, error);
    if (failed(check))
      return error.empty() ? 3 : fail(error);
    double bound = problem.bf16 ? 1e-2 : 1e-3;
    outs() << format("sequence %zu seq_q=%lld seq_k=%lld: max_abs_error %.3e "
                     "rel_l2_error %.3e (bound %.0e)%s",
                     b, (long long)lensQ[b], (long long)lensK[b],
                     check->stats.maxAbs, check->stats.relL2, bound,
                     check->stats.nan ? " NaN in output" : "");
    if (info.lse)
      outs() << format(" lse_max_rel_error %.3e%s", check->stats.lseMaxRel,
                       check->stats.lseBad ? " WRONG -inf or NaN rows" : "");
    outs() << (check->passed ? "" : " FAIL") << "\n";
    passed &= check->passed;
  }
  outs() << (passed ? "PASS" : "FAIL") << "\n";
  return passed ? 0 : 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // --help lists this tool's options, not every LLVM library's.
  cl::HideUnrelatedOptions(checkCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "check a flash program's tiled algorithm on "
                              "the CPU against a float64 reference\n");
  DialectRegistry registry;
  flash::registerFlashcDialects(registry);
  MLIRContext context(registry);
  std::string error;
  auto input = openInputFile(inputFilename, &error);
  if (!input) {
    errs() << "flashc-check-cpu: error: " << error << "\n";
    return 3;
  }
  auto sourceMgr = std::make_shared<SourceMgr>();
  sourceMgr->AddNewSourceBuffer(std::move(input), SMLoc());
  SourceMgrDiagnosticHandler handler(*sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return 3;
  flash::TargetOptions options;
  flashc::KernelBundle info;
  if (failed(flash::compileModule(*module, flash::Stage::Tile, options, &info)))
    return 3;
  flash::TiledOp tiled;
  module->walk([&](flash::TiledOp op) { tiled = op; });

  if (tiled.isVarlen())
    return checkVarlen(tiled, info);
  if (!seqLens.empty() || !seqLensK.empty()) {
    errs() << "flashc-check-cpu: error: --seq-lens and --seq-lens-k are for "
              "varlen programs; give --seq and --seq-k\n";
    return 3;
  }
  flashc::RunOptions requested;
  requested.batch = batch;
  requested.heads = heads;
  requested.kvHeads = kvHeads;
  requested.seqQ = seqQ;
  requested.seqK = seqK;
  flashc::RunShape shape;
  if (!flashc::chooseRunShape(
          requested,
          {info.batch, info.heads, info.seqQ, info.seqK, info.kvHeads}, shape,
          error)) {
    errs() << "flashc-check-cpu: error: " << error << "\n";
    return 3;
  }
  flashc::AttentionProblem problem = flashc::attentionProblem(info, shape);
  FailureOr<Check> check = checkProblem(tiled, info, problem, -1, seed, error);
  if (failed(check)) {
    if (!error.empty())
      errs() << "flashc-check-cpu: error: " << error << "\n";
    return 3;
  }
  const flashc::ErrorStats &stats = check->stats;
  bool passed = check->passed;
  double bound = problem.bf16 ? 1e-2 : 1e-3;
  outs() << "shape batch=" << problem.batch << " heads=" << problem.heads;
  if (problem.keyHeads() != problem.heads)
    outs() << " kv_heads=" << problem.keyHeads();
  outs() << " seq_q=" << problem.seqQ << " seq_k=" << problem.seqK
         << describe(problem, info) << "\n";
  outs() << format("max_abs_error %.3e rel_l2_error %.3e (bound %.0e)%s\n",
                   stats.maxAbs, stats.relL2, bound,
                   stats.nan ? " NaN in output" : "");
  if (info.lse)
    outs() << format("lse_max_rel_error %.3e (bound %.0e)%s\n", stats.lseMaxRel,
                     flashc::kLseBound,
                     stats.lseBad ? " WRONG -inf or NaN rows" : "");
  outs() << (passed ? "PASS" : "FAIL") << "\n";
  return passed ? 0 : 1;
}
