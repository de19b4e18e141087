//===- Ptxas.h - optional ahead-of-time assembly with ptxas -----*- C++ -*-===//
//
// flashc needs no CUDA toolkit to compile: the driver JIT-compiles PTX. Where
// ptxas is installed, --cubin assembles ahead of time and --stats prints its
// resource report (registers, shared memory, spills, stack).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_TARGET_PTXAS_H
#define FLASHC_TARGET_PTXAS_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::flash {

/// ptxas from $PATH, else $CUDA_HOME/bin, else /usr/local/cuda/bin; "" if
/// none.
std::string findPtxas();

struct PtxasResult {
  bool ok = false;
  std::string cubin;  ///< the assembled binary
  std::string report; ///< ptxas -v output (or its error messages)
};

/// Assembles `ptx` for `arch` with `ptxas -v -O3`.
PtxasResult runPtxas(llvm::StringRef ptxas, llvm::StringRef ptx,
                     llvm::StringRef arch);

/// The local-memory figures of a ptxas -v report (summed over its kernels).
struct SpillFigures {
  int64_t stackFrame = 0, spillStores = 0, spillLoads = 0;
  bool spills() const { return spillStores > 0 || spillLoads > 0; }
};
SpillFigures parseSpillFigures(llvm::StringRef report);

} // namespace mlir::flash

#endif // FLASHC_TARGET_PTXAS_H
