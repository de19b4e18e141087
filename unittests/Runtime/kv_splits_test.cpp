//===- kv_splits_test.cpp - the split rule, on the CPU --------------------===//
//
// chooseKVSplits (flashc/Runtime/KVSplits.h), which select-config applies
// at compile time and the runtime at every launch (launchSplits, also
// tested: the compiled maximum, a fixed count, the grid's z limit; and
// packedShape, the grouped-query decoding launch; and checkVarlen and
// checkPaged, a varlen or paged launch's arguments): a full
// grid never splits; a grid of single query blocks (a decode step) splits into
// at most two programs per SM (one where only one fits); other small grids fill
// the SMs once; every choice keeps two K/V blocks per split and stays within
// the kernel's maximum. No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "LaunchChecks.h"
#include "flashc/Runtime/KVSplits.h"

#include <cstdio>
#include <string>

using namespace flashc;

static int failures = 0;

static void expect(int64_t got, int64_t want, const std::string &what) {
  bool ok = got == want;
  std::printf("%s %s: %lld (want %lld)\n", ok ? "ok  " : "FAIL", what.c_str(),
              static_cast<long long>(got), static_cast<long long>(want));
  if (!ok)
    ++failures;
}

static void expectText(const std::string &got, const std::string &want,
                       const std::string &what) {
  bool ok = got == want;
  std::printf("%s %s: \"%s\"%s\n", ok ? "ok  " : "FAIL", what.c_str(),
              got.c_str(), ok ? "" : (" (want \"" + want + "\")").c_str());
  if (!ok)
    ++failures;
}

int main() {
  const int64_t sms = 132; // an H100 or H200: 228 KiB of shared memory an SM
  const int64_t perSM = residentPrograms(233472, 81920); // 64x64 at d128
  expect(perSM, 2, "two 80 KiB programs fit an H200 SM");
  expect(residentPrograms(102400, 81920), 1, "one fits an sm_89 SM");
  expect(residentPrograms(0, 81920), 1, "unknown SM size: one");
  // Decode steps: one query block per (sequence, K/V head).
  expect(chooseKVSplits(sms, perSM, 8, 64, false, 16, true), 16,
         "8 single blocks: up to 2 a SM, capped at the maximum");
  expect(chooseKVSplits(sms, perSM, 64, 64, false, 16, true), 4,
         "64 single blocks: 4 splits (5 would start a second wave)");
  expect(chooseKVSplits(sms, 1, 64, 64, false, 16, true), 2,
         "64 single blocks, one program an SM: 2 splits");
  expect(chooseKVSplits(sms, 4, 64, 64, false, 16, true), 4,
         "room for more than two an SM: still two");
  expect(chooseKVSplits(sms, perSM, 256, 1024, false, 16, true), 1,
         "256 single blocks already fill the SMs");
  expect(chooseKVSplits(sms, perSM, 8, 6, false, 16, true), 3,
         "6 key blocks: two per split at least");
  expect(chooseKVSplits(sms, perSM, 8, 1, false, 16, true), 1,
         "one key block: nothing to split");
  expect(chooseKVSplits(sms, perSM, 8, 64, false, 5, true), 5,
         "a kernel compiled for 5 splits at most");
  // Grids of several query blocks per head (compute-bound).
  expect(chooseKVSplits(sms, perSM, 64, 8, true, 16, false), 2,
         "64 causal programs: fill the SMs once");
  expect(chooseKVSplits(sms, perSM, 64, 8, false, 16, false), 1,
         "64 programs without a mask: over a quarter of the SMs");
  expect(chooseKVSplits(sms, perSM, 32, 64, false, 16, false), 4,
         "32 programs without a mask");
  expect(chooseKVSplits(sms, perSM, 4096, 64, false, 16, false), 1,
         "a full grid");
  // Unknown SM count (an architecture flashc has no table for).
  expect(chooseKVSplits(0, perSM, 8, 64, false, 16, true), 1, "no SM count");

  // launchSplits: a decode kernel (64x64, up to 16 splits) on an H200.
  KernelBundle b;
  b.blockM = 64;
  b.blockN = 64;
  b.sharedBytes = 81920;
  b.kvSplits = 16;
  const int64_t h200Shared = 233472;
  flashc_shape decode = {8, 8, 4, 16384, 8}; // 8 x 8 K/V heads, 4 rows
  expect(launchSplits(b, decode, 0, sms, h200Shared), 4,
         "launch: 64 single blocks on an H200");
  expect(launchSplits(b, decode, 0, 58, 102400), 1,
         "launch: 64 single blocks on an L4 (58 SMs) fill it");
  expect(launchSplits(b, decode, 3, sms, h200Shared), 3, "launch: fixed 3");
  expect(launchSplits(b, decode, 40, sms, h200Shared), 16,
         "launch: fixed past the compiled maximum");
  flashc_shape many = {8000, 2, 40, 4096, 2};
  expect(launchSplits(b, many, 16, sms, h200Shared), 8,
         "launch: 8000 sequences keep batch * splits within 65535");
  flashc_shape tooMany = {40000, 1, 1, 4096, 1};
  expect(launchSplits(b, tooMany, 16, sms, h200Shared), 1,
         "launch: 40000 sequences cannot split");
  b.kvSplits = 1;
  expect(launchSplits(b, decode, 0, sms, h200Shared), 1,
         "launch: a kernel compiled without splits");

  // packedShape: grouped-query decoding runs a K/V head's query heads as
  // one head of their rows.
  KernelBundle dyn;
  dyn.blockM = 64;
  flashc_shape step = {2, 32, 1, 5000, 8};
  flashc_shape packed = packedShape(dyn, step);
  expect(packed.heads, 8, "packed: heads become the K/V heads");
  expect(packed.seq_q, 4, "packed: seq_q becomes group * seq_q");
  expect(packed.kv_heads, 8, "packed: kv_heads unchanged");
  expect(packed.batch * 100 + packed.seq_k, 2 * 100 + 5000,
         "packed: batch and seq_k unchanged");
  flashc_shape wide = {2, 32, 17, 5000, 8};
  expect(packedShape(dyn, wide).heads, 32,
         "not packed: 4 x 17 rows pass one 64-row block");
  flashc_shape plain = {2, 8, 1, 5000, 0};
  expect(packedShape(dyn, plain).heads, 8, "not packed: no groups");
  KernelBundle rule = dyn;
  rule.causal = true;
  expect(packedShape(rule, step).heads, 32, "not packed: causal");
  rule = dyn;
  rule.modified = true;
  expect(packedShape(rule, step).heads, 32, "not packed: modified scores");
  rule = dyn;
  rule.strided = true;
  expect(packedShape(rule, step).heads, 32, "not packed: strided operands");
  rule = dyn;
  rule.heads = 32;
  expect(packedShape(rule, step).heads, 32, "not packed: static heads");
  rule = dyn;
  rule.seqQ = 1;
  expect(packedShape(rule, step).heads, 32, "not packed: static seq_q");
  rule = dyn;
  rule.varlen = true;
  expect(packedShape(rule, step).heads, 32, "not packed: varlen");

  rule = dyn;
  rule.paged = true;
  expect(packedShape(rule, step).heads, 32, "not packed: paged");

  // checkVarlen and checkPaged: a varlen or paged launch's own arguments,
  // each named. Each case changes the kernel or the arguments of a valid
  // launch and names the message it must give.
  KernelBundle varlenKernel = dyn, pagedKernel = dyn;
  varlenKernel.varlen = true;
  pagedKernel.paged = true;
  const flashc_varlen good = {3, 32, 8, 1000, 1200, 500, 600, 256, 512};
  const flashc_paged cache = {8, 32, 8, 1, 4096, 64, 512, 256, 512};
  struct VarlenCase {
    const char *what;
    KernelBundle kernel;
    void (*change)(flashc_varlen &);
    const char *message;
  };
  auto none = [](flashc_varlen &) {};
  KernelBundle fewer = varlenKernel, shorter = varlenKernel;
  fewer.sequences = 5;
  shorter.seqQ = 999;
  const VarlenCase varlenCases[] = {
      {"varlen: valid", varlenKernel, none, ""},
      {"varlen: not a varlen kernel", dyn, none,
       "varlen: the kernel was compiled without varlen (launch it with "
       "flashc_kernel_launch_strided, or compile it with varlen(...))"},
      {"varlen: a paged kernel names its own launch", pagedKernel, none,
       "varlen: the kernel was compiled without varlen (launch it with "
       "flashc_kernel_launch_paged, or compile it with varlen(...))"},
      {"varlen: no sequence", varlenKernel,
       [](flashc_varlen &v) { v.sequences = 0; },
       "varlen: sequences = 0 must be from 1 to 65535 (one grid z index "
       "each)"},
      {"varlen: the compiled sequence count", fewer, none,
       "varlen: sequences = 3 differs from the compiled 5"},
      {"varlen: the compiled total, named as given", shorter, none,
       "varlen: total_q = 1000 differs from the compiled 999"},
      {"varlen: max_seqlen_q past the total", varlenKernel,
       [](flashc_varlen &v) { v.max_seqlen_q = 1001; },
       "varlen: max_seqlen_q = 1001 must be from 1 to total_q = 1000"},
      {"varlen: max_seqlen_k 0", varlenKernel,
       [](flashc_varlen &v) { v.max_seqlen_k = 0; },
       "varlen: max_seqlen_k = 0 must be from 1 to total_k = 1200"},
      {"varlen: null bounds", varlenKernel,
       [](flashc_varlen &v) { v.cu_seqlens_k = 0; },
       "varlen: cu_seqlens_k: null pointer"},
      {"varlen: misaligned bounds", varlenKernel,
       [](flashc_varlen &v) { v.cu_seqlens_q = 258; },
       "varlen: cu_seqlens_q: not 4-byte aligned (i32 entries)"},
  };
  for (const VarlenCase &c : varlenCases) {
    flashc_varlen v = good;
    c.change(v);
    expectText(checkVarlen(c.kernel, &v), c.message, c.what);
  }
  flashc_shape checked = varlenShape(good);
  expect(checked.batch * 1000000 + checked.seq_q * 10 + checked.heads / 32,
         1 * 1000000 + 1000 * 10 + 1, "varlen: checked as batch 1, total_q");

  struct PagedCase {
    const char *what;
    KernelBundle kernel;
    void (*change)(flashc_paged &);
    const char *message;
  };
  auto same = [](flashc_paged &) {};
  KernelBundle fixedPages = pagedKernel, fixedWidth = pagedKernel,
               fixedPageSize = pagedKernel;
  fixedPages.pages = 100;
  fixedWidth.maxPages = 8;
  fixedPageSize.seqK = 16;
  const PagedCase pagedCases[] = {
      {"paged: valid", pagedKernel, same, ""},
      {"paged: not a paged kernel", dyn, same,
       "paged: the kernel was compiled without paged (launch it with "
       "flashc_kernel_launch_strided, or compile it with paged(...))"},
      {"paged: page size 24", pagedKernel,
       [](flashc_paged &p) { p.page_size = 24; },
       "paged: page_size = 24 must be a positive multiple of 16"},
      {"paged: no pages", pagedKernel, [](flashc_paged &p) { p.num_pages = 0; },
       "paged: num_pages = 0 must be at least 1"},
      {"paged: an empty table", pagedKernel,
       [](flashc_paged &p) { p.max_pages = 0; },
       "paged: max_pages = 0 must be at least 1 (the block table's "
       "columns)"},
      {"paged: null lengths", pagedKernel,
       [](flashc_paged &p) { p.seqlens_k = 0; },
       "paged: seqlens_k: null pointer"},
      {"paged: misaligned table", pagedKernel,
       [](flashc_paged &p) { p.block_table = 6; },
       "paged: block_table: not 4-byte aligned (i32 entries)"},
      {"paged: the compiled page count", fixedPages, same,
       "paged: num_pages = 4096 differs from the compiled 100"},
      {"paged: the compiled table width", fixedWidth, same,
       "paged: max_pages = 512 differs from the compiled 8"},
      {"paged: the compiled page size, named as given", fixedPageSize, same,
       "paged: page_size = 64 differs from the compiled 16"},
      {"paged: a table too wide for i32 lengths", pagedKernel,
       [](flashc_paged &p) { p.max_pages = int64_t(1) << 30; },
       "paged: max_pages · page_size = 1073741824 · 64 keys a sequence may "
       "hold exceed 2^31 - 1"},
  };
  for (const PagedCase &c : pagedCases) {
    flashc_paged p = cache;
    c.change(p);
    expectText(checkPaged(c.kernel, &p), c.message, c.what);
  }
  flashc_shape pagedChecked = pagedShape(cache);
  expect(pagedChecked.seq_k, 64, "paged: K/V checked with seq the page size");
  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
