//===- Tune.cpp - flashc tune: try configurations, cache the fastest ------===//

#include "Tune.h"

#include "flashc/Dialect/Flash/IR/FlashDialect.h"
#include "flashc/Runtime/Runner.h"
#include "flashc/Target/Pipeline.h"
#include "flashc/Target/Ptxas.h"
#include "flashc/Target/TargetInfo.h"
#include "flashc/Transforms/TuneCache.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace mlir;
using namespace llvm;

namespace {
struct Candidate {
  int64_t blockM, blockN, stages, warps;
  flash::Strategy strategy;
  int64_t kvSplits = 1;
};
} // namespace

/// "mma_sync 128x32 stages 3 warps 4[ kv_splits N]": a candidate as tune
/// prints it, in its progress lines and in its verdict.
static std::string describeConfig(StringRef strategy, int64_t blockM,
                                  int64_t blockN, int64_t stages, int64_t warps,
                                  int64_t kvSplits) {
  std::string text =
      (Twine(strategy) + " " + Twine(blockM) + "x" + Twine(blockN) +
       " stages " + Twine(stages) + " warps " + Twine(warps))
          .str();
  if (kvSplits > 1)
    text += " kv_splits " + std::to_string(kvSplits);
  return text;
}

/// The tune-cache key of `source`'s one flash.attention, after checking the
/// input and that the run's shape can be chosen; says why not.
static std::optional<flash::TuneKey>
tuneKeyOf(const std::string &source, MLIRContext &context,
          const flash::TargetOptions &options,
          const flashc::RunOptions &runOptions,
          const std::string &diagnosticsText) {
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(source, ParserConfig(&context));
  flash::AttentionOp attention;
  int attentions = 0;
  if (module)
    module->walk([&](flash::AttentionOp op) {
      attention = op;
      ++attentions;
    });
  if (!module || attentions != 1) {
    errs() << "flashc tune: error: the input must hold exactly one "
              "flash.attention ("
           << diagnosticsText << ")\n";
    return std::nullopt;
  }
  auto qType = cast<MemRefType>(attention.getQ().getType());
  auto kType = cast<MemRefType>(attention.getK().getType());
  auto size = [](MemRefType type, unsigned dim) {
    return type.isDynamicDim(dim) ? int64_t(-1) : type.getDimSize(dim);
  };
  flashc::RunShape shape;
  std::string error;
  if (!flashc::chooseRunShape(runOptions,
                              {size(qType, 0), size(qType, 1), size(qType, 2),
                               size(kType, 2), size(kType, 1)},
                              shape, error)) {
    errs() << "flashc tune: error: " << error << "\n";
    return std::nullopt;
  }
  flash::TuneKey key;
  key.arch = options.chip;
  key.dtype = qType.getElementType().isBF16() ? "bf16" : "f16";
  key.headDim = attention.getHeadDim();
  key.causal = attention.getCausal();
  key.seqBucket = flash::seqBucket(size(qType, 2) < 0 ? 0 : size(qType, 2));
  return key;
}

/// The configurations `flashc tune` tries.
static const Candidate kTuneCandidates[] = {
    {64, 64, 2, 4, flash::Strategy::mma_sync},
    {64, 32, 2, 4, flash::Strategy::mma_sync},
    {64, 64, 3, 4, flash::Strategy::mma_sync},
    {64, 128, 2, 4, flash::Strategy::mma_sync},
    {128, 64, 2, 8, flash::Strategy::mma_sync},
    {128, 32, 2, 8, flash::Strategy::mma_sync},
    {128, 64, 3, 8, flash::Strategy::mma_sync},
    // Two 16-row strips per warp: B fragments reused across strips.
    {128, 64, 2, 4, flash::Strategy::mma_sync},
    {128, 32, 2, 4, flash::Strategy::mma_sync},
    {128, 32, 3, 4, flash::Strategy::mma_sync},
    {64, 64, 2, 4, flash::Strategy::wmma},
    {64, 32, 2, 4, flash::Strategy::wmma},
    // Split K/V loops, for grids smaller than the GPU.
    {64, 64, 2, 4, flash::Strategy::mma_sync, 2},
    {64, 64, 3, 4, flash::Strategy::mma_sync, 2},
    {64, 64, 2, 4, flash::Strategy::mma_sync, 4},
    {64, 128, 2, 4, flash::Strategy::mma_sync, 2},
    // Hopper's warpgroup MMA (sm_90a only): the tiles of its heuristic
    // (docs/Hopper.md), and split.
    {64, 128, 2, 4, flash::Strategy::wgmma},
    {128, 128, 2, 8, flash::Strategy::wgmma},
    {128, 64, 2, 8, flash::Strategy::wgmma},
    {64, 128, 2, 4, flash::Strategy::wgmma, 2},
    {128, 128, 2, 8, flash::Strategy::wgmma, 2},
};

/// Whether `c` can run on `chip` (wgmma needs sm_90a).
static bool runsOn(const Candidate &c, StringRef chip) {
  const flash::ArchInfo *arch = flash::lookupArch(chip);
  return c.strategy != flash::Strategy::wgmma || (arch && arch->hasWgmma);
}

/// Compiles `source` with candidate `c`, or says why not (progress line);
/// a spilling candidate is never kept: a compile that read it from the cache
/// would be refused by the spill gate.
static FailureOr<flashc::KernelBundle>
compileCandidate(const std::string &source, MLIRContext &context,
                 const flash::TargetOptions &options, const Candidate &c,
                 int64_t headDim, const std::string &ptxas,
                 const std::string &diagnosticsText) {
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(source, ParserConfig(&context));
  flash::AttentionOp attention;
  module->walk([&](flash::AttentionOp op) { attention = op; });
  auto config = flash::TileConfigAttr::getChecked(
      [&] { return emitError(attention.getLoc()); }, &context, c.blockM,
      c.blockN, c.stages, c.warps, c.strategy, c.kvSplits);
  if (!config ||
      failed(config.verifyFor([&] { return emitError(attention.getLoc()); },
                              headDim, 2))) {
    outs() << "skipped (" << diagnosticsText << ")\n";
    return failure();
  }
  attention.setConfigAttr(config);
  flashc::KernelBundle bundle;
  if (failed(
          flash::compileModule(*module, flash::Stage::PTX, options, &bundle))) {
    outs() << "compile failed (" << diagnosticsText << ")\n";
    return failure();
  }
  if (!ptxas.empty()) {
    flash::PtxasResult assembled =
        flash::runPtxas(ptxas, bundle.ptx, options.chip);
    flash::SpillFigures spills = flash::parseSpillFigures(assembled.report);
    if (assembled.ok && spills.spills()) {
      outs() << "skipped (spills " << spills.spillStores << " bytes)\n";
      return failure();
    }
  }
  return bundle;
}

int flashc::runTune(const std::string &source, MLIRContext &context,
                    const flash::TargetOptions &baseOptions,
                    const flashc::RunOptions &runOptions,
                    const std::string &cachePath) {
  std::string diagnosticsText;
  llvm::raw_string_ostream diagnostics(diagnosticsText);
  ScopedDiagnosticHandler quietHandler(&context, [&](Diagnostic &diag) {
    diagnostics << diag.str() << "; ";
    return success();
  });
  // The input and the run's shape are checked once, before any candidate.
  std::optional<flash::TuneKey> key =
      tuneKeyOf(source, context, baseOptions, runOptions, diagnosticsText);
  if (!key)
    return 3;
  std::string ptxas = flash::findPtxas();
  std::optional<flash::TuneEntry> best;
  size_t index = 0,
         total = llvm::count_if(kTuneCandidates, [&](const Candidate &c) {
           return runsOn(c, baseOptions.chip);
         });
  for (const Candidate &c : kTuneCandidates) {
    if (!runsOn(c, baseOptions.chip))
      continue;
    diagnosticsText.clear();
    outs() << "[" << ++index << "/" << total << "] "
           << describeConfig(flash::stringifyStrategy(c.strategy), c.blockM,
                             c.blockN, c.stages, c.warps, c.kvSplits)
           << ": ";
    outs().flush();
    FailureOr<flashc::KernelBundle> bundle = compileCandidate(
        source, context, baseOptions, c, key->headDim, ptxas, diagnosticsText);
    if (failed(bundle))
      continue;
    std::ostringstream runOut, runErr;
    flashc::RunReport report;
    flashc::RunStatus status = flashc::runBundle(
        flashc::serializeBundle(*bundle), runOptions, runOut, runErr, &report);
    if (status == flashc::kRunNoDevice || status == flashc::kRunError) {
      outs() << "cannot run\n";
      errs() << runErr.str();
      return status;
    }
    if (status != flashc::kRunPassed) {
      outs() << "WRONG (rel_l2 " << report.relL2 << "), discarded\n";
      continue;
    }
    outs() << format("%.2f us, %.1f TFLOP/s, rel_l2 %.1e\n", report.medianUs,
                     report.tflops, report.relL2);
    if (!best || report.medianUs < best->microseconds)
      best = flash::TuneEntry{*key,
                              c.blockM,
                              c.blockN,
                              c.stages,
                              c.warps,
                              flash::stringifyStrategy(c.strategy).str(),
                              report.medianUs,
                              c.kvSplits};
  }
  if (!best) {
    errs() << "flashc tune: error: no candidate compiled and ran correctly\n";
    return 1;
  }
  std::string error;
  if (!flash::updateTuneCache(cachePath, *best, error)) {
    errs() << "flashc tune: error: " << error << "\n";
    return 3;
  }
  outs() << "best: "
         << describeConfig(best->strategy, best->blockM, best->blockN,
                           best->stages, best->warps, best->kvSplits)
         << " (" << format("%.2f", best->microseconds) << " us) for "
         << best->key.arch << " " << best->key.dtype << " head_dim "
         << best->key.headDim << (best->key.causal ? " causal" : "")
         << " seq bucket " << best->key.seqBucket << "; written to "
         << cachePath << "\n";
  return 0;
}
