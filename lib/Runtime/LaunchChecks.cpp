//===- LaunchChecks.cpp - a launch's arguments against its bundle ---------===//
//
// The checks of flashc_kernel_launch* that need no driver: each returns
// the message of the first rule broken, "" when every one holds. The
// runtime turns a message into FLASHC_ERROR_ARGUMENT.
//
//===----------------------------------------------------------------------===//

#include "LaunchChecks.h"

#include <climits>

#include "flashc/Runtime/KVSplits.h"

#include <algorithm>
#include <string>

using namespace flashc;

/// The grid's y and z limit.
constexpr int64_t kMaxGridYZ = 65535;

int64_t flashc::keyHeads(const flashc_shape &shape) {
  return shape.kv_heads == 0 ? shape.heads : shape.kv_heads;
}

flashc_shape flashc::packedShape(const KernelBundle &b,
                                 const flashc_shape &shape) {
  int64_t kvHeads = keyHeads(shape);
  int64_t group = shape.heads / kvHeads;
  if (group == 1 || b.causal || b.modified || b.strided || b.varlen ||
      b.paged || b.heads >= 0 || b.seqQ >= 0 || group * shape.seq_q > b.blockM)
    return shape;
  flashc_shape packed = shape;
  packed.heads = kvHeads;
  packed.seq_q = group * shape.seq_q;
  packed.kv_heads = kvHeads;
  return packed;
}

int64_t flashc::launchSplits(const KernelBundle &b, const flashc_shape &shape,
                             int64_t forced, int64_t multiprocessors,
                             int64_t sharedBytesPerSM) {
  if (b.kvSplits <= 1)
    return 1;
  int64_t most = std::min(b.kvSplits, kMaxGridYZ / shape.batch);
  if (forced > 0)
    return std::min(forced, most);
  int64_t gridX = b.gridX(shape.seq_q);
  int64_t programs = gridX * shape.heads * shape.batch;
  int64_t keyBlocks = (shape.seq_k + b.blockN - 1) / b.blockN;
  return chooseKVSplits(multiprocessors,
                        residentPrograms(sharedBytesPerSM, b.sharedBytes),
                        programs, keyBlocks, b.causal, most, gridX == 1);
}

std::string flashc::checkShape(const KernelBundle &b,
                               const flashc_shape *shape) {
  if (!shape)
    return "shape: null";
  struct Dim {
    const char *name;
    int64_t value, compiled;
  } dims[] = {{"batch", shape->batch, b.batch},
              {"heads", shape->heads, b.heads},
              {"seq_q", shape->seq_q, b.seqQ},
              {"seq_k", shape->seq_k, b.seqK}};
  for (const Dim &d : dims) {
    if (d.value < 1)
      return std::string("shape: ") + d.name + " = " + std::to_string(d.value) +
             " must be at least 1";
    if (d.compiled >= 0 && d.value != d.compiled)
      return std::string("shape: ") + d.name + " = " + std::to_string(d.value) +
             " differs from the compiled " + std::to_string(d.compiled);
  }
  int64_t kvHeads = keyHeads(*shape);
  if (kvHeads < 1 || shape->heads % kvHeads != 0)
    return "shape: kv_heads = " + std::to_string(shape->kv_heads) +
           " must divide heads = " + std::to_string(shape->heads) +
           " (grouped-query attention; 0 means heads)";
  if (b.kvHeads >= 0 && kvHeads != b.kvHeads)
    return "shape: kv_heads = " + std::to_string(kvHeads) +
           " differs from the compiled " + std::to_string(b.kvHeads);
  // Grid (query blocks, heads, batch · splits), the split count at least
  // 1 (launchSplits keeps batch · splits within the limit); the block
  // map's grid z is its rows.
  if (shape->heads > kMaxGridYZ)
    return "shape: heads = " + std::to_string(shape->heads) +
           " exceeds the grid limit of 65535";
  if (shape->batch > kMaxGridYZ)
    return "shape: batch = " + std::to_string(shape->batch) +
           " exceeds the grid limit of 65535";
  int64_t mapRows = b.blockMapRowCount(shape->batch, shape->heads);
  if (!b.blockMapKernel.empty() && mapRows > kMaxGridYZ)
    return "shape: the block map's " + std::to_string(mapRows) +
           " rows (one per batch and head) exceed the grid "
           "limit of 65535";
  if (b.gridX(shape->seq_q) > 0x7fffffff)
    return "shape: seq_q too large";
  return {};
}

flashc_shape flashc::varlenShape(const flashc_varlen &varlen) {
  return {1, varlen.heads, varlen.total_q, varlen.total_k, varlen.kv_heads};
}

/// The i32 tables of a varlen or paged launch: non-null, 4-byte aligned
/// device pointers (whether they are device memory, the launch asks the
/// driver later).
static std::string
checkTables(const char *prefix,
            std::initializer_list<std::pair<const char *, uint64_t>> tables) {
  for (auto [name, pointer] : tables) {
    if (!pointer)
      return std::string(prefix) + name + ": null pointer";
    if (pointer % 4)
      return std::string(prefix) + name + ": not 4-byte aligned (i32 entries)";
  }
  return {};
}

/// The launch a kernel takes, for messages that send the caller there.
static const char *launchOf(const KernelBundle &b) {
  return b.varlen  ? "flashc_kernel_launch_varlen"
         : b.paged ? "flashc_kernel_launch_paged"
                   : "flashc_kernel_launch_strided";
}

std::string flashc::checkVarlen(const KernelBundle &b,
                                const flashc_varlen *varlen) {
  if (!b.varlen)
    return std::string("varlen: the kernel was compiled without varlen "
                       "(launch it with ") +
           launchOf(b) + ", or compile it with varlen(...))";
  if (!varlen)
    return "varlen: null";
  if (b.kvSplits > 1)
    return "varlen: a varlen kernel with kv_splits > 1 is not supported";
  if (varlen->sequences < 1 || varlen->sequences > kMaxGridYZ)
    return "varlen: sequences = " + std::to_string(varlen->sequences) +
           " must be from 1 to 65535 (one grid z index each)";
  if (b.sequences >= 0 && varlen->sequences != b.sequences)
    return "varlen: sequences = " + std::to_string(varlen->sequences) +
           " differs from the compiled " + std::to_string(b.sequences);
  // Named here as the caller gave them (checkShape would say seq_q, seq_k).
  if (b.seqQ >= 0 && varlen->total_q != b.seqQ)
    return "varlen: total_q = " + std::to_string(varlen->total_q) +
           " differs from the compiled " + std::to_string(b.seqQ);
  if (b.seqK >= 0 && varlen->total_k != b.seqK)
    return "varlen: total_k = " + std::to_string(varlen->total_k) +
           " differs from the compiled " + std::to_string(b.seqK);
  struct Longest {
    const char *name, *total;
    int64_t value, limit;
  } longest[] = {
      {"max_seqlen_q", "total_q", varlen->max_seqlen_q, varlen->total_q},
      {"max_seqlen_k", "total_k", varlen->max_seqlen_k, varlen->total_k}};
  for (const Longest &l : longest)
    if (l.value < 1 || l.value > l.limit)
      return std::string("varlen: ") + l.name + " = " +
             std::to_string(l.value) + " must be from 1 to " + l.total + " = " +
             std::to_string(l.limit);
  return checkTables("varlen: ", {{"cu_seqlens_q", varlen->cu_seqlens_q},
                                  {"cu_seqlens_k", varlen->cu_seqlens_k}});
}

flashc_shape flashc::pagedShape(const flashc_paged &paged) {
  return {paged.batch, paged.heads, paged.seq_q, paged.page_size,
          paged.kv_heads};
}

std::string flashc::checkPaged(const KernelBundle &b,
                               const flashc_paged *paged) {
  if (!b.paged)
    return std::string("paged: the kernel was compiled without paged "
                       "(launch it with ") +
           launchOf(b) + ", or compile it with paged(...))";
  if (!paged)
    return "paged: null";
  if (paged->num_pages < 1)
    return "paged: num_pages = " + std::to_string(paged->num_pages) +
           " must be at least 1";
  if (paged->page_size < 16 || paged->page_size % 16 != 0)
    return "paged: page_size = " + std::to_string(paged->page_size) +
           " must be a positive multiple of 16";
  // Named here as the caller gave it (checkShape would say seq_k).
  if (b.seqK >= 0 && paged->page_size != b.seqK)
    return "paged: page_size = " + std::to_string(paged->page_size) +
           " differs from the compiled " + std::to_string(b.seqK);
  if (paged->max_pages < 1)
    return "paged: max_pages = " + std::to_string(paged->max_pages) +
           " must be at least 1 (the block table's columns)";
  if (b.pages >= 0 && paged->num_pages != b.pages)
    return "paged: num_pages = " + std::to_string(paged->num_pages) +
           " differs from the compiled " + std::to_string(b.pages);
  if (b.maxPages >= 0 && paged->max_pages != b.maxPages)
    return "paged: max_pages = " + std::to_string(paged->max_pages) +
           " differs from the compiled " + std::to_string(b.maxPages);
  // A sequence's keys are counted in i32 (seqlens_k).
  if (paged->page_size > INT32_MAX / paged->max_pages)
    return "paged: max_pages · page_size = " +
           std::to_string(paged->max_pages) + " · " +
           std::to_string(paged->page_size) +
           " keys a sequence may hold exceed 2^31 - 1";
  return checkTables("paged: ", {{"block_table", paged->block_table},
                                 {"seqlens_k", paged->seqlens_k}});
}

std::string flashc::checkStrides(const KernelBundle &b,
                                 const flashc_strides *strides) {
  if (!strides)
    return {};
  if (!b.strided)
    return "strides: the kernel was compiled for row-major Q, K, V "
           "and O (give NULL, or compile it with strided<[?, ?, ?, "
           "1]> memrefs)";
  const int64_t *all[] = {strides->q, strides->k, strides->v, strides->o};
  const char *names[] = {"q", "k", "v", "o"};
  for (int i = 0; i < 4; ++i) {
    if (all[i][3] != 1)
      return std::string("strides: ") + names[i] +
             "'s head_dim stride must be 1, got " + std::to_string(all[i][3]);
    for (int d = 0; d < 3; ++d)
      if (all[i][d] < 1 || all[i][d] % 8 != 0)
        return std::string("strides: ") + names[i] + "[" + std::to_string(d) +
               "] = " + std::to_string(all[i][d]) +
               " must be a positive multiple of 8 elements "
               "(rows are copied in 16-byte chunks)";
  }
  return {};
}

std::string flashc::checkExtras(const KernelBundle &b, uint64_t lse,
                                const flashc_capture *captures,
                                size_t numCaptures) {
  if (b.lse && !lse)
    return "lse: null pointer (the kernel writes a log-sum-exp)";
  if (!b.lse && lse)
    return "lse: given, but the kernel writes no log-sum-exp";
  if (numCaptures != b.captures.size())
    return "captures: " + std::to_string(numCaptures) +
           " given, the kernel takes " + std::to_string(b.captures.size());
  if (numCaptures && !captures)
    return "captures: null array";
  for (size_t i = 0; i < numCaptures; ++i) {
    const CaptureInfo &info = b.captures[i];
    if (!info.memref)
      continue;
    std::string name = "capture " + std::to_string(i);
    if (!captures[i].data)
      return name + ": null pointer";
    for (size_t d = 0; d < info.sizes.size(); ++d) {
      int64_t size = captures[i].sizes[d];
      if (size < 1 || (info.sizes[d] >= 0 && size != info.sizes[d]))
        return name + ": size " + std::to_string(d) + " = " +
               std::to_string(size) +
               (size < 1 ? " must be at least 1"
                         : " differs from the compiled " +
                               std::to_string(info.sizes[d]));
    }
  }
  return {};
}
