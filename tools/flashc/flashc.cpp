//===- flashc.cpp - the flashc compiler driver ----------------------------===//
//
// flashc FILE.mlir [-o OUT] [--arch sm_89] [--emit=...]
//
// Parses and verifies a flash-dialect file, compiles it as far as --emit
// asks, and writes the result. Without --emit it compiles to a kernel
// bundle (PTX + launch metadata). Every error is a diagnostic with its
// location and a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "Tune.h"

#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "flashc/Interpreter/ScoreChain.h"
#include "flashc/Runtime/Runner.h"
#include "flashc/Support/OutputFile.h"
#include "flashc/Target/Pipeline.h"
#include "flashc/Target/Ptxas.h"
#include "flashc/Transforms/TuneCache.h"
#include "flashc/Version.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>

using namespace mlir;
using namespace llvm;

namespace {
enum class Emit { Default, Mlir, Tile, Gpu, Llvm, Ptx, Bundle };
} // namespace

static cl::OptionCategory flashcCategory("flashc options");

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .mlir file or ->"),
                                          cl::cat(flashcCategory));

static cl::opt<std::string>
    outputFilename("o",
                   cl::desc("Output file ('-' for standard output). Default: "
                            "standard output with --emit, else "
                            "<input stem>.bundle (<function>.bundle from "
                            "standard input)"),
                   cl::value_desc("file"), cl::init(""),
                   cl::cat(flashcCategory));

static cl::opt<std::string>
    arch("arch",
         cl::desc("GPU architecture: sm_80, sm_86, sm_89 (default), sm_90 or "
                  "sm_90a (Hopper only, with wgmma)"),
         cl::init("sm_89"), cl::cat(flashcCategory));

static cl::opt<Emit> emit(
    "emit", cl::desc("What to write (default: a kernel bundle)"),
    cl::values(
        clEnumValN(Emit::Mlir, "mlir", "the parsed and verified input MLIR"),
        clEnumValN(Emit::Tile, "tile",
                   "the tile level (after flash-select-config and "
                   "flash-expand-attention)"),
        clEnumValN(Emit::Gpu, "gpu",
                   "after flash-to-gpu: gpu.module + gpu.launch_func"),
        clEnumValN(Emit::Llvm, "llvm",
                   "the kernel lowered to the NVVM/LLVM dialects"),
        clEnumValN(Emit::Ptx, "ptx", "plain PTX text"),
        clEnumValN(Emit::Bundle, "bundle",
                   "a kernel bundle: launch metadata + PTX (docs/Bundle.md)")),
    cl::init(Emit::Default), cl::cat(flashcCategory));

static cl::opt<bool>
    run("run",
        cl::desc("After compiling, launch on the GPU with seeded random "
                 "inputs, check against a float64 reference (f16: relative L2 "
                 "< 2e-3, bf16: < 1e-2), check 3 runs agree bitwise, and time "
                 "it. Exit 0 pass, 1 wrong, 2 no GPU/driver, 3 error"),
        cl::init(false), cl::cat(flashcCategory));
static cl::opt<int64_t> runBatch(
    "batch",
    cl::desc("--run: batch (if dynamic; else must be the static size)"),
    cl::init(-1), cl::cat(flashcCategory));
static cl::opt<int64_t> runHeads(
    "heads",
    cl::desc("--run: heads (if dynamic; else must be the static size)"),
    cl::init(-1), cl::cat(flashcCategory));
static cl::opt<int64_t> runKvHeads(
    "kv-heads",
    cl::desc("--run: K/V heads, a divisor of heads (default: the static size, "
             "else --heads)"),
    cl::init(-1), cl::cat(flashcCategory));
static cl::opt<int64_t> runKvSplits(
    "kv-splits",
    cl::desc("--run: K/V splits of a kernel compiled with kv_splits > 1, from "
             "1 to that (default 0: the runtime chooses per launch)"),
    cl::init(0), cl::cat(flashcCategory));
static cl::opt<int64_t>
    runSeq("seq",
           cl::desc("--run: query length (if dynamic; else must be the static "
                    "size)"),
           cl::init(-1), cl::cat(flashcCategory));
static cl::opt<int64_t> runSeqK(
    "seq-k",
    cl::desc("--run: key length (default: the static size, else --seq)"),
    cl::init(-1), cl::cat(flashcCategory));
static cl::list<int64_t>
    runSeqLens("seq-lens",
               cl::desc("--run, varlen: the sequences' query lengths (default "
                        "1,17,130,64)"),
               cl::CommaSeparated, cl::cat(flashcCategory));
static cl::list<int64_t> runSeqLensK(
    "seq-lens-k",
    cl::desc("--run: varlen, the sequences' key lengths (default: the query "
             "lengths); paged, each sequence's (default 1,65,300,17, ...)"),
    cl::CommaSeparated, cl::cat(flashcCategory));
static cl::opt<int64_t> runPageSize(
    "page-size",
    cl::desc("--run, paged: rows a page (if dynamic; a multiple of 16)"),
    cl::init(-1), cl::cat(flashcCategory));
static cl::opt<uint64_t> runSeed("seed", cl::desc("--run: random seed"),
                                 cl::init(1), cl::cat(flashcCategory));
static cl::opt<int> runIters("iters",
                             cl::desc("--run: timed launches (median "
                                      "printed; 0: no timing)"),
                             cl::init(100), cl::cat(flashcCategory));
static cl::opt<int> runDevice("device", cl::desc("--run: CUDA device index"),
                              cl::init(0), cl::cat(flashcCategory));

static cl::opt<bool>
    cubin("cubin",
          cl::desc("Also assemble the PTX with ptxas (from PATH, $CUDA_HOME "
                   "or /usr/local/cuda) and put the cubin in the bundle; the "
                   "runtime loads it on a device of exactly --arch"),
          cl::init(false), cl::cat(flashcCategory));
static cl::opt<bool>
    stats("kernel-stats",
          cl::desc("Print ptxas's resource report for the kernel (registers, "
                   "shared memory, spills, stack frame); needs ptxas"),
          cl::init(false), cl::cat(flashcCategory));

static cl::opt<bool> allowSpills(
    "allow-spills",
    cl::desc("Accept a kernel that spills registers to local memory (by "
             "default, where ptxas is installed, a spilling kernel is an "
             "error that gives ptxas's figures)"),
    cl::init(false), cl::cat(flashcCategory));

static cl::opt<std::string> tuneCachePath(
    "tune-cache",
    cl::desc("Tune cache to read (and, for 'flashc tune', to write). "
             "Default: $FLASHC_TUNE_CACHE, else ~/.cache/flashc/tune.txt; "
             "read only if it exists"),
    cl::value_desc("file"), cl::init(""), cl::cat(flashcCategory));
static cl::opt<std::string> mmaStrategy(
    "mma",
    cl::desc("Tensor-core strategy when the input gives no config: mma_sync, "
             "wmma, or wgmma (--arch sm_90a only); default: the fastest "
             "measured, wgmma on sm_90a where it applies, else mma_sync"),
    cl::value_desc("wmma|mma_sync|wgmma"), cl::init(""),
    cl::cat(flashcCategory));
static cl::opt<bool> noTuneCache(
    "no-tune-cache",
    cl::desc("Ignore the tune cache: use the explicit config or the built-in "
             "heuristic"),
    cl::init(false), cl::cat(flashcCategory));

static cl::opt<bool> quiet("q", cl::desc("Print nothing but errors"),
                           cl::init(false), cl::cat(flashcCategory));

static flash::Stage stageFor(Emit e) {
  switch (e) {
  case Emit::Mlir:
    return flash::Stage::Input;
  case Emit::Tile:
    return flash::Stage::Tile;
  case Emit::Gpu:
    return flash::Stage::GPU;
  case Emit::Llvm:
    return flash::Stage::LLVM;
  case Emit::Ptx:
  case Emit::Bundle:
  case Emit::Default:
    return flash::Stage::PTX;
  }
  return flash::Stage::PTX;
}

/// Writes the result (see flashc::writeOutputFile); says why not.
static LogicalResult writeOutput(StringRef path, StringRef text) {
  std::string error = flashc::writeOutputFile(path, text);
  if (error.empty())
    return success();
  errs() << "flashc: error: " << error << "\n";
  return failure();
}

/// The --run/tune flags as runtime options.
static flashc::RunOptions runOptionsFromFlags() {
  flashc::RunOptions options;
  options.batch = runBatch;
  options.heads = runHeads;
  options.kvHeads = runKvHeads;
  options.kvSplits = runKvSplits;
  options.seqQ = runSeq;
  options.seqK = runSeqK;
  options.seqLensQ.assign(runSeqLens.begin(), runSeqLens.end());
  options.seqLensK.assign(runSeqLensK.begin(), runSeqLensK.end());
  options.pageSize = runPageSize;
  options.seed = runSeed;
  options.iters = runIters;
  options.device = runDevice;
  return options;
}

/// ptxas on the compiled PTX, where it is installed: --cubin puts the
/// binary in the bundle, --kernel-stats prints the report, and a kernel that
/// spills registers is an error unless --allow-spills (spills cost more than
/// the occupancy or tile size that caused them). Without ptxas the gate is
/// skipped (flashc needs no CUDA toolkit); --cubin and --kernel-stats then
/// fail.
static LogicalResult assembleAndGate(flashc::KernelBundle &bundle) {
  bool complete = stageFor(emit) == flash::Stage::PTX;
  if ((cubin || stats) && !complete) {
    errs() << "flashc: error: --cubin and --kernel-stats need a complete "
              "compile (no --emit, or --emit=ptx|bundle)\n";
    return failure();
  }
  if (!complete)
    return success();
  std::string ptxas = flash::findPtxas();
  if (ptxas.empty()) {
    if (!cubin && !stats)
      return success();
    errs() << "flashc: error: --cubin and --kernel-stats need ptxas (not on "
              "PATH, in $CUDA_HOME/bin or in /usr/local/cuda/bin)\n";
    return failure();
  }
  flash::PtxasResult assembled = flash::runPtxas(ptxas, bundle.ptx, arch);
  if (!assembled.ok) {
    errs() << "flashc: error: ptxas rejected the PTX for " << arch << ":\n"
           << assembled.report;
    // ptxas's wording names its own register target; the knob the user
    // holds is the policy's min_blocks_per_sm (with the program's threads,
    // it sets how many of the SM's registers each thread may have).
    if (StringRef(assembled.report).contains("Insufficient registers"))
      errs() << "flashc: note: " << bundle.kernelName << " runs "
             << bundle.threads
             << " threads a program; at the policy's min_blocks_per_sm that "
                "leaves each thread fewer registers than it needs: lower "
                "min_blocks_per_sm (or use fewer warps)\n";
    return failure();
  }
  if (stats)
    outs() << "ptxas report for " << bundle.kernelName << " (" << arch << "):\n"
           << assembled.report;
  flash::SpillFigures spills = flash::parseSpillFigures(assembled.report);
  if (spills.spills() && !allowSpills) {
    errs() << "flashc: error: " << bundle.kernelName << " spills registers on "
           << arch << " (ptxas: " << spills.spillStores
           << " bytes spill stores, " << spills.spillLoads
           << " bytes spill loads, " << spills.stackFrame
           << " bytes stack frame); choose a smaller tile config, or pass "
              "--allow-spills to accept it\n";
    return failure();
  }
  if (cubin) {
    bundle.cubin = assembled.cubin;
    bundle.cubinArch = arch;
  }
  return success();
}

/// Parses the command line; `tune` says whether it began with `flashc tune`.
static void parseFlags(int argc, char **argv, bool &tune) {
  // `flashc tune FILE ...`: a subcommand in front of the usual flags.
  tune = argc > 1 && StringRef(argv[1]) == "tune";
  std::vector<char *> args(argv, argv + argc);
  if (tune)
    args.erase(args.begin() + 1);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(flashcCategory);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "flashc " << FLASHC_VERSION << " (LLVM/MLIR " << LLVM_VERSION_STRING
       << ")\n";
  });
  cl::ParseCommandLineOptions(
      static_cast<int>(args.size()), args.data(),
      "flashc: compile flash-dialect attention to a tensor-core GPU kernel\n\n"
      "  flashc FILE.mlir                 compile to FILE.bundle (PTX + launch "
      "metadata)\n"
      "  flashc FILE.mlir --emit=ptx -o FILE.ptx\n"
      "  flashc - --emit=tile < FILE.mlir  read standard input\n"
      "  flashc tune FILE.mlir [--seq N ...] try tile configurations on the "
      "GPU,\n"
      "                                   keep the fastest in the tune "
      "cache\n");
}

/// The checks of the flags alone, before any input is read.
static LogicalResult checkFlags() {
  if (inputFilename.empty()) {
    errs() << "flashc: error: no input file (give FILE.mlir, or - to read "
              "standard input; flashc --help lists the flags)\n"
              "usage: flashc FILE.mlir [-o OUT] [--arch sm_XX] [--emit=...] "
              "[--run ...]\n"
              "       flashc tune FILE.mlir [--seq N ...]\n";
    return failure();
  }
  if (!flash::isSupportedArch(arch)) {
    errs() << "flashc: error: unsupported --arch '" << arch
           << "' (supported: " << flash::supportedArchList() << ")\n";
    return failure();
  }
  if (!mmaStrategy.empty() && mmaStrategy != "wmma" &&
      mmaStrategy != "mma_sync" && mmaStrategy != "wgmma") {
    errs() << "flashc: error: --mma must be wmma, mma_sync or wgmma, got '"
           << mmaStrategy << "'\n";
    return failure();
  }
  return success();
}

/// The input file parsed (diagnostics through `sourceMgr`); null on error.
static OwningOpRef<ModuleOp> parseInput(MLIRContext &context,
                                        std::shared_ptr<SourceMgr> &sourceMgr) {
  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> input =
      openInputFile(inputFilename, &errorMessage);
  if (!input) {
    errs() << "flashc: error: " << errorMessage << "\n";
    return nullptr;
  }
  sourceMgr->AddNewSourceBuffer(std::move(input), SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (module && module->getBody()->empty()) {
    StringRef name =
        inputFilename == "-" ? "<stdin>" : StringRef(inputFilename);
    emitError(FileLineColLoc::get(&context, name, 1, 1))
        << "the input holds no operations; expected a func.func with a "
           "flash.attention";
    return nullptr;
  }
  return module;
}

/// What --emit asks to write.
static std::string emittedText(ModuleOp module,
                               const flashc::KernelBundle &bundle) {
  std::string text;
  switch (emit) {
  case Emit::Mlir:
  case Emit::Tile:
  case Emit::Gpu:
  case Emit::Llvm: {
    raw_string_ostream os(text);
    module->print(os);
    break;
  }
  case Emit::Ptx:
    text = bundle.ptx;
    break;
  case Emit::Bundle:
  case Emit::Default:
    text = flashc::serializeBundle(bundle);
    break;
  }
  return text;
}

/// -o, else standard output for --emit, else <input stem>.bundle (from
/// standard input the attention's function names it, as it names the
/// kernel "<func>_kernel").
static std::string outputPath(const flashc::KernelBundle &bundle) {
  if (!outputFilename.empty())
    return outputFilename;
  if (emit != Emit::Default)
    return "-";
  StringRef stem =
      inputFilename == "-"
          ? StringRef(bundle.kernelName).drop_back(strlen("_kernel"))
          : sys::path::stem(inputFilename);
  return (stem + ".bundle").str();
}

static void printSummary(const flashc::KernelBundle &bundle, StringRef path) {
  outs() << "flashc: compiled " << bundle.kernelName << " for " << bundle.arch
         << " (" << bundle.elementType << ", head_dim " << bundle.headDim
         << (bundle.causal ? ", causal" : "")
         << (bundle.bottomRight ? " bottom-right" : "")
         << (bundle.modified ? ", modified scores" : "")
         << (bundle.lse ? ", LSE" : "") << (bundle.varlen ? ", varlen" : "")
         << (bundle.paged ? ", paged K/V" : "") << ", tiles " << bundle.blockM
         << "x" << bundle.blockN << ", " << bundle.stages << " stages, "
         << bundle.warps << " warps, " << bundle.strategy << ", ";
  if (bundle.threads > 32 * bundle.warps)
    outs() << (bundle.tensorMaps ? "a TMA producer warpgroup, "
                                 : "a producer warpgroup, ");
  if (bundle.kvSplits > 1)
    outs() << "up to " << bundle.kvSplits << " K/V splits, ";
  outs() << bundle.sharedBytes << " B shared memory); wrote " << path << "\n";
}

static int flashcMain(int argc, char **argv) {
  bool tune = false;
  parseFlags(argc, argv, tune);
  if (failed(checkFlags()))
    return 1;
  if (run && emit != Emit::Default && emit != Emit::Bundle &&
      emit != Emit::Ptx) {
    errs() << "flashc: error: --run needs a complete compile (no --emit, or "
              "--emit=ptx|bundle)\n";
    return 3;
  }

  DialectRegistry registry;
  flash::registerFlashcDialects(registry);
  MLIRContext context(registry);
  // Diagnostics point at the user's source; a dump of the whole op is noise.
  context.printOpOnDiagnostic(false);
  context.loadAllAvailableDialects();
  auto sourceMgr = std::make_shared<SourceMgr>();
  SourceMgrDiagnosticHandler diagnostics(*sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseInput(context, sourceMgr);
  if (!module)
    return 1;

  flash::TargetOptions options;
  options.chip = arch;
  options.strategy = mmaStrategy;
  std::string cachePath =
      tuneCachePath.empty() ? flash::defaultTuneCachePath() : tuneCachePath;
  if (tune) {
    flashc::RunOptions runOptions = runOptionsFromFlags();
    if (runOptions.iters <= 0)
      runOptions.iters = 50; // tuning needs timings
    std::string source = sourceMgr->getMemoryBuffer(1)->getBuffer().str();
    return flashc::runTune(source, context, options, runOptions, cachePath);
  }
  // A file that does not exist has no entries (readTuneCache).
  if (!noTuneCache)
    options.tuneCache = cachePath;
  // --run: a copy of the source, for the reference of a kernel that
  // modifies its scores (the compile lowers the module past the tile level).
  OwningOpRef<ModuleOp> source;
  if (run)
    source = module->clone();
  flashc::KernelBundle bundle;
  if (failed(flash::compileModule(*module, stageFor(emit), options, &bundle)) ||
      failed(assembleAndGate(bundle)))
    return 1;
  std::string path = outputPath(bundle);
  if (failed(writeOutput(path, emittedText(*module, bundle))))
    return 1;
  if (emit == Emit::Default && !quiet)
    printSummary(bundle, path);
  if (!run)
    return 0;
  outs().flush();
  flashc::RunOptions runOptions = runOptionsFromFlags();
  // The reference of a kernel that modifies its scores evaluates the tile
  // program's modifiers, from the source compiled to the tile level.
  if (bundle.modified) {
    if (failed(flash::compileModule(*source, flash::Stage::Tile, options,
                                    nullptr)))
      return 1;
    flash::TiledOp tiled;
    source->walk([&](flash::TiledOp op) { tiled = op; });
    runOptions.modifiers = [tiled](const std::vector<flashc::HostCapture> &data,
                                   int64_t seqQ, int64_t seqK) {
      auto shared = std::make_shared<std::vector<flashc::HostCapture>>(data);
      FailureOr<flashc::ScoreModifiers> mods =
          flash::buildScoreModifiers(tiled, shared, seqQ, seqK);
      return succeeded(mods) ? *mods : flashc::ScoreModifiers();
    };
  }
  return flashc::runBundle(flashc::serializeBundle(bundle), runOptions,
                           std::cout, std::cerr);
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  int status = flashcMain(argc, argv);
  // A report that could not be written is a failure too (a full disk).
  outs().flush();
  if (std::error_code ec = outs().error()) {
    outs().clear_error();
    errs() << "flashc: error: cannot write standard output: " << ec.message()
           << "\n";
    return status ? status : 1;
  }
  return status;
}
