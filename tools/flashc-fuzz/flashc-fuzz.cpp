//===- flashc-fuzz.cpp - libFuzzer target: parse, verify, compile ---------===//
//
// Every input goes through what `flashc FILE` does: parse, verify, and the
// whole pipeline to PTX. Errors are expected and swallowed; a crash, a leak
// or a hang is a bug (each one found becomes a lit test in test/Fuzz).
// Built with -DFLASHC_FUZZ=ON and clang; see docs/Robustness.md.
//
//===----------------------------------------------------------------------===//

#include "flashc/Target/Pipeline.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    flash::registerFlashcDialects(*r);
    flash::registerFlashcPasses();
    return r;
  }();
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  // MLIR's lexer stops at a NUL after the text, as a file or std::string
  // has; libFuzzer's bytes end without one, and a token at their very end
  // was read past it (heap-buffer-overflow in the parser, found by this
  // fuzzer at 8192-byte inputs). Parse a NUL-terminated copy, as flashc does.
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(&context));
  if (!module || module->getBody()->empty())
    return 0;
  flash::TargetOptions options;
  flashc::KernelBundle bundle;
  (void)flash::compileModule(*module, flash::Stage::PTX, options, &bundle);
  return 0;
}
