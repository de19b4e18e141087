//===- Bundle.h - kernel bundle: PTX plus launch metadata -------*- C++ -*-===//
//
// The format between the compiler and the runtime. No MLIR here: the runtime
// reads bundles on machines that have no MLIR. docs/Bundle.md describes it.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHC_RUNTIME_BUNDLE_H
#define FLASHC_RUNTIME_BUNDLE_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flashc {

/// An operand of the modifiers (a capture): a row-major memref of `rank`
/// sizes (-1 where dynamic) or a scalar, of element or scalar type `type`
/// (f16, bf16, f32, f64, i1, i8, i16, i32, i64, index).
struct CaptureInfo {
  bool memref = false;
  std::string type;
  std::vector<int64_t> sizes; // memref only
};

/// Everything needed to launch a compiled attention kernel.
///
/// Launch: grid = (ceil(seq_q / block_m), heads, batch * splits) with splits
/// from 1 to kv_splits (the runtime's choice, KVSplits.h), block =
/// (threads, 1, 1), dynamic shared memory = shared_bytes. Parameters, in
/// order, for each of Q, K, V, O (memrefs [batch, heads, seq, head_dim]; K
/// and V have kv_heads heads):
/// allocated pointer, aligned pointer, offset (i64), 4 sizes (i64), 4
/// strides (i64), i.e. 11 parameters each; then the LSE output ([batch,
/// heads, seq_q] f32, 9 parameters) if `lse`, then with `varlen` the two
/// sequence-bound memrefs (i32, 5 parameters each), with `paged` the block
/// table (i32 [batch, max_pages], 7 parameters) and the key lengths (i32
/// [batch], 5 parameters), then each capture (a memref
/// descriptor of its rank, or the scalar), then the split workspace, then
/// with `tensorMaps` the tensor maps of K and V (128 bytes each, by value).
struct KernelBundle {
  static constexpr int kVersion = 2;
  std::string kernelName;
  std::string arch;        // "sm_89"
  std::string elementType; // "f16" or "bf16"
  int64_t headDim = 0;
  bool causal = false;
  float scale = 0.0f;
  int64_t blockM = 0, blockN = 0, stages = 0, warps = 0;
  std::string strategy; // "wmma"
  /// Causal with the bottom-right alignment (j <= i + seq_k - seq_q).
  bool bottomRight = false;
  /// Q, K, V and O are strided memrefs: the kernel reads their strides
  /// from the descriptors (flashc_kernel_launch_strided); else row-major.
  bool strided = false;
  /// The kernel writes each row's log-sum-exp to an f32 [batch, heads,
  /// seq_q] parameter after O.
  bool lse = false;
  /// Varlen: sequences packed along seq (Q, K, V, O of batch 1, the LSE
  /// [1, heads, total_q]), bounded by two i32 [sequences + 1] memrefs
  /// after the LSE; grid z is the number of sequences (times splits) and
  /// grid x covers the longest query sequence
  /// (flashc_kernel_launch_varlen).
  bool varlen = false;
  /// Paged K/V: K and V are caches [pages, kv_heads, page_size, head_dim]
  /// (`seqK` is the page size), read through an i32 block table [batch,
  /// max_pages] and i32 key lengths [batch], parameters after the varlen
  /// bounds' place (flashc_kernel_launch_paged).
  bool paged = false;
  /// Static sizes of the tables as compiled, -1 where dynamic: varlen's
  /// sequences (cu_seqlens' entries - 1), a paged cache's pages (K's dim 0)
  /// and block-table columns. A launch must give the same.
  int64_t sequences = -1, pages = -1, maxPages = -1;
  /// The kernel copies K and V by TMA (policy prefetch = tma): its last two
  /// parameters are their tensor maps (CUtensorMap, 128 bytes by value),
  /// which the launch encodes with the driver's cuTensorMapEncodeTiled:
  /// 4-D (head_dim, seq_k, kv_heads, batch: the operand's sizes and
  /// strides, innermost first), a box of 64 columns by block_n rows, the
  /// 128-byte swizzle, zeros past the edge. Strategy wgmma only.
  bool tensorMaps = false;
  /// The scores are modified (score_mod, mask_mod): the float64 reference
  /// needs the source's regions, which a bundle does not carry.
  bool modified = false;
  std::vector<CaptureInfo> captures;
  /// A data-dependent mask's block-map kernel (in the same PTX), launched
  /// first: grid (ceil(seq_k / block_n), grid x, map rows), 128 threads,
  /// the parameters up to the captures and then the i32 map of that many
  /// entries, which the attention kernel takes after the captures. Empty:
  /// none. Map rows: `blockMapRows` 0 one, 1 batch, 2 batch·heads.
  std::string blockMapKernel;
  int blockMapRows = 2;
  static constexpr int64_t kBlockMapThreads = 128;
  /// Entries of the block map for a launch.
  int64_t blockMapRowCount(int64_t batch, int64_t heads) const {
    return blockMapRows == 2 ? batch * heads : blockMapRows == 1 ? batch : 1;
  }
  int64_t blockMapEntries(int64_t gridX, int64_t mapRows, int64_t seqK) const {
    return gridX * mapRows * ((seqK + blockN - 1) / blockN);
  }
  /// The most programs that may share a query block's K/V loop (grid z =
  /// batch · splits, splits chosen per launch). Above 1 the kernel takes two
  /// more parameters, the split workspace (see below).
  int64_t kvSplits = 1;
  int64_t threads = 0;
  int64_t sharedBytes = 0;
  /// Static shape of Q and K as compiled; -1 where dynamic.
  int64_t batch = -1, heads = -1, seqQ = -1, seqK = -1;
  /// K and V's heads as compiled (-1: dynamic, any divisor of heads).
  int64_t kvHeads = -1;
  std::string ptx;
  /// Optional ahead-of-time binary (ptxas) for `cubinArch`; the runtime
  /// loads it on a device of that architecture (cubinRunsOn), else the PTX.
  std::string cubin;
  std::string cubinArch;

  /// Grid x for a query length.
  int64_t gridX(int64_t seqQ) const { return (seqQ + blockM - 1) / blockM; }
  /// The parameter convention: q, k, v, o, the LSE and the captures if
  /// any, then with kv_splits > 1 the f32 partials and i32 arrival counters
  /// (rank-1 memrefs: allocated, aligned, offset, size, stride), then the
  /// tensor maps if any.
  std::string params() const;
  /// Split workspace of a launch with `splits` splits and `tiles` = grid x
  /// · batch · heads programs per split: block_m · (head_dim + 8) floats
  /// per (split, tile), and one counter per (tile, warp) that must be zero
  /// before the first launch (each launch leaves them zero again).
  int64_t partialFloats(int64_t tiles, int64_t splits) const {
    return splits * tiles * blockM * (headDim + 8);
  }
  int64_t counterCount(int64_t tiles) const { return tiles * warps; }
};

/// Whether a cubin for `cubinArch` ("sm_90", "sm_90a") runs on a device of
/// compute capability `deviceArch` ("sm_90"): the same architecture, or its
/// architecture-specific variant (sm_90a runs on 9.0 only).
inline bool cubinRunsOn(const std::string &cubinArch,
                        const std::string &deviceArch) {
  return cubinArch == deviceArch || cubinArch == deviceArch + "a";
}

/// Text form: a header line, `key value` lines, `ptx <bytes>`, the PTX, and
/// optionally `\ncubin <arch> <bytes>\n` and the binary.
std::string serializeBundle(const KernelBundle &bundle);
/// Parses `text`; on failure returns false and says why in `error`.
bool parseBundle(std::string_view text, KernelBundle &bundle,
                 std::string &error);

} // namespace flashc

#endif // FLASHC_RUNTIME_BUNDLE_H
