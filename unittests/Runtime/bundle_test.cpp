//===- bundle_test.cpp - the bundle text format, on the CPU ---------------===//
//
// serializeBundle and parseBundle agree on every field, with and without a
// cubin; each malformed bundle is refused with a message that names what is
// wrong. No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "flashc/Runtime/Bundle.h"

#include <algorithm>
#include <cstdio>
#include <string>

using namespace flashc;

static int failures = 0;

static void expect(bool ok, const std::string &what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok)
    ++failures;
}

static KernelBundle sample() {
  KernelBundle b;
  b.kernelName = "attention_kernel";
  b.arch = "sm_89";
  b.elementType = "bf16";
  b.headDim = 128;
  b.causal = true;
  b.scale = 0.0883883476f;
  b.blockM = 64;
  b.blockN = 32;
  b.stages = 3;
  b.warps = 4;
  b.strategy = "mma_sync";
  b.kvSplits = 2;
  b.threads = 128;
  b.sharedBytes = 49152;
  b.batch = 1;
  b.heads = 8;
  b.seqQ = 512;
  b.seqK = 1000;
  b.ptx = "//\n.version 8.0\n.target sm_89\n";
  return b;
}

static bool same(const KernelBundle &a, const KernelBundle &b) {
  return a.kernelName == b.kernelName && a.arch == b.arch &&
         a.elementType == b.elementType && a.headDim == b.headDim &&
         a.causal == b.causal && a.scale == b.scale && a.blockM == b.blockM &&
         a.blockN == b.blockN && a.stages == b.stages && a.warps == b.warps &&
         a.strategy == b.strategy && a.kvSplits == b.kvSplits &&
         a.threads == b.threads && a.sharedBytes == b.sharedBytes &&
         a.batch == b.batch && a.heads == b.heads && a.seqQ == b.seqQ &&
         a.seqK == b.seqK && a.ptx == b.ptx && a.cubin == b.cubin &&
         a.cubinArch == b.cubinArch && a.bottomRight == b.bottomRight &&
         a.lse == b.lse && a.modified == b.modified && a.strided == b.strided &&
         a.kvHeads == b.kvHeads && a.captures.size() == b.captures.size() &&
         std::equal(a.captures.begin(), a.captures.end(), b.captures.begin(),
                    [](const CaptureInfo &x, const CaptureInfo &y) {
                      return x.memref == y.memref && x.type == y.type &&
                             x.sizes == y.sizes;
                    }) &&
         a.blockMapKernel == b.blockMapKernel && a.tensorMaps == b.tensorMaps &&
         a.blockMapRows == b.blockMapRows;
}

/// `text` with the first occurrence of `from` replaced by `to`.
static std::string edit(std::string text, const std::string &from,
                        const std::string &to) {
  size_t at = text.find(from);
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

/// Parsing `text` fails with an error that contains `message`.
static void refuses(const std::string &text, const std::string &message) {
  KernelBundle parsed;
  std::string error;
  bool ok = parseBundle(text, parsed, error);
  expect(!ok && error.find(message) != std::string::npos,
         "refused: " + message + (ok ? " (parsed)" : " (got: " + error + ")"));
}

int main() {
  KernelBundle b = sample();
  std::string text = serializeBundle(b);
  KernelBundle parsed;
  std::string error;
  bool ok = parseBundle(text, parsed, error);
  expect(ok && same(parsed, b), "round trip, kv_splits 2 " + error);
  b.kvSplits = 1;
  b.cubin = std::string("\x7f"
                        "ELF\0binary\n",
                        11);
  b.cubinArch = "sm_89";
  std::string withCubin = serializeBundle(b);
  // Into the bundle parsed above: nothing of it may survive (kv_splits 2).
  ok = parseBundle(withCubin, parsed, error);
  expect(ok && same(parsed, b),
         "round trip with a cubin, into a used bundle " + error);

  refuses("", "not a flashc bundle");
  refuses(edit(text, "flashc-bundle 2", "flashc-bundle 1"),
          "unsupported bundle version");
  refuses(edit(text, "arch sm_89\n", "arch sm_89\nnonsense 1\n"),
          "unknown key 'nonsense'");
  refuses(edit(text, "block_m 64", "block_m x"),
          "'block_m' needs an integer, got 'x'");
  refuses(edit(text, "scale ", "scale x"), "'scale' needs a number");
  refuses(edit(text, "element bf16", "element f32"),
          "element must be f16 or bf16");
  refuses(edit(text, "shape 1 8 512 1000", "shape 1 8"),
          "'shape' needs four integers");
  refuses(edit(text, "threads 128", "threads 96"),
          "threads must be 32 * warps, or 32 * warps + 128 with a producer "
          "warpgroup (strategy wgmma)");
  refuses(edit(text, "threads 128", "threads 192"),
          "threads must be 32 * warps");
  // A producer warpgroup (policy prefetch = producer) adds 128 threads, with
  // strategy wgmma only.
  refuses(edit(text, "threads 128", "threads 256"),
          "threads must be 32 * warps");
  ok = parseBundle(edit(edit(text, "threads 128", "threads 256"),
                        "strategy mma_sync", "strategy wgmma"),
                   parsed, error);
  expect(ok && parsed.threads == 256 && parsed.warps == 4,
         "a producer warpgroup's 128 threads: " + error);
  // TMA copies (policy prefetch = tma): two tensor maps after the split
  // workspace, for a producer warpgroup's wgmma kernels only.
  std::string tma = edit(edit(edit(text, "threads 128", "threads 256"),
                              "strategy mma_sync", "strategy wgmma"),
                         "kv_splits 2\n", "kv_splits 2\ntensor_maps 1\n");
  tma = edit(tma, "memref1:partials memref1:counters",
             "memref1:partials memref1:counters tensormap:k tensormap:v");
  ok = parseBundle(tma, parsed, error);
  expect(ok && parsed.tensorMaps, "tensor maps: " + error);
  expect(serializeBundle(parsed).find("tensor_maps 1\n") != std::string::npos,
         "tensor maps survive a round trip");
  refuses(edit(tma, "threads 256", "threads 128"),
          "tensor_maps needs strategy wgmma with a producer warpgroup");
  refuses(edit(tma, " tensormap:k tensormap:v", ""),
          "disagrees with the header");
  refuses(edit(tma, "head_dim 128", "head_dim 96"),
          "head_dim a multiple of 64");
  refuses(edit(edit(tma, "tensor_maps 1\n", "tensor_maps 1\nvarlen 1\n"),
               "memref4:o memref1:partials",
               "memref4:o memref1:cu_seqlens_q memref1:cu_seqlens_k "
               "memref1:partials"),
          "K/V neither varlen nor paged");
  refuses(edit(tma, "block_n 32", "block_n 512"), "block_n at most 256");
  refuses(edit(text, "kv_splits 2", "kv_splits 17"),
          "kv_splits must be between 1 and 16");
  refuses(edit(text, "kv_splits 2\n", ""),
          "parameter list 'memref4:q memref4:k memref4:v memref4:o "
          "memref1:partials memref1:counters' disagrees with the header");
  refuses(edit(text, "warps 4\n", ""), "missing or invalid block_m");
  refuses(edit(text, "kernel attention_kernel\n", ""),
          "missing 'kernel' or 'ptx'");
  refuses(text.substr(0, text.size() - 5), "truncated PTX");
  refuses(text + "junk", "unexpected data after the PTX");
  refuses(edit(withCubin, "cubin sm_89 11", "cubin sm_89 99"),
          "malformed or truncated cubin section");

  // Modifiers: the alignment, the LSE and the captures, in the parameter
  // list in order.
  KernelBundle mods = sample();
  mods.bottomRight = true;
  mods.strided = true;
  mods.kvHeads = 2;
  mods.lse = true;
  mods.modified = true;
  mods.captures = {
      {true, "f32", {16}}, {true, "i32", {-1, 1024}}, {false, "index", {}}};
  mods.blockMapKernel = "attention_kernel_block_map";
  mods.blockMapRows = 1;
  std::string modsText = serializeBundle(mods);
  ok = parseBundle(modsText, parsed, error);
  expect(ok && same(parsed, mods), "round trip with captures " + error);
  expect(mods.params() == "memref4:q memref4:k memref4:v memref4:o memref3:lse "
                          "memref1:capture0 memref2:capture1 index:capture2 "
                          "memref1:block_map memref1:partials memref1:counters",
         "parameter list with an LSE and captures: " + mods.params());
  refuses(edit(modsText, "kv_heads 2", "kv_heads 3"),
          "kv_heads must be -1 (dynamic) or a divisor of heads");
  {
    // Without `kv_heads`, K and V have Q's heads.
    KernelBundle noKv;
    std::string text = modsText;
    text.erase(text.find("kv_heads 2\n"), 11);
    expect(parseBundle(text, noKv, error) && noKv.kvHeads == noKv.heads,
           "kv_heads defaults to heads " + error);
  }
  refuses(edit(modsText, "capture scalar index", "capture scalar f16"),
          "malformed capture 'scalar f16'");
  refuses(edit(modsText, "capture memref f32 1 16", "capture memref f32 2 16"),
          "malformed capture 'memref f32 2 16'");
  refuses(edit(modsText, "capture memref f32 1 16", "capture tensor f32 1 16"),
          "malformed capture 'tensor f32 1 16'");
  refuses(edit(modsText, "lse 1\n", ""),
          "disagrees with the header, which needs 'memref4:q memref4:k "
          "memref4:v memref4:o memref1:capture0");
  refuses(edit(modsText, "block_map attention_kernel_block_map per_batch",
               "block_map attention_kernel_block_map per_row"),
          "'block_map' needs a kernel name and shared, per_batch or "
          "per_batch_head");
  // Which devices load a bundle's cubin (else the PTX is JIT-compiled).
  expect(cubinRunsOn("sm_90", "sm_90"), "an sm_90 cubin on a 9.0 device");
  expect(cubinRunsOn("sm_90a", "sm_90"), "an sm_90a cubin on a 9.0 device");
  expect(!cubinRunsOn("sm_90a", "sm_100"), "no sm_90a cubin on a 10.0 one");
  expect(!cubinRunsOn("sm_89", "sm_90"), "no sm_89 cubin on a 9.0 one");
  std::printf("%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
