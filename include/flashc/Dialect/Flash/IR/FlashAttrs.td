//===- FlashAttrs.td - flash dialect attributes ------------*- tablegen -*-===//

#ifndef FLASHC_DIALECT_FLASH_IR_FLASHATTRS_TD
#define FLASHC_DIALECT_FLASH_IR_FLASHATTRS_TD

include "flashc/Dialect/Flash/IR/FlashDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Flash_StrategyWmma : I32EnumAttrCase<"wmma", 0>;
def Flash_StrategyMmaSync : I32EnumAttrCase<"mma_sync", 1>;
def Flash_StrategyWgmma : I32EnumAttrCase<"wgmma", 2>;
def Flash_Strategy : I32EnumAttr<"Strategy",
    "tensor-core strategy of a tile configuration",
    [Flash_StrategyWmma, Flash_StrategyMmaSync, Flash_StrategyWgmma]> {
  let cppNamespace = "::mlir::flash";
  let genSpecializedAttr = 0;
}
def Flash_StrategyAttr : EnumAttr<Flash_Dialect, Flash_Strategy, "strategy">;

def Flash_QPlacementRegisters : I32EnumAttrCase<"registers", 0>;
def Flash_QPlacementShared : I32EnumAttrCase<"shared", 1>;
def Flash_QPlacement : I32EnumAttr<"QPlacement",
    "where a program keeps its Q tile through the K/V loop",
    [Flash_QPlacementRegisters, Flash_QPlacementShared]> {
  let cppNamespace = "::mlir::flash";
  let genSpecializedAttr = 0;
}

def Flash_PrefetchAfterBarrier : I32EnumAttrCase<"after_barrier", 0>;
def Flash_PrefetchAfterFirstDot : I32EnumAttrCase<"after_first_dot", 1>;
def Flash_PrefetchProducer : I32EnumAttrCase<"producer", 2>;
def Flash_PrefetchTma : I32EnumAttrCase<"tma", 3>;
def Flash_Prefetch : I32EnumAttr<"Prefetch",
    "who issues the copies of later K/V blocks, and when",
    [Flash_PrefetchAfterBarrier, Flash_PrefetchAfterFirstDot,
     Flash_PrefetchProducer, Flash_PrefetchTma]> {
  let cppNamespace = "::mlir::flash";
  let genSpecializedAttr = 0;
}

def Flash_TileConfigAttr : AttrDef<Flash_Dialect, "TileConfig"> {
  let mnemonic = "config";
  let summary = "How attention is tiled for one GPU program";
  let description = [{
    `block_m` query rows per program (one thread block), `block_n` key/value
    rows per step of the K/V loop, `stages` K/V buffers in shared memory
    (2 = double-buffered: the next block is in flight while this one is
    computed), `warps` per program, the tensor-core `strategy`, and
    `kv_splits` (optional, default 1): the most programs that may share one
    query block's K/V loop, each taking a contiguous part of it, for grids
    too small to fill the GPU; each launch chooses how many, from 1 to
    `kv_splits` (grid z = batch · splits; the runtime's rule is in
    flashc/Runtime/KVSplits.h). `strategy` may be left out: it defaults to
    `mma_sync` (and is always printed). With more than one split, each warp
    writes its partial O, row max and row sum to a global workspace and the
    warp that finishes last for those rows combines them and stores O and
    the log-sum-exp (docs/TileLevel.md).

    ```mlir
    #flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = wmma>
    ```

    The limits (checked by `flash.attention` and `flash.tiled`, which know
    the head dim and element type): block sizes are multiples of 16 (the
    tensor-core tile) and at most 128; `block_m / warps` is a multiple of 16
    (each warp owns whole 16-row strips); 1 <= stages <= 4; 1 <= kv_splits
    <= 16, and more than 1 only with strategy `mma_sync` or `wgmma` (WMMA
    fragments are opaque, so no partial O can be written); strategy `wgmma` (Hopper's
    warpgroup MMA, `--arch sm_90a` only) takes whole warpgroups of 4 warps
    with one strip a warp (`block_m = 16 · warps`, warps 4 or 8) and a
    head_dim that is a multiple of 64 (Q, K and V rows in 128-byte swizzled
    column blocks); and the shared memory the configuration needs (see
    docs/TileLevel.md) is at most 99 KiB less 128 bytes (101248) kept for
    the kernel's static shared memory, or with `wgmma`, whose kernels run
    on sm_90a only, 227 KiB less 128 bytes (232320).
  }];
  let parameters = (ins "int64_t":$block_m, "int64_t":$block_n,
                        "int64_t":$stages, "int64_t":$warps,
                        "::mlir::flash::Strategy":$strategy,
                        DefaultValuedParameter<"int64_t", "1">:$kv_splits);
  let builders = [
    AttrBuilder<(ins "int64_t":$block_m, "int64_t":$block_n,
                     "int64_t":$stages, "int64_t":$warps,
                     "::mlir::flash::Strategy":$strategy,
                     CArg<"int64_t", "1">:$kv_splits), [{
      return $_get($_ctxt, block_m, block_n, stages, warps, strategy,
                   kv_splits);
    }]>
  ];
  let skipDefaultBuilders = 1;
  // Hand-written: `strategy` and `kv_splits` may be left out (mma_sync, 1),
  // but `strategy` is always printed, so the IR says which lowering runs.
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes of shared memory the GPU lowering allocates for this
    /// configuration with the given head dim and element size.
    int64_t getSharedMemoryBytes(int64_t headDim, int64_t elementBytes) const;
    /// Bytes of one block_m-row tile kept in shared memory for the whole
    /// program, as Q is (getSharedMemoryBytes counts Q's; a tile program
    /// that keeps more, such as the backward's dO, adds this per tile).
    int64_t getResidentTileBytes(int64_t headDim, int64_t elementBytes) const;
    /// Bytes of a block_m x block_n tile staged through shared memory (the
    /// lhs of flash.atomic_add_dot), rows padded by 8 elements.
    int64_t getStagingTileBytes(int64_t elementBytes) const;
    /// Checks the limits that need the head dim and element type, with
    /// `extraBytes` of shared memory that a tile program keeps besides the
    /// configuration's; reports through `emitError` and fails on the first
    /// one broken.
    ::mlir::LogicalResult
    verifyFor(::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError,
              int64_t headDim, int64_t elementBytes,
              int64_t extraBytes = 0) const;
  }];
}

def Flash_PolicyAttr : AttrDef<Flash_Dialect, "Policy"> {
  let mnemonic = "policy";
  let summary = "What the GPU lowering does for speed with one configuration";
  let description = [{
    The choices that change speed but not results, made by
    `flash-select-config` (see `getDefaultPolicy`) and carried to the tile
    level, where `flash-to-gpu` follows them:

    - `q`: `registers` keeps Q's tensor-core fragments in registers for the
      whole K/V loop; `shared` reads them from shared memory on every step
      (fewer registers: two 16-row strips per warp at head_dim 128 spill
      otherwise). `shared` needs strategy `mma_sync` or `wgmma`, and
      `wgmma` needs `shared` (its products read Q from shared memory).
    - `stale_max_log2` (0 = off, at most 15): a row's softmax max is kept
      until a block's scores exceed it by more than 2^stale_max_log2, so
      that the rescale factor is exactly 1 and the O rescale is skipped when
      no row of a warp moved its max. Probabilities then reach
      2^stale_max_log2 at most, inside f16/bf16 range. Needs `mma_sync` or
      `wgmma`.
    - `prefetch`: `after_barrier` issues a step's copies of a later K/V
      block as soon as the step's barrier has passed; `after_first_dot`
      waits for the step's first product (with 3+ stages, so that the
      copies do not stall its shared-memory reads). `producer` gives the
      copies to a warpgroup of their own (128 more threads a program) that
      fills a ring of `stages` K/V buffers guarded by mbarriers while the
      other warps compute, with no barrier of the whole program in the
      loop; it needs strategy `wgmma` and 2+ stages. `tma` is the same
      ring filled by the Tensor Memory Accelerator: one thread of the
      producer warpgroup issues a tensor-map copy per 64 columns of a K or
      V block, and the copies' bytes complete the ring's mbarriers. The
      kernel then takes two more parameters, tensor maps of K and V that
      the runtime encodes at launch. It needs strategy `wgmma`, 2+ stages,
      and K/V that are neither packed (varlen) nor paged.
    - `min_blocks_per_sm`: the occupancy ptxas may plan registers for
      (`nvvm.minctasm`), 1 to 32.

    ```mlir
    #flash.policy<q = registers, stale_max_log2 = 8, prefetch = after_barrier, min_blocks_per_sm = 2>
    ```
  }];
  let parameters = (ins "::mlir::flash::QPlacement":$q,
                        "int64_t":$stale_max_log2,
                        "::mlir::flash::Prefetch":$prefetch,
                        "int64_t":$min_blocks_per_sm);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Checks the rules that need the tile configuration.
    ::mlir::LogicalResult
    verifyFor(::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError,
              TileConfigAttr config) const;
    bool qInRegisters() const { return getQ() == QPlacement::registers; }
    bool prefetchAfterFirstDot() const {
      return getPrefetch() == Prefetch::after_first_dot;
    }
  }];
}

#endif // FLASHC_DIALECT_FLASH_IR_FLASHATTRS_TD
