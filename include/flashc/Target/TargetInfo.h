//===- TargetInfo.h - per-architecture facts, in one table ------*- C++ -*-===//
//
// What flashc needs to know about each GPU architecture it compiles for. The
// verifiers, flash-select-config, the GPU lowering and the driver read these
// rows and nothing else; a new architecture (sm_90a) is one more row.
// Header-only, so that the dialect library can read it without a link
// dependency on the target library.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_TARGET_TARGETINFO_H
#define FLASHC_TARGET_TARGETINFO_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace mlir::flash {

struct ArchInfo {
  /// The name --arch takes and the PTX target: "sm_89".
  llvm::StringLiteral name;
  /// Streaming multiprocessors of the usual card: sm_80 A100, sm_86 A10 /
  /// RTX 3090, sm_89 L4, sm_90 H100 SXM and H200.
  int64_t multiprocessors;
  /// Shared memory the blocks on one SM may use together, and the most one
  /// block may opt in to (the SM's total less what the system keeps).
  int64_t sharedBytesPerSM;
  int64_t sharedBytesPerBlock;
  /// 32-bit registers per SM.
  int64_t registersPerSM;
  /// Hopper's warpgroup MMA and tensor-memory accelerator (sm_90a only).
  bool hasWgmma;
  bool hasTma;
};

inline constexpr int64_t kKiB = 1024;

inline constexpr ArchInfo kArchTable[] = {
    {"sm_80", 108, 164 * kKiB, 163 * kKiB, 65536, false, false},
    {"sm_86", 72, 100 * kKiB, 99 * kKiB, 65536, false, false},
    {"sm_89", 58, 100 * kKiB, 99 * kKiB, 65536, false, false},
    {"sm_90", 132, 228 * kKiB, 227 * kKiB, 65536, false, false},
    // The same chip with its architecture-specific instructions: PTX for
    // sm_90a runs on Hopper only.
    {"sm_90a", 132, 228 * kKiB, 227 * kKiB, 65536, true, true},
};

/// The row of `name`, or null for an architecture flashc does not support.
constexpr const ArchInfo *lookupArch(llvm::StringRef name) {
  for (const ArchInfo &arch : kArchTable)
    if (name == arch.name)
      return &arch;
  return nullptr;
}

/// "sm_80, sm_86, sm_89, sm_90, sm_90a": the supported names, for messages.
inline std::string supportedArchNames() {
  std::string names;
  for (const ArchInfo &arch : kArchTable)
    names += (names.empty() ? "" : ", ") + arch.name.str();
  return names;
}

/// The least of a field over every architecture: what a kernel compiled
/// without knowing its target (the dialect's verifier, a portable launch
/// bound) may rely on.
template <typename Field> constexpr int64_t portableMinimum(Field field) {
  int64_t least = kArchTable[0].*field;
  for (const ArchInfo &arch : kArchTable)
    least = std::min<int64_t>(least, arch.*field);
  return least;
}

/// The least of a field over the architectures with wgmma: what a kernel of
/// strategy wgmma, which runs on those only, may rely on.
template <typename Field> constexpr int64_t wgmmaMinimum(Field field) {
  int64_t least = 0;
  for (const ArchInfo &arch : kArchTable)
    if (arch.hasWgmma)
      least = least ? std::min<int64_t>(least, arch.*field) : arch.*field;
  return least;
}

} // namespace mlir::flash

#endif // FLASHC_TARGET_TARGETINFO_H
