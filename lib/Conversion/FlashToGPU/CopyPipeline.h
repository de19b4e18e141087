//===- CopyPipeline.h - how Q, K and V reach shared memory ------*- C++ -*-===//
//
// The interface between the walk over tile ops and a copy engine: the Q
// tile's load, and the K/V loop's schedule (prologue, the wait at the top of
// each step, the prefetch of a later block, the drain). cp.async with
// every thread copying (CpAsync.cpp) implements it, and so does a producer
// warpgroup filling an mbarrier ring by cp.async or TMA (ProducerRing.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_LIB_CONVERSION_FLASHTOGPU_COPYPIPELINE_H
#define FLASHC_LIB_CONVERSION_FLASHTOGPU_COPYPIPELINE_H

#include "KernelContext.h"

#include <functional>
#include <memory>

namespace mlir::flash {

class TensorCoreStrategy;

/// Q, K and V in shared memory: a 2-D view of each (what the tensor cores
/// read) and a flat one (what copies write).
struct QKVBuffers {
  Value q, k, v;
  Value qFlat, kFlat, vFlat;
  /// wgmma only: room for a ring's mbarriers (kRingBarrierBytes, i64s).
  Value barriers;
};

/// One step of the K/V loop as the pipeline schedules it.
struct PipelineStep {
  /// The stage (buffer slot) that holds this step's K/V block.
  Value stage;
  /// Issues the copies of a later block; to be called after the step's
  /// first product, or null if the step has issued them already.
  std::function<void()> deferredPrefetch;
};

class CopyPipeline {
public:
  virtual ~CopyPipeline() = default;
  /// Emitted once at the top of the kernel (views of the sources).
  virtual void emitSourceViews(Value q, Value k, Value v) = 0;
  /// Emitted once the shared buffers exist, before the first barrier.
  virtual void initialize() {}
  /// K and V are a paged cache (after emitSourceViews): key r of batch b is
  /// row r mod `pageSize` of page `table[b, r / pageSize]`, the pages of K
  /// and V `kStridePage` and `vStridePage` elements apart.
  virtual void pageKeys(Value table, Value pageSize, Value kStridePage,
                        Value vStridePage) = 0;
  /// Policy prefetch = tma: the kernel's tensor maps of K and V.
  virtual void useTensorMaps(Value keys, Value values) {}
  /// Loads rows [row0, row0 + block_m) of head `bh` of Q and waits until
  /// every thread of the block sees them.
  virtual void loadQ(Value bh, Value row0) = 0;
  /// Like loadQ, for another tile kept for the whole program (the
  /// backward's dO): rows [row0, row0 + block_m) of head `bh` of `source`
  /// into the buffer whose flat view is `dstFlat`. Fails (at `user`) where
  /// the pipeline has no such load.
  virtual LogicalResult loadResident(Operation *user, Value source, Value bh,
                                     Value row0, Value dstFlat) {
    return user->emitOpError("flash-to-gpu: a tile besides Q kept for the "
                             "whole program needs every thread copying "
                             "(prefetch = after_barrier or before_barrier)");
  }
  /// Starts the K/V loop over blocks [first, end) of head `bh`: the blocks
  /// the pipeline keeps in flight. Fails (at `loop`) if Q was not loaded.
  virtual LogicalResult prologue(Operation *loop, Value bh, Value first,
                                 Value end) = 0;
  /// At the top of step `t` (block `block`), inside the loop: waits for the
  /// block and schedules the next copies.
  virtual PipelineStep beginStep(Value t, Value block) = 0;
  /// Before a product reads this step's keys (or `values`).
  virtual void awaitTile(bool values) {}
  /// At the end of a step: this thread has read the step's K/V block.
  virtual void endStep() {}
  /// After the loop: no copy may still be writing shared memory.
  virtual void drain() = 0;
};

/// The pipeline `k`'s policy asks for, copying into `buffers` (read at
/// each copy, so they may be allocated after emitSourceViews).
std::unique_ptr<CopyPipeline> createCopyPipeline(KernelContext &k,
                                                 TensorCoreStrategy &tc,
                                                 const QKVBuffers &buffers);

} // namespace mlir::flash

#endif // FLASHC_LIB_CONVERSION_FLASHTOGPU_COPYPIPELINE_H
