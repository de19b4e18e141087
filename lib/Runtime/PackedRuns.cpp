//===- PackedRuns.cpp - checked runs of varlen and paged kernels ----------===//
//
// `flashc FILE --run` and flashc-run on a varlen or a paged kernel: seeded
// sequences packed along seq (varlen), or a batch whose keys live in the
// pages of a shared cache found through a shuffled block table (paged); a
// poisoned output, three launches compared bitwise, each sequence checked
// against the float64 reference on its own keys, and the launch timed.
// flashc-check-cpu checks the same forms on the CPU with the same defaults.
//
//===----------------------------------------------------------------------===//

#include "RunSupport.h"

#include "flashc/Runtime/Captures.h"
#include "flashc/Runtime/Reference.h"

#include <algorithm>
#include <iomanip>
#include <random>

using namespace flashc;

namespace {

/// The sequences of a run, in the reference's order: each sequence's Q, O
/// and LSE rows and K/V rows, [1, heads, length, head_dim].
struct Sequence {
  int64_t seqQ = 0, seqK = 0;
  std::vector<uint16_t> q, k, v, out;
  std::vector<float> lse;
};

/// What a packed run launches and then checks.
class PackedRun {
public:
  PackedRun(const KernelBundle &bundle, const RunOptions &options,
            std::ostream &out, std::ostream &err)
      : bundle(bundle), options(options), out(out), loaded(err),
        bf16(bundle.elementType == "bf16"), d(bundle.headDim) {}

  RunStatus runVarlen(const std::string &bundleText);
  RunStatus runPaged(const std::string &bundleText);

private:
  bool fail(const std::string &message) {
    loaded.err << "flashc: error: " << message << "\n";
    return false;
  }
  RunStatus refuse(const std::string &message) {
    fail(message);
    return kRunError;
  }
  /// The captures, the LSE output and a poisoned output of `outElems`.
  bool uploadCommon(size_t outElems, size_t lseRows);
  /// Three launches on a poisoned output (flashc::launchThrice): `first`
  /// gets the first's output as [outer, heads, rows, d], `hlse` its LSE.
  bool launchThrice(int64_t outer, int64_t rows, std::vector<uint16_t> &first,
                    bool &deterministic);
  /// Checks each sequence (the modifiers see its index and lengths) and
  /// prints the report; `header` is the shape line.
  RunStatus report(const std::string &header, std::vector<Sequence> &sequences,
                   bool deterministic, double flops);

  const KernelBundle &bundle;
  const RunOptions &options;
  std::ostream &out;
  LoadedKernel loaded;
  bool bf16;
  int64_t d;
  /// Q's heads and K/V's (chooseHeads).
  int64_t heads = 0, kvHeads = 0;
  std::vector<HostCapture> hostCaptures;
  std::deque<DeviceBuffer> captureBuffers;
  std::vector<flashc_capture> captures;
  std::vector<float> hlse;
  size_t outElems = 0;
  /// The launch (varlen or paged), with its arguments bound.
  std::function<bool()> launch;
  // Declared after the kernel: freed before it and the runtime.
  DeviceBuffer dq, dk, dv, dout, dlse, tableA, tableB;
};

} // namespace

bool PackedRun::uploadCommon(size_t outputElems, size_t lseRows) {
  std::string error;
  outElems = outputElems;
  if (!makeHostCaptures(bundle, options.seed + 2, hostCaptures, error))
    return fail(error);
  if (bundle.lse) {
    hlse.assign(lseRows, 0.0f);
    if (!loaded.upload(dlse, nullptr, lseRows * 4))
      return false;
  }
  return loaded.upload(dout, nullptr, outElems * 2) &&
         uploadCaptures(loaded, bundle, hostCaptures, captureBuffers, captures);
}

bool PackedRun::launchThrice(int64_t outer, int64_t rows,
                             std::vector<uint16_t> &first,
                             bool &deterministic) {
  if (!flashc::launchThrice(loaded, launch, dout, outElems, dlse, hlse, first,
                            deterministic))
    return false;
  if (bundle.strided)
    first = seqMajor(first, outer, heads, rows, d, /*back=*/true);
  return true;
}

RunStatus PackedRun::report(const std::string &header,
                            std::vector<Sequence> &sequences,
                            bool deterministic, double flops) {
  out << std::setprecision(3);
  out << "device " << flashc_runtime_device_name(loaded.rt) << "\n";
  out << "kernel " << bundle.kernelName << " (" << bundle.arch << " PTX, "
      << bundle.elementType << ", head_dim " << d
      << (bundle.causal ? ", causal" : "")
      << (bundle.bottomRight ? " bottom-right" : "")
      << (bundle.modified ? ", modified scores" : "")
      << (bundle.lse ? ", LSE" : "")
      << (bundle.varlen ? ", varlen" : ", paged K/V")
      << (bundle.strided ? ", strided" : "") << ")\n";
  out << header << "\n";
  bool passed = deterministic;
  double bound = errorBound(bf16);
  for (size_t b = 0; b < sequences.size(); ++b) {
    Sequence &sequence = sequences[b];
    AttentionProblem problem = attentionProblem(
        bundle, {1, heads, sequence.seqQ, sequence.seqK, kvHeads});
    problem.firstBatch = static_cast<int64_t>(b);
    ScoreModifiers modifiers;
    if (options.modifiers) {
      modifiers = options.modifiers(hostCaptures, sequence.seqQ, sequence.seqK);
      problem.modifiers = &modifiers;
    }
    ErrorStats stats = compareWithReference(
        problem, sequence.q, sequence.k, sequence.v, sequence.out,
        options.seed + 1 + b, 4.0e9, bundle.lse ? &sequence.lse : nullptr);
    bool ok = !stats.nan && stats.relL2 < bound && !stats.lseBad &&
              stats.lseMaxRel <= kLseBound;
    out << "sequence " << b << " seq_q=" << sequence.seqQ
        << " seq_k=" << sequence.seqK << ": max_abs_error " << std::scientific
        << stats.maxAbs << " rel_l2_error " << stats.relL2 << " (bound "
        << bound << ")" << (stats.nan ? " NaN in output" : "");
    if (bundle.lse)
      out << " lse_max_rel_error " << stats.lseMaxRel
          << (stats.lseBad ? " WRONG -inf or NaN rows" : "");
    out << std::defaultfloat << (ok ? "" : " FAIL") << "\n";
    passed &= ok;
  }
  out << "deterministic " << (deterministic ? "yes" : "NO")
      << " (3 runs, bitwise)\n";
  if (options.iters > 0) {
    double medianUs = 0;
    if (!timeLaunches(loaded, launch, options.warmup, options.iters, medianUs))
      return kRunError;
    double tflops = medianUs > 0 ? flops / (medianUs * 1e-6) / 1e12 : 0;
    out << "time_us " << std::fixed << std::setprecision(2) << medianUs
        << " (median of " << options.iters << ") tflops " << tflops
        << std::defaultfloat << "\n";
  }
  out << (passed ? "PASS" : "FAIL") << "\n";
  return passed ? kRunPassed : kRunFailed;
}

/// Multiply-adds ×2 of one sequence's attention (half of the square part
/// when causal, as the kernel skips it).
static double sequenceFlops(int64_t heads, int64_t seqQ, int64_t seqK,
                            int64_t d, bool causal) {
  double flops = 4.0 * heads * seqQ * seqK * d;
  return causal && seqQ == seqK ? flops / 2 : flops;
}

RunStatus PackedRun::runVarlen(const std::string &bundleText) {
  std::string error;
  VarlenSizes sizes;
  if (!chooseVarlenSizes(bundle, options, sizes, error))
    return refuse(error);
  const std::vector<int64_t> &lensQ = sizes.lensQ, &lensK = sizes.lensK;
  int64_t sequences = static_cast<int64_t>(lensQ.size());
  heads = sizes.heads.heads;
  kvHeads = sizes.heads.kvHeads;
  std::vector<int32_t> cuQ(1, 0), cuK(1, 0);
  for (int64_t b = 0; b < sequences; ++b) {
    cuQ.push_back(cuQ.back() + static_cast<int32_t>(lensQ[b]));
    cuK.push_back(cuK.back() + static_cast<int32_t>(lensK[b]));
  }
  int64_t totalQ = cuQ.back(), totalK = cuK.back();

  if (RunStatus status =
          loaded.open(bundleText, options.device, options.kvSplits);
      status != kRunPassed)
    return status;
  // [heads, total, head_dim] on the host (the reference's order); on the
  // device [total, heads, head_dim] for a strided kernel, else the same.
  std::mt19937_64 rng(options.seed);
  size_t qElems = size_t(heads * totalQ * d),
         kElems = size_t(kvHeads * totalK * d);
  std::vector<uint16_t> hq = randomInput(qElems, rng, bf16);
  std::vector<uint16_t> hk = randomInput(kElems, rng, bf16);
  std::vector<uint16_t> hv = randomInput(kElems, rng, bf16);
  auto device = [&](const std::vector<uint16_t> &x, int64_t h, int64_t rows) {
    return bundle.strided ? seqMajor(x, 1, h, rows, d) : x;
  };
  flashc_strides strides = {};
  seqMajorStrides(strides.q, heads, totalQ, d);
  seqMajorStrides(strides.k, kvHeads, totalK, d);
  seqMajorStrides(strides.v, kvHeads, totalK, d);
  seqMajorStrides(strides.o, heads, totalQ, d);
  if (!loaded.upload(dq, device(hq, heads, totalQ).data(), qElems * 2) ||
      !loaded.upload(dk, device(hk, kvHeads, totalK).data(), kElems * 2) ||
      !loaded.upload(dv, device(hv, kvHeads, totalK).data(), kElems * 2) ||
      !loaded.upload(tableA, cuQ.data(), cuQ.size() * 4) ||
      !loaded.upload(tableB, cuK.data(), cuK.size() * 4) ||
      !uploadCommon(qElems, size_t(heads * totalQ)))
    return kRunError;
  flashc_varlen varlen = {sequences,
                          heads,
                          kvHeads,
                          totalQ,
                          totalK,
                          *std::max_element(lensQ.begin(), lensQ.end()),
                          *std::max_element(lensK.begin(), lensK.end()),
                          tableA.ptr,
                          tableB.ptr};
  launch = [this, varlen, strides] {
    return flashc_kernel_launch_varlen(
               loaded.kernel, &varlen, bundle.strided ? &strides : nullptr,
               dq.ptr, dk.ptr, dv.ptr, dout.ptr, dlse.ptr, captures.data(),
               captures.size(), nullptr) == FLASHC_OK ||
           loaded.launchFailed();
  };
  std::vector<uint16_t> first;
  bool deterministic = true;
  if (!launchThrice(1, totalQ, first, deterministic))
    return kRunError;

  // Sequence b: rows [cu[b], cu[b + 1]) of every head.
  auto rows = [&](const std::vector<uint16_t> &x, int64_t h, int64_t total,
                  int64_t begin, int64_t count) {
    std::vector<uint16_t> slice;
    for (int64_t head = 0; head < h; ++head) {
      auto at = x.begin() + (head * total + begin) * d;
      slice.insert(slice.end(), at, at + count * d);
    }
    return slice;
  };
  std::vector<Sequence> checked(sequences);
  double flops = 0;
  for (int64_t b = 0; b < sequences; ++b) {
    Sequence &sequence = checked[b];
    sequence.seqQ = lensQ[b];
    sequence.seqK = lensK[b];
    sequence.q = rows(hq, heads, totalQ, cuQ[b], lensQ[b]);
    sequence.out = rows(first, heads, totalQ, cuQ[b], lensQ[b]);
    sequence.k = rows(hk, kvHeads, totalK, cuK[b], lensK[b]);
    sequence.v = rows(hv, kvHeads, totalK, cuK[b], lensK[b]);
    for (int64_t head = 0; bundle.lse && head < heads; ++head)
      sequence.lse.insert(sequence.lse.end(),
                          hlse.begin() + head * totalQ + cuQ[b],
                          hlse.begin() + head * totalQ + cuQ[b] + lensQ[b]);
    flops += sequenceFlops(heads, lensQ[b], lensK[b], d, bundle.causal);
  }
  std::string header = "shape sequences=" + std::to_string(sequences) +
                       " heads=" + std::to_string(heads);
  if (kvHeads != heads)
    header += " kv_heads=" + std::to_string(kvHeads);
  header += " total_q=" + std::to_string(totalQ) +
            " total_k=" + std::to_string(totalK);
  return report(header, checked, deterministic, flops);
}

RunStatus PackedRun::runPaged(const std::string &bundleText) {
  std::string error;
  PagedSizes sizes;
  if (!choosePagedSizes(bundle, options, sizes, error))
    return refuse(error);
  int64_t batch = sizes.shape.batch, seqQ = sizes.shape.seqQ;
  int64_t page = sizes.shape.seqK, maxPages = sizes.maxPages;
  int64_t pages = sizes.pages;
  const std::vector<int64_t> &lens = sizes.lens;
  heads = sizes.shape.heads;
  kvHeads = sizes.shape.kvHeads;
  std::mt19937_64 rng(options.seed);
  std::vector<int32_t> table = shuffledBlockTable(sizes, rng), seqlensK;
  for (int64_t len : lens)
    seqlensK.push_back(static_cast<int32_t>(len));

  if (RunStatus status =
          loaded.open(bundleText, options.device, options.kvSplits);
      status != kRunPassed)
    return status;
  // Q [batch, heads, seq_q, d] and the caches [pages, kv_heads, page, d] on
  // the host; [batch, seq_q, heads, d] and [pages, page, kv_heads, d] on the
  // device for a strided kernel.
  size_t qElems = size_t(batch * heads * seqQ * d);
  size_t cacheElems = size_t(pages * kvHeads * page * d);
  std::vector<uint16_t> hq = randomInput(qElems, rng, bf16);
  std::vector<uint16_t> hk = randomInput(cacheElems, rng, bf16);
  std::vector<uint16_t> hv = randomInput(cacheElems, rng, bf16);
  auto device = [&](const std::vector<uint16_t> &x, int64_t outer, int64_t h,
                    int64_t rows) {
    return bundle.strided ? seqMajor(x, outer, h, rows, d) : x;
  };
  flashc_strides strides = {};
  seqMajorStrides(strides.q, heads, seqQ, d);
  seqMajorStrides(strides.k, kvHeads, page, d);
  seqMajorStrides(strides.v, kvHeads, page, d);
  seqMajorStrides(strides.o, heads, seqQ, d);
  if (!loaded.upload(dq, device(hq, batch, heads, seqQ).data(), qElems * 2) ||
      !loaded.upload(dk, device(hk, pages, kvHeads, page).data(),
                     cacheElems * 2) ||
      !loaded.upload(dv, device(hv, pages, kvHeads, page).data(),
                     cacheElems * 2) ||
      !loaded.upload(tableA, table.data(), table.size() * 4) ||
      !loaded.upload(tableB, seqlensK.data(), seqlensK.size() * 4) ||
      !uploadCommon(qElems, size_t(batch * heads * seqQ)))
    return kRunError;
  flashc_paged paged = {batch, heads,    kvHeads,    seqQ,      pages,
                        page,  maxPages, tableA.ptr, tableB.ptr};
  launch = [this, paged, strides] {
    return flashc_kernel_launch_paged(
               loaded.kernel, &paged, bundle.strided ? &strides : nullptr,
               dq.ptr, dk.ptr, dv.ptr, dout.ptr, dlse.ptr, captures.data(),
               captures.size(), nullptr) == FLASHC_OK ||
           loaded.launchFailed();
  };
  std::vector<uint16_t> first;
  bool deterministic = true;
  if (!launchThrice(batch, seqQ, first, deterministic))
    return kRunError;

  std::vector<Sequence> checked(batch);
  size_t qRows = size_t(heads * seqQ);
  double flops = 0;
  for (int64_t b = 0; b < batch; ++b) {
    Sequence &sequence = checked[b];
    sequence.seqQ = seqQ;
    sequence.seqK = lens[b];
    sequence.q.assign(hq.begin() + b * qRows * d,
                      hq.begin() + (b + 1) * qRows * d);
    sequence.out.assign(first.begin() + b * qRows * d,
                        first.begin() + (b + 1) * qRows * d);
    if (bundle.lse)
      sequence.lse.assign(hlse.begin() + b * qRows,
                          hlse.begin() + (b + 1) * qRows);
    // Its keys and values, gathered from its pages.
    for (int64_t head = 0; head < kvHeads; ++head)
      for (int64_t row = 0; row < lens[b]; ++row) {
        int64_t at = table[b * maxPages + row / page];
        auto from = ((at * kvHeads + head) * page + row % page) * d;
        sequence.k.insert(sequence.k.end(), hk.begin() + from,
                          hk.begin() + from + d);
        sequence.v.insert(sequence.v.end(), hv.begin() + from,
                          hv.begin() + from + d);
      }
    flops += sequenceFlops(heads, seqQ, lens[b], d, bundle.causal);
  }
  std::string header = "shape batch=" + std::to_string(batch) +
                       " heads=" + std::to_string(heads);
  if (kvHeads != heads)
    header += " kv_heads=" + std::to_string(kvHeads);
  header += " seq_q=" + std::to_string(seqQ) +
            " page_size=" + std::to_string(page) +
            " pages=" + std::to_string(pages) +
            " max_pages=" + std::to_string(maxPages);
  return report(header, checked, deterministic, flops);
}

RunStatus flashc::runPackedBundle(const KernelBundle &bundle,
                                  const std::string &bundleText,
                                  const RunOptions &options, std::ostream &out,
                                  std::ostream &err) {
  if (bundle.modified && !options.modifiers) {
    err << "flashc: error: the kernel modifies its scores (score_mod, "
           "mask_mod): its float64 reference needs the source's regions; "
           "run the source with `flashc FILE --run`\n";
    return kRunError;
  }
  PackedRun run(bundle, options, out, err);
  return bundle.varlen ? run.runVarlen(bundleText) : run.runPaged(bundleText);
}
