//===- flashc-check-cpu.cpp - check the tiled algorithm on the CPU --------===//
//
// flashc-check-cpu FILE.mlir [--batch N --heads N --kv-heads N --seq N
//                             --seq-k N --seed N]
//
// Compiles FILE to the tile level, runs the tiled program on the CPU with
// seeded random inputs (the interpreter follows the GPU schedule: tiles, K/V
// blocks, masks, online softmax, f32 accumulation, rounding of P and O), and
// compares it with a float64 reference: relative L2 error < 1e-3 for f16
// (1e-2 for bf16), no NaN. Exit 0 pass, 1 fail, 3 error.
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

  std::mt19937_64 rng(seed);
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
  auto captures = std::make_shared<std::vector<flashc::HostCapture>>();
  if (!flashc::makeHostCaptures(info, seed + 2, *captures, error)) {
    errs() << "flashc-check-cpu: error: " << error << "\n";
    return 3;
  }
  std::vector<float> lse;
  if (info.lse)
    lse.assign(size_t(problem.batch * problem.heads * problem.seqQ), NAN);
  if (failed(flash::interpretTiled(tiled, q, k, v, o, *captures,
                                   info.lse ? &lse : nullptr)))
    return 3;
  // The reference evaluates the modifiers itself, in float64.
  FailureOr<flashc::ScoreModifiers> modifiers =
      flash::buildScoreModifiers(tiled, captures, problem.seqQ, problem.seqK);
  if (failed(modifiers))
    return 3;
  problem.modifiers = &*modifiers;
  flashc::ErrorStats stats =
      flashc::compareWithReference(problem, q.bits, k.bits, v.bits, o.bits,
                                   seed + 1, 4.0e9, info.lse ? &lse : nullptr);
  double bound = problem.bf16 ? 1e-2 : 1e-3;
  bool passed = !stats.nan && stats.relL2 < bound && !stats.lseBad &&
                stats.lseMaxRel <= flashc::kLseBound;
  outs() << "shape batch=" << problem.batch << " heads=" << problem.heads;
  if (problem.keyHeads() != problem.heads)
    outs() << " kv_heads=" << problem.keyHeads();
  outs() << " seq_q=" << problem.seqQ << " seq_k=" << problem.seqK
         << " head_dim=" << problem.headDim << " "
         << (problem.bf16 ? "bf16" : "f16") << (problem.causal ? " causal" : "")
         << (problem.bottomRight ? " bottom-right" : "")
         << (info.modified ? " modified" : "") << "\n";
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
