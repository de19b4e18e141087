//===- flashc-check-cpu.cpp - check the tiled algorithm on the CPU --------===//
//
// flashc-check-cpu FILE.mlir [--batch N --heads N --kv-heads N --seq N
//                             --seq-k N --seed N]
// flashc-check-cpu VARLEN.mlir [--seq-lens L,L,... --seq-lens-k L,L,...
//                               --heads N --kv-heads N --seed N]
// flashc-check-cpu PAGED.mlir [--batch N --seq N --seq-lens-k L,L,...
//                              --page-size N --heads N --kv-heads N]
//
// Compiles FILE to the tile level, runs the tiled program on the CPU with
// seeded random inputs (the interpreter follows the GPU schedule: tiles, K/V
// blocks, masks, online softmax, f32 accumulation, rounding of P and O), and
// compares it with a float64 reference: relative L2 error < 1e-3 for f16
// (1e-2 for bf16), no NaN. A varlen program is checked sequence by
// sequence, as its GPU programs see them (each its own lengths, its index
// as the batch), and must pass on every one; a paged one reads its keys
// through a shuffled block table, each sequence against its own keys.
// Exit 0 pass, 1 fail, 3 error.
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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>

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
                      "lengths); paged: each sequence's (default "
                      "1,65,300,17, ...)"),
             cl::CommaSeparated, cl::cat(checkCategory));
static cl::opt<int64_t> pageSize("page-size",
                                 cl::desc("paged: the page size (if dynamic)"),
                                 cl::init(-1), cl::cat(checkCategory));

namespace {

/// One problem's check: the float64 reference's verdict on the
/// interpreter's output.
struct Check {
  flashc::ErrorStats stats;
  bool passed = false;
};

} // namespace

/// Reports `message` as the tool's error; the exit status of an error.
static int fail(const Twine &message) {
  errs() << "flashc-check-cpu: error: " << message << "\n";
  return 3;
}

/// The sizes the flags ask for.
static flashc::RunOptions requestedSizes() {
  flashc::RunOptions requested;
  requested.batch = batch;
  requested.heads = heads;
  requested.kvHeads = kvHeads;
  requested.seqQ = seqQ;
  requested.seqK = seqK;
  requested.seqLensQ.assign(seqLens.begin(), seqLens.end());
  requested.seqLensK.assign(seqLensK.begin(), seqLensK.end());
  requested.pageSize = pageSize;
  return requested;
}

/// The relative L2 error a CPU run must stay under.
static double cpuErrorBound(bool bf16) { return bf16 ? 1e-2 : 1e-3; }

/// Seeded random [batch, heads, seq, head_dim] bits, or NaN poison.
static flash::HostTensor makeTensor(std::mt19937_64 &rng, int64_t batch,
                                    int64_t heads, int64_t seq, int64_t headDim,
                                    bool bf16, bool random) {
  flash::HostTensor t;
  int64_t shape[4] = {batch, heads, seq, headDim};
  std::copy(shape, shape + 4, t.shape);
  size_t count = size_t(batch * heads * seq * headDim);
  t.bits = random ? flashc::randomInput(count, rng, bf16)
                  : std::vector<uint16_t>(count, 0xffff); // NaN poison
  return t;
}

/// The float64 reference's verdict on `problem` (`lse`: null, or its rows).
static FailureOr<Check>
compareOne(flash::TiledOp tiled, flashc::AttentionProblem problem,
           const std::shared_ptr<std::vector<flashc::HostCapture>> &captures,
           const std::vector<uint16_t> &q, const std::vector<uint16_t> &k,
           const std::vector<uint16_t> &v, const std::vector<uint16_t> &o,
           const std::vector<float> *lse, uint64_t sampleSeed) {
  // The reference evaluates the modifiers itself, in float64.
  FailureOr<flashc::ScoreModifiers> modifiers =
      flash::buildScoreModifiers(tiled, captures, problem.seqQ, problem.seqK);
  if (failed(modifiers))
    return failure();
  problem.modifiers = &*modifiers;
  Check check;
  check.stats =
      flashc::compareWithReference(problem, q, k, v, o, sampleSeed, 4.0e9, lse);
  double bound = cpuErrorBound(problem.bf16);
  check.passed = !check.stats.nan && check.stats.relL2 < bound &&
                 !check.stats.lseBad &&
                 check.stats.lseMaxRel <= flashc::kLseBound;
  return check;
}

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
  int64_t d = problem.headDim;
  flash::HostTensor q = makeTensor(rng, problem.batch, problem.heads,
                                   problem.seqQ, d, problem.bf16, true);
  flash::HostTensor k = makeTensor(rng, problem.batch, problem.keyHeads(),
                                   problem.seqK, d, problem.bf16, true);
  flash::HostTensor v = makeTensor(rng, problem.batch, problem.keyHeads(),
                                   problem.seqK, d, problem.bf16, true);
  flash::HostTensor o = makeTensor(rng, problem.batch, problem.heads,
                                   problem.seqQ, d, problem.bf16, false);
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
  return compareOne(tiled, problem, captures, q.bits, k.bits, v.bits, o.bits,
                    info.lse ? &lse : nullptr, runSeed + 1);
}

/// One sequence's line of a varlen or paged report.
static void reportSequence(size_t b, int64_t lenQ, int64_t lenK,
                           const Check &check, bool bf16, bool lse) {
  outs() << format("sequence %zu seq_q=%lld seq_k=%lld: max_abs_error %.3e "
                   "rel_l2_error %.3e (bound %.0e)%s",
                   b, (long long)lenQ, (long long)lenK, check.stats.maxAbs,
                   check.stats.relL2, cpuErrorBound(bf16),
                   check.stats.nan ? " NaN in output" : "");
  if (lse)
    outs() << format(" lse_max_rel_error %.3e%s", check.stats.lseMaxRel,
                     check.stats.lseBad ? " WRONG -inf or NaN rows" : "");
  outs() << (check.passed ? "" : " FAIL") << "\n";
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
  flashc::VarlenSizes sizes;
  std::string error;
  if (!flashc::chooseVarlenSizes(info, requestedSizes(), sizes, error))
    return fail(error);
  const std::vector<int64_t> &lensQ = sizes.lensQ, &lensK = sizes.lensK;
  flashc::RunShape shape = sizes.heads;
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
    reportSequence(b, lensQ[b], lensK[b], *check, problem.bf16, info.lse);
    passed &= check->passed;
  }
  outs() << (passed ? "PASS" : "FAIL") << "\n";
  return passed ? 0 : 1;
}

/// A paged program: the batch's queries at once, each sequence's keys in
/// its own pages of a shared cache, found through a shuffled block table;
/// each sequence compared with the reference against its own keys.
static int checkPaged(flash::TiledOp tiled, const flashc::KernelBundle &info) {
  flashc::PagedSizes sizes;
  std::string error;
  if (!flashc::choosePagedSizes(info, requestedSizes(), sizes, error))
    return fail(error);
  const flashc::RunShape &shape = sizes.shape;
  int64_t page = shape.seqK, pages = sizes.pages;
  const std::vector<int64_t> &lens = sizes.lens;
  std::mt19937_64 rng(seed);
  flash::PagedCache paged;
  paged.maxPages = sizes.maxPages;
  paged.blockTable = flashc::shuffledBlockTable(sizes, rng);
  for (int64_t len : lens)
    paged.seqlensK.push_back(static_cast<int32_t>(len));

  flashc::AttentionProblem problem = flashc::attentionProblem(info, shape);
  int64_t d = problem.headDim, kvh = problem.keyHeads();
  flash::HostTensor q = makeTensor(rng, shape.batch, problem.heads,
                                   problem.seqQ, d, problem.bf16, true);
  flash::HostTensor k =
      makeTensor(rng, pages, kvh, page, d, problem.bf16, true);
  flash::HostTensor v =
      makeTensor(rng, pages, kvh, page, d, problem.bf16, true);
  flash::HostTensor o = makeTensor(rng, shape.batch, problem.heads,
                                   problem.seqQ, d, problem.bf16, false);
  auto captures = std::make_shared<std::vector<flashc::HostCapture>>();
  if (!flashc::makeHostCaptures(info, seed + 2, *captures, error))
    return fail(error);
  std::vector<float> lse;
  if (info.lse)
    lse.assign(size_t(shape.batch * problem.heads * problem.seqQ), NAN);
  if (failed(flash::interpretTiled(tiled, q, k, v, o, *captures,
                                   info.lse ? &lse : nullptr, -1, &paged)))
    return 3;

  outs() << "shape batch=" << shape.batch << " heads=" << problem.heads;
  if (kvh != problem.heads)
    outs() << " kv_heads=" << kvh;
  outs() << " seq_q=" << problem.seqQ << describe(problem, info)
         << " paged (page_size=" << page << " pages=" << pages
         << " max_pages=" << paged.maxPages << ")\n";
  bool passed = true;
  size_t qRows = size_t(problem.heads * problem.seqQ);
  for (int64_t b = 0; b < shape.batch; ++b) {
    // Sequence b alone: its queries and outputs, its keys gathered from
    // its pages.
    auto slice = [&](const std::vector<uint16_t> &bits) {
      auto first = bits.begin() + b * qRows * d;
      return std::vector<uint16_t>(first, first + qRows * d);
    };
    std::vector<uint16_t> keys, values;
    for (int64_t head = 0; head < kvh; ++head)
      for (int64_t row = 0; row < lens[b]; ++row) {
        int64_t at = paged.blockTable[b * paged.maxPages + row / page];
        size_t from = size_t(((at * kvh + head) * page + row % page) * d);
        keys.insert(keys.end(), k.bits.begin() + from,
                    k.bits.begin() + from + d);
        values.insert(values.end(), v.bits.begin() + from,
                      v.bits.begin() + from + d);
      }
    flashc::RunShape one = shape;
    one.batch = 1;
    one.seqK = lens[b];
    flashc::AttentionProblem sequence = flashc::attentionProblem(info, one);
    sequence.firstBatch = b;
    std::vector<float> sequenceLse;
    if (info.lse)
      sequenceLse.assign(lse.begin() + b * qRows,
                         lse.begin() + (b + 1) * qRows);
    FailureOr<Check> check = compareOne(
        tiled, sequence, captures, slice(q.bits), keys, values, slice(o.bits),
        info.lse ? &sequenceLse : nullptr, seed + 1000 * b);
    if (failed(check))
      return 3;
    reportSequence(b, problem.seqQ, lens[b], *check, problem.bf16, info.lse);
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
  if (!input)
    return fail(error);
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
  if (tiled.isPaged())
    return checkPaged(tiled, info);
  flashc::RunOptions requested = requestedSizes();
  if (!flashc::checkPlainSizes(requested, error))
    return fail(error);
  flashc::RunShape shape;
  if (!flashc::chooseRunShape(
          requested,
          {info.batch, info.heads, info.seqQ, info.seqK, info.kvHeads}, shape,
          error))
    return fail(error);
  flashc::AttentionProblem problem = flashc::attentionProblem(info, shape);
  FailureOr<Check> check = checkProblem(tiled, info, problem, -1, seed, error);
  if (failed(check))
    return error.empty() ? 3 : fail(error);
  const flashc::ErrorStats &stats = check->stats;
  bool passed = check->passed;
  double bound = cpuErrorBound(problem.bf16);
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
