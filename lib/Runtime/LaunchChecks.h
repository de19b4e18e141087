//===- LaunchChecks.h - a launch's arguments against its bundle -*- C++ -*-===//
//
// Private to the runtime (Runtime.cpp). No MLIR, no driver.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_RUNTIME_LAUNCHCHECKS_H
#define FLASHC_LIB_RUNTIME_LAUNCHCHECKS_H

#include "flashc-c/runtime.h"
#include "flashc/Runtime/Bundle.h"

#include <string>

namespace flashc {
/// K and V's heads: `kv_heads`, 0 meaning Q's.
int64_t keyHeads(const flashc_shape &shape);
/// The shape a checked launch of `shape` runs as. Grouped-query decoding
/// (the group's query rows fit one query block) without a mask, with
/// row-major operands and dynamic heads and seq_q: a K/V head's query heads
/// are contiguous rows of Q (and O, and the LSE), so they run as one head
/// of group · seq_q rows, which reads each K/V head once instead of once
/// per query head. Any other launch runs as given.
flashc_shape packedShape(const KernelBundle &b, const flashc_shape &shape);
/// The split count of a launch of `shape` (a checked one): 1 for a kernel
/// compiled without splits; else `forced` if positive, or the choice of
/// KVSplits.h for `multiprocessors` SMs of `sharedBytesPerSM` each, at most
/// the compiled kv_splits and within the grid's z limit.
int64_t launchSplits(const KernelBundle &b, const flashc_shape &shape,
                     int64_t forced, int64_t multiprocessors,
                     int64_t sharedBytesPerSM);
/// Sizes at least 1, equal to the compiled static ones, K/V heads dividing
/// Q's, and within the grid's limits. "" when they hold, else the message.
std::string checkShape(const KernelBundle &b, const flashc_shape *shape);
/// The shape a varlen launch is checked as: batch 1, seq the totals.
flashc_shape varlenShape(const flashc_varlen &varlen);
/// A varlen launch's own arguments (the kernel compiled with varlen, the
/// sequence count within grid z, the longest lengths within the totals,
/// the bounds' pointers). "" when they hold, else the message.
std::string checkVarlen(const KernelBundle &b, const flashc_varlen *varlen);
/// The shape a paged launch is checked as: K/V's seq the page size.
flashc_shape pagedShape(const flashc_paged &paged);
/// A paged launch's own arguments (the kernel compiled with paged, the
/// pages, the page size a multiple of 16, the tables' pointers). "" when
/// they hold, else the message.
std::string checkPaged(const KernelBundle &b, const flashc_paged *paged);
/// Q, K, V and O's strides: none (row-major) for a kernel compiled for
/// row-major operands; for a strided kernel a unit head_dim stride and the
/// others positive multiples of 8 elements.
std::string checkStrides(const KernelBundle &b, const flashc_strides *strides);
/// The LSE output and the captures against the bundle.
std::string checkExtras(const KernelBundle &b, uint64_t lse,
                        const flashc_capture *captures, size_t numCaptures);
} // namespace flashc

#endif // FLASHC_LIB_RUNTIME_LAUNCHCHECKS_H
