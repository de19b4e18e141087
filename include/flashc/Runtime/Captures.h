//===- Captures.h - data for the captures of a run --------------*- C++ -*-===//
//
// What `flashc FILE --run` gives the modifiers' captures: seeded data for
// every memref of static shape (floats standard-normal; integers ids that
// rise along the last dimension, four runs of equal values per row, as
// document ids do) and 1 for scalars; and the bytes a capture's elements
// take on the device. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_RUNTIME_CAPTURES_H
#define FLASHC_RUNTIME_CAPTURES_H

#include "flashc/Runtime/Bundle.h"
#include "flashc/Runtime/Reference.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashc {

/// The run's data for `bundle`'s captures; false (and why in `error`) if a
/// memref capture has a dynamic size.
bool makeHostCaptures(const KernelBundle &bundle, uint64_t seed,
                      std::vector<HostCapture> &captures, std::string &error);

/// A memref capture's elements as the device holds them.
std::vector<uint8_t> encodeCapture(const CaptureInfo &info,
                                   const HostCapture &capture);

} // namespace flashc

#endif // FLASHC_RUNTIME_CAPTURES_H
