//===- CpAsync.h - Q, K and V by cp.async -----------------------*- C++ -*-===//
//
// The cp.async copy pipeline (CpAsync.cpp), declared here so that the
// producer ring (ProducerRing.cpp) can reuse its copies and change only
// who issues them and how their landing is signalled.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_CPASYNC_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_CPASYNC_H

#include "CopyPipeline.h"

namespace mlir::flash {

/// A source (Q, K or V) read through a flat 1-D view. A row-major source is
/// its collapsed view, row `r` of head `bh` at (bh·seq + r)·head_dim. A
/// strided one (its strides given at launch) is its base buffer, the row
/// at b·stride_b + h·stride_h + r·stride_s; the strides are null for a
/// row-major source.
struct FlatSource {
  Value flat;
  Value strideBatch, strideHead, strideRow;
  /// A paged K/V cache (null otherwise): key r of batch b is row
  /// r mod pageSize of page table[b, r / pageSize], pages stridePage apart.
  Value table, pageSize, stridePage;
};

/// The threads that share a set of copies: `threads` of them, numbered by
/// `tid` from 0.
struct Copiers {
  Value tid;
  int64_t threads;
};

/// 16-byte cp.async copies on flat views, one commit group per K/V block,
/// `stages` K/V buffers, every thread copying: blocks i+1 .. i+stages-1 are
/// in flight while block i is computed, with one wait_group and one block
/// barrier per step.
class CpAsync : public CopyPipeline {
public:
  CpAsync(KernelContext &k, TensorCoreStrategy &tc, const QKVBuffers &buffers);

  void emitSourceViews(Value q, Value kArg, Value v) override;
  void pageKeys(Value table, Value pageSize, Value kStridePage,
                Value vStridePage) override;
  void loadQ(Value bh, Value row0) override;
  LogicalResult loadResident(Operation *user, Value source, Value bh,
                             Value row0, Value dstFlat) override;
  LogicalResult prologue(Operation *loop, Value bh, Value first,
                         Value end) override;
  PipelineStep beginStep(Value t, Value block) override;
  void drain() override;

protected:
  /// Issues copies of rows [row0, row0 + rows) of head `bh` of `source`
  /// (read through its flat view `flat`) to the flat buffer `dstFlat`
  /// from element `dstBase` (a whole number of 8-row groups), shared by
  /// `by`. With `bounded`, rows past seq are zero-filled; without, the
  /// caller knows that they all exist.
  void issueRowCopies(Value source, const FlatSource &flat, Value bh,
                      Value row0, int64_t rows, Value dstFlat, Value dstBase,
                      bool bounded, const Copiers &by);
  /// The flat view of `source` (and its strides where not row-major).
  FlatSource flatten(Value source);
  /// Copies block_m rows of head `bh` of `source` into the buffer whose
  /// flat view is `dstFlat`, waits for them and publishes them (Q's load,
  /// and another tile kept for the program).
  void loadKept(Value source, const FlatSource &flat, Value bh, Value row0,
                Value dstFlat);
  /// Commits the copies issued since the last commit as one group (an
  /// empty group if none). Groups are counted, not named: the copies'
  /// tokens are not needed.
  void commitGroup();
  /// Copies the keys and/or values of K/V block `blockIndex` of head `bh`
  /// into buffer slot `stage`, shared by `by`.
  void issueBlock(Value blockIndex, Value stage, const Copiers &by,
                  bool keys = true, bool values = true);
  /// issueBlock if `blockIndex` < end, and a commit either way, so that
  /// every step adds one group and wait_group counts stay uniform.
  void issueIfInRange(Value blockIndex, Value stage);
  void wait(int32_t pendingGroups);
  /// The threads that compute (and copy Q): all of them without a producer.
  Copiers computeThreads() const;

  KernelContext &k;
  TensorCoreStrategy &tc;
  const QKVBuffers &buffers; // filled in before the first copy
  int64_t ldQKV;
  Value q, kSrc, v;
  FlatSource qSource, kSource, vSource;
  /// Whether loadQ has run (the K/V prologue needs the Q group first).
  bool qLoaded = false;
  Value bh, end; // of the K/V loop (prologue)
};

/// The producer ring (ProducerRing.cpp).
std::unique_ptr<CopyPipeline> createProducerRing(KernelContext &k,
                                                 TensorCoreStrategy &tc,
                                                 const QKVBuffers &buffers);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_CPASYNC_H
