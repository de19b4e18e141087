//===- Tune.h - flashc tune: try configurations, cache the fastest -*- C++
//-*-===//

#ifndef FLASHC_TOOLS_FLASHC_TUNE_H
#define FLASHC_TOOLS_FLASHC_TUNE_H

#include "flashc/Runtime/Runner.h"
#include "flashc/Target/Pipeline.h"

#include "mlir/IR/MLIRContext.h"

#include <string>

namespace flashc {

/// `flashc tune FILE`: compiles the attention of `source` with each
/// candidate configuration, runs each on the GPU (checked against the
/// float64 reference and timed), prints progress, and keeps the fastest
/// correct one in the tune cache at `cachePath`. Returns the exit code.
int runTune(const std::string &source, mlir::MLIRContext &context,
            const mlir::flash::TargetOptions &baseOptions,
            const RunOptions &runOptions, const std::string &cachePath);

} // namespace flashc

#endif // FLASHC_TOOLS_FLASHC_TUNE_H
