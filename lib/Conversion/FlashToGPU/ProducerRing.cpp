//===- ProducerRing.cpp - a producer warpgroup filling an mbarrier ring ---===//
//
// Policy prefetch = producer (wgmma only): a warpgroup of its own, after the
// warps that compute, copies every K/V block of the loop into a ring of
// `stages` buffers with cp.async, while the others compute. Each buffer has
// three mbarriers: keys landed, values landed (the producer's cp.async
// copies arrive on them as they complete) and emptied (every computing
// thread arrives once it has read the block). No barrier of the whole
// program runs in the loop, so the two computing warpgroups drift apart and
// one's softmax overlaps the other's products, and the values of a block
// may land while its keys are already in use. The producer gives most of
// its registers to the computing warps (setmaxnreg) and exits when its
// last copies have landed.
//
// With policy prefetch = tma, one thread of the producer issues the copies
// instead, as TMA loads through the kernel's tensor maps of K and V (one a
// 64-column panel: the box the 128-byte swizzle allows, which lands in
// exactly the swizzled layout wgmma reads), and arms each landed barrier
// with the block's bytes (mbarrier.arrive.expect_tx): the barrier completes
// when the TMA unit has written them all. Rows past the tensor's end arrive
// as zeros, as the bounded cp.async copies write them.
//
//===----------------------------------------------------------------------===//

#include "CpAsync.h"

#include "TensorCoreStrategy.h"

#include "flashc/Conversion/LaunchPlan.h"
#include "flashc/Target/TargetInfo.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Registers the producer keeps: its loop forms addresses and issues
/// copies, nothing more.
constexpr int32_t kProducerRegisters = 56;
/// The most the computing warps ask for: FlashAttention-3's consumers'
/// count, more than any of our kernels needs.
constexpr int32_t kMaxComputeRegisters = 240;
/// How long (ns) a waiting thread may be suspended between its checks of
/// an mbarrier: a hint, as the wait loops until the phase completes.
constexpr int32_t kWaitTicks = 10000000;

class ProducerRing : public CpAsync {
public:
  using CpAsync::CpAsync;

  void initialize() override;
  void loadQ(Value bh, Value row0) override;
  LogicalResult prologue(Operation *loop, Value bh, Value first,
                         Value end) override;
  PipelineStep beginStep(Value t, Value block) override;
  void awaitTile(bool values) override;
  void endStep() override;
  void drain() override {}
  void useTensorMaps(Value keys, Value values) override {
    keyMap = keys;
    valueMap = values;
  }

private:
  enum class Barrier { keysLanded = 0, valuesLanded = 1, emptied = 2 };
  /// The mbarrier `which` of ring buffer `stage`, as a shared pointer.
  Value barrier(Barrier which, Value stage);
  /// A shared-window byte `address` (i64) as a shared pointer.
  Value sharedPointer(Value address);
  /// Waits until the phase of `which` with parity `parity` (i32) completes.
  void waitFor(Barrier which, Value stage, Value parity);
  /// The parity of the ring's round in which step `t` falls, flipped for
  /// the producer (whose first round finds every buffer free).
  Value roundParity(Value t, bool flip);
  Value isComputeThread();
  /// `value` through an empty asm with side effects: what is computed from
  /// it cannot be shared with what is computed from `value` itself or
  /// another opaque copy (LLVM would keep the keys' per-round rows live
  /// until the values' copies reuse them, and spill the producer's few
  /// registers).
  Value opaque(Value value);
  /// The producer's loop over steps [0, end - first): wait for a free
  /// buffer, copy the keys, then the values, each arriving on its
  /// barrier when landed.
  void emitProducer(Value first);
  /// The same loop, as TMA loads issued by the producer's first thread.
  void emitTmaProducer(Value first);
  /// The computing warps' setmaxnreg count, from the registers every
  /// thread starts with; 0 where moving registers would not pay (the
  /// computing warps would not gain, or the producer not give).
  int32_t computeRegisters() const;

  /// This step's buffer and round parity (beginStep).
  Value stage, parity;
  /// Whether the producer already serves a K/V loop (it exits after it).
  bool serving = false;
  /// prefetch = tma: the kernel's tensor maps of K and V (pointers to its
  /// by-value parameters).
  Value keyMap, valueMap;
};

} // namespace

Value ProducerRing::barrier(Barrier which, Value stageIndex) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value index =
      k.add(k.mul(k.idx(int64_t(which)), k.idx(k.stages)), stageIndex);
  return sharedPointer(
      sharedWindowAddress(b, loc, buffers.barriers, k.mul(index, k.idx(8))));
}

Value ProducerRing::sharedPointer(Value address) {
  auto sharedPtr = LLVM::LLVMPointerType::get(
      k.b.getContext(), static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared));
  return LLVM::IntToPtrOp::create(k.b, k.loc, sharedPtr, address);
}

void ProducerRing::waitFor(Barrier which, Value stageIndex, Value phase) {
  NVVM::MBarrierTryWaitParityOp::create(k.b, k.loc, barrier(which, stageIndex),
                                        phase, k.i32(kWaitTicks));
}

Value ProducerRing::roundParity(Value t, bool flip) {
  OpBuilder &b = k.b;
  Value round = arith::DivUIOp::create(b, k.loc, t, k.idx(k.stages));
  Value bit = arith::AndIOp::create(b, k.loc, round, k.idx(1));
  if (flip)
    bit = arith::XOrIOp::create(b, k.loc, bit, k.idx(1));
  return arith::IndexCastUIOp::create(b, k.loc, b.getI32Type(), bit);
}

Value ProducerRing::isComputeThread() {
  return arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ult, k.tid,
                               k.idx(kWarpThreads * k.warps));
}

Value ProducerRing::opaque(Value value) {
  OpBuilder &b = k.b;
  Type i64 = b.getI64Type();
  Value wide = arith::IndexCastOp::create(b, k.loc, i64, value);
  auto asmOp = LLVM::InlineAsmOp::create(
      b, k.loc, i64, ValueRange{wide}, /*asm_string=*/"",
      /*constraints=*/"=l,0", /*has_side_effects=*/true,
      /*is_align_stack=*/false, LLVM::TailCallKind::None,
      /*asm_dialect=*/LLVM::AsmDialectAttr(),
      /*operand_attrs=*/ArrayAttr());
  return arith::IndexCastOp::create(b, k.loc, b.getIndexType(),
                                    asmOp.getResult(0));
}

void ProducerRing::initialize() {
  // Thread 0 sets up every barrier; the barrier after Q's copies publishes
  // them before any use.
  OpBuilder &b = k.b;
  auto ifOp = scf::IfOp::create(b, k.loc,
                                arith::CmpIOp::create(b, k.loc,
                                                      arith::CmpIPredicate::eq,
                                                      k.tid, k.idx(0)),
                                /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  // The landed barriers count the producer's arrivals: each of its threads'
  // cp.async copies, or the TMA thread's one arrive.expect_tx.
  int64_t landed = k.tma ? 1 : kProducerThreads;
  for (int64_t s = 0; s < k.stages; ++s)
    for (auto [which, count] :
         {std::pair<Barrier, int64_t>{Barrier::keysLanded, landed},
          {Barrier::valuesLanded, landed},
          {Barrier::emptied, kWarpThreads * k.warps}})
      NVVM::MBarrierInitOp::create(b, k.loc, barrier(which, k.idx(s)),
                                   k.i32(count), /*predicate=*/Value());
  // The inits are generic-proxy writes that TMA's completions (async
  // proxy) must see: fenced here rather than left to Q's copies' fence.
  if (k.tma)
    tc.afterCopiesLanded();
}

void ProducerRing::loadQ(Value bhValue, Value row0) {
  // The computing threads copy Q, as without a producer; everyone (the
  // producer too, before it branches off) passes the barrier.
  OpBuilder &b = k.b;
  auto ifOp = scf::IfOp::create(b, k.loc, isComputeThread(),
                                /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    issueRowCopies(q, qSource, bhValue, row0, k.blockM, buffers.qFlat, k.idx(0),
                   /*bounded=*/true, computeThreads());
    commitGroup();
  }
  qLoaded = true;
  wait(0);
  gpu::BarrierOp::create(b, k.loc);
}

int32_t ProducerRing::computeRegisters() const {
  // ptxas caps the kernel's registers by its threads and the blocks an SM
  // should hold; the warpgroups then trade within that allocation.
  int64_t computing = kWarpThreads * k.warps;
  int64_t threads = programThreads(k.warps, /*producer=*/true);
  int64_t blocks = std::max<int64_t>(k.policy.getMinBlocksPerSm(), 1);
  int64_t cap =
      std::min<int64_t>(
          wgmmaMinimum(&ArchInfo::registersPerSM) / (threads * blocks), 255) /
      8 * 8;
  int64_t pool = cap * threads - kProducerThreads * kProducerRegisters;
  int64_t compute =
      std::min<int64_t>(pool / computing / 8 * 8, kMaxComputeRegisters);
  // setmaxnreg may only lower the producer's count and raise the others'.
  if (cap <= kProducerRegisters || compute <= cap)
    return 0;
  return static_cast<int32_t>(compute);
}

void ProducerRing::emitProducer(Value first) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  if (computeRegisters())
    NVVM::SetMaxRegisterOp::create(b, loc, kProducerRegisters,
                                   NVVM::SetMaxRegisterAction::decrease);
  if (k.tma) {
    emitTmaProducer(first);
    NVVM::Exit::create(b, loc);
    return;
  }
  Copiers producer{
      arith::SubIOp::create(b, loc, k.tid, k.idx(kWarpThreads * k.warps)),
      kProducerThreads};
  Value steps = arith::SubIOp::create(b, loc, end, first);
  auto loop = scf::ForOp::create(b, loc, k.idx(0), steps, k.idx(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value slot = arith::RemUIOp::create(b, loc, t, k.idx(k.stages));
    waitFor(Barrier::emptied, slot, roundParity(t, /*flip=*/true));
    Value block = k.add(first, t);
    // Keys and values each see their own opaque block index, so that no
    // row or address is shared between them (held from the keys' copies to
    // the values').
    issueBlock(opaque(block), slot, producer, /*keys=*/true, /*values=*/false);
    NVVM::CpAsyncMBarrierArriveOp::create(
        b, loc, barrier(Barrier::keysLanded, slot), /*noinc=*/true);
    issueBlock(opaque(block), slot, producer, /*keys=*/false, /*values=*/true);
    NVVM::CpAsyncMBarrierArriveOp::create(
        b, loc, barrier(Barrier::valuesLanded, slot), /*noinc=*/true);
  }
  // Its copies land before it leaves (committed as one group: wait_group
  // waits for committed groups only); a thread's exit counts at every later
  // block barrier.
  commitGroup();
  NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
  NVVM::Exit::create(b, loc);
}

void ProducerRing::emitTmaProducer(Value first) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  assert(keyMap && valueMap && "prefetch = tma: the kernel takes tensor maps");
  Value producerTid =
      arith::SubIOp::create(b, loc, k.tid, k.idx(kWarpThreads * k.warps));
  auto issuer =
      scf::IfOp::create(b, loc,
                        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              producerTid, k.idx(0)),
                        /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&issuer.getThenRegion().front());
  // The maps' coordinates, innermost first: column, row, head, batch of K
  // and V (whose heads are the K/V heads that `bh` counts).
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value index) -> Value {
    return arith::IndexCastUIOp::create(b, loc, i32, index);
  };
  Value heads = memref::DimOp::create(b, loc, kSrc, 1);
  Value batch = toI32(arith::DivUIOp::create(b, loc, bh, heads));
  Value head = toI32(arith::RemUIOp::create(b, loc, bh, heads));
  int64_t elementBytes = k.element.getIntOrFloatBitWidth() / 8;
  int64_t panelElements = k.blockN * kTensorMapBoxColumns;
  int64_t blockBytes = k.blockN * k.headDim * elementBytes;
  auto clusterPtr = LLVM::LLVMPointerType::get(
      b.getContext(),
      static_cast<unsigned>(NVVM::NVVMMemorySpace::SharedCluster));
  Value steps = arith::SubIOp::create(b, loc, end, first);
  auto loop = scf::ForOp::create(b, loc, k.idx(0), steps, k.idx(1));
  b.setInsertionPointToStart(loop.getBody());
  Value t = loop.getInductionVar();
  Value slot = arith::RemUIOp::create(b, loc, t, k.idx(k.stages));
  waitFor(Barrier::emptied, slot, roundParity(t, /*flip=*/true));
  Value row = toI32(k.mul(k.add(first, t), k.idx(k.blockN)));
  Value slotBase = k.mul(slot, k.idx(tc.qkvBufferElements(k.blockN)));
  for (auto [map, buffer, landed] :
       {std::tuple<Value, Value, Barrier>{keyMap, buffers.kFlat,
                                          Barrier::keysLanded},
        {valueMap, buffers.vFlat, Barrier::valuesLanded}}) {
    Value bar = barrier(landed, slot);
    NVVM::MBarrierArriveExpectTxOp::create(
        b, loc, Type(), bar, k.i32(blockBytes), NVVM::MemScopeKind::CTA,
        /*relaxed=*/false, Value());
    for (int64_t panel = 0; panel * kTensorMapBoxColumns < k.headDim; ++panel) {
      // The TMA destination is a shared::cluster address: this CTA's
      // shared window maps into it.
      Value bytes = k.mul(k.add(slotBase, k.idx(panel * panelElements)),
                          k.idx(elementBytes));
      Value dst = LLVM::AddrSpaceCastOp::create(
          b, loc, clusterPtr,
          sharedPointer(sharedWindowAddress(b, loc, buffer, bytes)));
      NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
          b, loc, dst, map,
          ValueRange{k.i32(panel * kTensorMapBoxColumns), row, head, batch},
          bar, ValueRange{}, Value(), Value(), NVVM::TMALoadMode::TILE,
          /*isCTAOnly=*/false, NVVM::CTAGroupKindAttr(), Value());
    }
  }
}

LogicalResult ProducerRing::prologue(Operation *loop, Value bhValue,
                                     Value first, Value endValue) {
  bh = bhValue;
  end = endValue;
  if (!qLoaded)
    return loop->emitOpError("flash-to-gpu: the Q tile must be loaded before "
                             "the K/V loop");
  if (serving)
    return loop->emitOpError("flash-to-gpu: a producer warpgroup serves one "
                             "K/V loop (policy prefetch = producer or tma)");
  serving = true;
  OpBuilder &b = k.b;
  auto ifOp = scf::IfOp::create(b, k.loc, isComputeThread(),
                                /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    emitProducer(first);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    if (int32_t registers = computeRegisters())
      NVVM::SetMaxRegisterOp::create(b, k.loc, registers,
                                     NVVM::SetMaxRegisterAction::increase);
  }
  return success();
}

PipelineStep ProducerRing::beginStep(Value t, Value) {
  stage = arith::RemUIOp::create(k.b, k.loc, t, k.idx(k.stages));
  parity = roundParity(t, /*flip=*/false);
  return {stage, nullptr};
}

void ProducerRing::awaitTile(bool values) {
  waitFor(values ? Barrier::valuesLanded : Barrier::keysLanded, stage, parity);
  // cp.async copies wrote through the generic proxy; the tensor cores read
  // through the async one, as TMA writes.
  if (!k.tma)
    tc.afterCopiesLanded();
}

void ProducerRing::endStep() {
  NVVM::MBarrierArriveOp::create(k.b, k.loc, TypeRange{},
                                 barrier(Barrier::emptied, stage),
                                 /*count=*/Value());
}

std::unique_ptr<CopyPipeline>
flash::createProducerRing(KernelContext &k, TensorCoreStrategy &tc,
                          const QKVBuffers &buffers) {
  return std::make_unique<ProducerRing>(k, tc, buffers);
}
