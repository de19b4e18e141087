//===- Compiler.cpp - the C API of the compiler ---------------------------===//

#include "flashc-c/compiler.h"

#include "flashc/Target/Pipeline.h"
#include "flashc/Transforms/TuneCache.h"
#include "flashc/Version.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

#include <mutex>
#include <string>

using namespace mlir;

struct flashc_compile_result {
  bool ok = false;
  std::string bundle, ptx, kernelName, diagnostics;
};

namespace {
/// Shared, thread-safe state: registration happens once per process.
DialectRegistry &registry() {
  static DialectRegistry *instance = [] {
    auto *r = new DialectRegistry();
    flash::registerFlashcDialects(*r);
    flash::registerFlashcPasses();
    return r;
  }();
  return *instance;
}
} // namespace

extern "C" {

const char *flashc_compiler_version(void) { return FLASHC_VERSION; }

void flashc_attention_params_init(flashc_attention_params *params) {
  if (!params)
    return;
  *params = flashc_attention_params{};
  params->head_dim = 64;
  params->dtype = FLASHC_F16;
}

int flashc_compile_mlir(const char *text, size_t size, const char *arch,
                        flashc_compile_result **out) {
  return flashc_compile_mlir_tuned(text, size, arch, nullptr, out);
}

/// Both entry points: `strategy` ("" for the default) is the one the
/// heuristic must use when the input names no tile config.
static int compileText(const char *text, size_t size, const char *arch,
                       const char *tune_cache, const std::string &strategy,
                       flashc_compile_result **out) {
  if (!out)
    return 1;
  auto *result = new flashc_compile_result();
  *out = result;
  if (!text) {
    result->diagnostics = "error: null MLIR text\n";
    return 1;
  }
  MLIRContext context(registry(), MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  llvm::raw_string_ostream diagnostics(result->diagnostics);
  // Collect, never print: the embedding application decides what to show.
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (auto file = dyn_cast<FileLineColLoc>(diag.getLocation()))
      diagnostics << file.getFilename().getValue() << ":" << file.getLine()
                  << ":" << file.getColumn() << ": ";
    else
      diagnostics << diag.getLocation() << ": ";
    switch (diag.getSeverity()) {
    case DiagnosticSeverity::Error:
      diagnostics << "error: ";
      break;
    case DiagnosticSeverity::Warning:
      diagnostics << "warning: ";
      break;
    default:
      diagnostics << "note: ";
    }
    diagnostics << diag.str() << "\n";
    return success();
  });
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(
                                    llvm::StringRef(text, size), "<input>"),
                                llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return 1;
  flash::TargetOptions options;
  if (arch)
    options.chip = arch;
  // As flashc's --tune-cache: the named file, else the default one (a
  // file that does not exist has no entries: readTuneCache).
  options.tuneCache = tune_cache ? tune_cache : flash::defaultTuneCachePath();
  options.strategy = strategy;
  flashc::KernelBundle bundle;
  if (module->getBody()->empty()) {
    emitError(module->getLoc(), "the input holds no operations");
    return 1;
  }
  if (failed(
          flash::compileModule(*module, flash::Stage::PTX, options, &bundle)))
    return 1;
  result->bundle = flashc::serializeBundle(bundle);
  result->ptx = bundle.ptx;
  result->kernelName = bundle.kernelName;
  result->ok = true;
  return 0;
}

int flashc_compile_mlir_tuned(const char *text, size_t size, const char *arch,
                              const char *tune_cache,
                              flashc_compile_result **out) {
  return compileText(text, size, arch, tune_cache, "", out);
}

int flashc_compile_attention(const flashc_attention_params *params,
                             flashc_compile_result **out) {
  if (!out)
    return 1;
  if (!params) {
    *out = new flashc_compile_result();
    (*out)->diagnostics = "error: params: null\n";
    return 1;
  }
  auto fail = [&](const std::string &message) {
    *out = new flashc_compile_result();
    (*out)->diagnostics = "error: params: " + message + "\n";
    return 1;
  };
  if (params->dtype != FLASHC_F16 && params->dtype != FLASHC_BF16)
    return fail("dtype must be FLASHC_F16 or FLASHC_BF16");
  for (int64_t size :
       {params->batch, params->heads, params->seq_q, params->seq_k,
        params->head_dim, params->kv_heads, params->page_size})
    if (size < 0)
      return fail("sizes must be >= 0 (0: dynamic)");
  if (params->head_dim == 0)
    return fail("head_dim must be given (a multiple of 16 from 32 to 256)");
  if (!(params->scale >= 0.0f) || std::isinf(params->scale))
    return fail("scale must be 0 (the default, 1/sqrt(head_dim)) or a "
                "positive finite number");
  if (params->kv_splits < 0)
    return fail("kv_splits must be >= 0 (0 or 1: one program per query "
                "block)");
  bool anyTile =
      params->block_m || params->block_n || params->stages || params->warps;
  bool allTile =
      params->block_m && params->block_n && params->stages && params->warps;
  if (anyTile && !allTile)
    return fail("block_m, block_n, stages and warps are given together or "
                "not at all");
  if (params->kv_splits > 1 && !allTile)
    return fail("kv_splits needs a tile config (block_m, block_n, stages "
                "and warps)");
  if (params->varlen && params->paged)
    return fail("varlen and paged together are not supported yet");
  if (params->varlen && (params->batch > 1 || params->seq_q || params->seq_k))
    return fail("varlen: batch must be 0 or 1 (the sequences are packed in "
                "one) and seq_q, seq_k 0 (their lengths come at launch)");
  if (params->paged && params->seq_k)
    return fail("paged: seq_k must be 0 (the key lengths come at launch)");
  if (params->page_size && !params->paged)
    return fail("page_size needs paged");
  std::string strategy = params->strategy ? params->strategy : "mma_sync";
  if (strategy != "mma_sync" && strategy != "wmma" && strategy != "wgmma")
    return fail("strategy must be \"mma_sync\", \"wmma\" or \"wgmma\", got \"" +
                strategy + "\"");
  // Build the user-level MLIR; the verifier checks everything else and
  // its diagnostics come back as for MLIR text.
  auto dim = [](int64_t size) {
    return size ? std::to_string(size) : std::string("?");
  };
  // Varlen and paged operands are views whose strides come at launch
  // (the same forms as examples/varlen.mlir and examples/paged.mlir).
  std::string element = params->dtype == FLASHC_BF16 ? "bf16" : "f16";
  if (params->strided || params->varlen || params->paged)
    element += ", strided<[?, ?, ?, 1]>";
  int64_t batch = params->varlen ? 1 : params->batch;
  std::string qType = "memref<" + dim(batch) + "x" + dim(params->heads) + "x" +
                      dim(params->seq_q) + "x" +
                      std::to_string(params->head_dim) + "x" + element + ">";
  int64_t kvHeads = params->kv_heads ? params->kv_heads : params->heads;
  // A paged cache's leading dimension is its pages, its third a page.
  std::string kType =
      "memref<" + (params->paged ? std::string("?") : dim(batch)) + "x" +
      dim(kvHeads) + "x" +
      dim(params->paged ? params->page_size : params->seq_k) + "x" +
      std::to_string(params->head_dim) + "x" + element + ">";
  if (params->bottom_right && !params->causal)
    return fail("bottom_right aligns the causal mask: it needs causal");
  std::string lseType = "memref<" + dim(batch) + "x" + dim(params->heads) +
                        "x" + dim(params->seq_q) + "xf32>";
  std::string text = "func.func @attention(%q: " + qType + ", %k: " + kType +
                     ", %v: " + kType + ", %o: " + qType +
                     (params->lse ? ", %lse: " + lseType : std::string());
  if (params->varlen)
    text += ", %cu_seqlens_q: memref<?xi32>, %cu_seqlens_k: memref<?xi32>";
  if (params->paged)
    text += ", %block_table: memref<?x?xi32>, %seqlens_k: memref<?xi32>";
  text += ") {\n  flash.attention %q, %k, %v -> %o";
  if (params->lse)
    text += " lse(%lse : " + lseType + ")";
  if (params->varlen)
    text += " varlen(%cu_seqlens_q, %cu_seqlens_k : memref<?xi32>, "
            "memref<?xi32>)";
  if (params->paged)
    text += " paged(%block_table, %seqlens_k : memref<?x?xi32>, "
            "memref<?xi32>)";
  if (params->causal)
    text += params->bottom_right ? " causal bottom_right" : " causal";
  if (params->scale != 0.0f) {
    std::string scale;
    llvm::raw_string_ostream os(scale);
    os << llvm::format("%.9e", params->scale);
    text += " scale(" + scale + ")";
  }
  if (allTile)
    text +=
        " config(#flash.config<block_m = " + std::to_string(params->block_m) +
        ", block_n = " + std::to_string(params->block_n) +
        ", stages = " + std::to_string(params->stages) +
        ", warps = " + std::to_string(params->warps) +
        ", strategy = " + strategy +
        (params->kv_splits > 1
             ? ", kv_splits = " + std::to_string(params->kv_splits)
             : std::string()) +
        ">)";
  text += " : " + qType + ", " + kType + ", " + kType + " -> " + qType +
          "\n  return\n}\n";
  // Without tiles a named strategy is the one the heuristic must use.
  return compileText(text.data(), text.size(), params->arch, params->tune_cache,
                     allTile || !params->strategy ? "" : strategy, out);
}

const char *flashc_compile_result_bundle(const flashc_compile_result *result,
                                         size_t *size) {
  if (!result || !result->ok) {
    if (size)
      *size = 0;
    return nullptr;
  }
  if (size)
    *size = result->bundle.size();
  return result->bundle.c_str();
}

const char *flashc_compile_result_ptx(const flashc_compile_result *result) {
  return result && result->ok ? result->ptx.c_str() : nullptr;
}

const char *
flashc_compile_result_kernel_name(const flashc_compile_result *result) {
  return result && result->ok ? result->kernelName.c_str() : nullptr;
}

const char *
flashc_compile_result_diagnostics(const flashc_compile_result *result) {
  return result ? result->diagnostics.c_str() : "";
}

void flashc_compile_result_destroy(flashc_compile_result *result) {
  delete result;
}

} // extern "C"
