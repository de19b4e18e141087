//===- Bundle.cpp - kernel bundle text format -----------------------------===//

#include "flashc/Runtime/Bundle.h"

#include <climits>
#include <cstdlib>
#include <sstream>

using namespace flashc;

static const char kMagic[] = "flashc-bundle";

std::string KernelBundle::params() const {
  std::string list = "memref4:q memref4:k memref4:v memref4:o";
  if (lse)
    list += " memref3:lse";
  if (varlen)
    list += " memref1:cu_seqlens_q memref1:cu_seqlens_k";
  if (paged)
    list += " memref2:block_table memref1:seqlens_k";
  for (size_t i = 0; i < captures.size(); ++i) {
    const CaptureInfo &capture = captures[i];
    list += capture.memref ? " memref" + std::to_string(capture.sizes.size())
                           : " " + capture.type;
    list += ":capture" + std::to_string(i);
  }
  if (!blockMapKernel.empty())
    list += " memref1:block_map";
  if (kvSplits > 1)
    list += " memref1:partials memref1:counters";
  if (tensorMaps)
    list += " tensormap:k tensormap:v";
  return list;
}

/// `capture memref <type> <rank> <sizes...>` or `capture scalar <type>`.
static std::string captureLine(const CaptureInfo &capture) {
  std::string line = "capture ";
  line += capture.memref ? "memref " : "scalar ";
  line += capture.type;
  if (capture.memref) {
    line += " " + std::to_string(capture.sizes.size());
    for (int64_t size : capture.sizes)
      line += " " + std::to_string(size);
  }
  return line;
}

std::string flashc::serializeBundle(const KernelBundle &b) {
  std::ostringstream os;
  os << kMagic << " " << KernelBundle::kVersion << "\n";
  os << "kernel " << b.kernelName << "\n";
  os << "arch " << b.arch << "\n";
  os << "element " << b.elementType << "\n";
  os << "head_dim " << b.headDim << "\n";
  os << "causal " << (b.causal ? 1 : 0) << "\n";
  os.precision(9);
  os << "scale " << b.scale << "\n";
  os << "block_m " << b.blockM << "\n";
  os << "block_n " << b.blockN << "\n";
  os << "stages " << b.stages << "\n";
  os << "warps " << b.warps << "\n";
  os << "strategy " << b.strategy << "\n";
  if (b.bottomRight)
    os << "bottom_right 1\n";
  if (b.strided)
    os << "strided 1\n";
  if (b.lse)
    os << "lse 1\n";
  if (b.varlen)
    os << "varlen 1\n";
  if (b.paged)
    os << "paged 1\n";
  // Static sizes of the tables, where compiled so (the launch must match).
  if (b.sequences >= 0)
    os << "sequences " << b.sequences << "\n";
  if (b.pages >= 0)
    os << "pages " << b.pages << "\n";
  if (b.maxPages >= 0)
    os << "max_pages " << b.maxPages << "\n";
  if (b.modified)
    os << "modified 1\n";
  if (b.tensorMaps)
    os << "tensor_maps 1\n";
  for (const CaptureInfo &capture : b.captures)
    os << captureLine(capture) << "\n";
  static const char *rows[] = {"shared", "per_batch", "per_batch_head"};
  if (!b.blockMapKernel.empty())
    os << "block_map " << b.blockMapKernel << " " << rows[b.blockMapRows]
       << "\n";
  if (b.kvSplits > 1)
    os << "kv_splits " << b.kvSplits << "\n";
  os << "threads " << b.threads << "\n";
  os << "shared_bytes " << b.sharedBytes << "\n";
  os << "shape " << b.batch << " " << b.heads << " " << b.seqQ << " " << b.seqK
     << "\n";
  os << "kv_heads " << b.kvHeads << "\n";
  os << "params " << b.params() << "\n";
  os << "ptx " << b.ptx.size() << "\n";
  os << b.ptx;
  if (!b.cubin.empty())
    os << "\ncubin " << b.cubinArch << " " << b.cubin.size() << "\n" << b.cubin;
  return os.str();
}

static bool parseInt(const std::string &text, int64_t &value) {
  char *end = nullptr;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0')
    return false;
  value = parsed;
  return true;
}

namespace {
/// The header's integer keys and the fields they set.
struct IntegerKey {
  const char *name;
  int64_t KernelBundle::*field;
};
const IntegerKey kIntegerKeys[] = {
    {"head_dim", &KernelBundle::headDim},
    {"block_m", &KernelBundle::blockM},
    {"block_n", &KernelBundle::blockN},
    {"stages", &KernelBundle::stages},
    {"warps", &KernelBundle::warps},
    {"kv_splits", &KernelBundle::kvSplits},
    {"kv_heads", &KernelBundle::kvHeads},
    {"threads", &KernelBundle::threads},
    {"shared_bytes", &KernelBundle::sharedBytes},
    {"sequences", &KernelBundle::sequences},
    {"pages", &KernelBundle::pages},
    {"max_pages", &KernelBundle::maxPages},
};

/// Reads a bundle's text line by line, and the bytes after a line.
struct Reader {
  std::string_view text;
  size_t pos = 0;

  bool nextLine(std::string &line) {
    if (pos >= text.size())
      return false;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    line = std::string(text.substr(pos, end - pos));
    pos = end + 1;
    return true;
  }
  /// The next `bytes` bytes, if there are that many.
  bool take(int64_t bytes, std::string &out) {
    if (bytes <= 0 || pos + static_cast<size_t>(bytes) > text.size())
      return false;
    out = std::string(text.substr(pos, bytes));
    pos += bytes;
    return true;
  }
};
} // namespace

static bool isCaptureType(const std::string &type) {
  for (const char *known :
       {"f16", "bf16", "f32", "f64", "i1", "i8", "i16", "i32", "i64", "index"})
    if (type == known)
      return true;
  return false;
}

static bool parseCapture(const std::string &value, KernelBundle &b,
                         std::string &error) {
  std::istringstream is(value);
  std::string kind;
  CaptureInfo capture;
  is >> kind >> capture.type;
  capture.memref = kind == "memref";
  bool ok = (capture.memref || kind == "scalar") && isCaptureType(capture.type);
  if (ok && !capture.memref &&
      (capture.type == "f16" || capture.type == "bf16" ||
       capture.type == "i1" || capture.type == "i8" || capture.type == "i16"))
    ok = false; // scalars the launch API passes: i32, i64, index, f32, f64
  int64_t rank = 0;
  if (ok && capture.memref) {
    ok = static_cast<bool>(is >> rank) && rank >= 1 && rank <= 8;
    for (int64_t i = 0; ok && i < rank; ++i) {
      int64_t size = 0;
      ok = static_cast<bool>(is >> size) && size >= -1;
      capture.sizes.push_back(size);
    }
  }
  std::string rest;
  if (!ok || (is >> rest)) {
    error = "bundle: malformed capture '" + value +
            "' (memref <type> <rank 1-8> <sizes> or scalar <i32|i64|index|"
            "f32|f64>)";
    return false;
  }
  b.captures.push_back(std::move(capture));
  return true;
}

/// One `key value` line of the header (not `ptx`) into `b`; `params` keeps
/// the parameter list for the final check.
static bool parseHeaderLine(const std::string &key, const std::string &value,
                            KernelBundle &b, std::string &params,
                            std::string &error) {
  for (const IntegerKey &integer : kIntegerKeys) {
    if (key != integer.name)
      continue;
    if (parseInt(value, b.*integer.field))
      return true;
    error = "bundle: '" + key + "' needs an integer, got '" + value + "'";
    return false;
  }
  if (key == "kernel") {
    b.kernelName = value;
  } else if (key == "arch") {
    b.arch = value;
  } else if (key == "strategy") {
    b.strategy = value;
  } else if (key == "block_map") {
    std::istringstream is(value);
    std::string rows;
    is >> b.blockMapKernel >> rows;
    b.blockMapRows = rows == "shared" ? 0 : rows == "per_batch" ? 1 : 2;
    if (b.blockMapKernel.empty() ||
        (rows != "shared" && rows != "per_batch" && rows != "per_batch_head")) {
      error = "bundle: 'block_map' needs a kernel name and shared, "
              "per_batch or per_batch_head, got '" +
              value + "'";
      return false;
    }
  } else if (key == "params") {
    params = value;
  } else if (key == "element") {
    if (value != "f16" && value != "bf16") {
      error = "bundle: element must be f16 or bf16, got '" + value + "'";
      return false;
    }
    b.elementType = value;
  } else if (key == "causal" || key == "bottom_right" || key == "lse" ||
             key == "modified" || key == "strided" || key == "varlen" ||
             key == "paged" || key == "tensor_maps") {
    int64_t flag = 0;
    if (!parseInt(value, flag)) {
      error = "bundle: '" + key + "' needs an integer, got '" + value + "'";
      return false;
    }
    bool &field = key == "causal"         ? b.causal
                  : key == "bottom_right" ? b.bottomRight
                  : key == "lse"          ? b.lse
                  : key == "strided"      ? b.strided
                  : key == "varlen"       ? b.varlen
                  : key == "paged"        ? b.paged
                  : key == "tensor_maps"  ? b.tensorMaps
                                          : b.modified;
    field = flag != 0;
  } else if (key == "capture") {
    return parseCapture(value, b, error);
  } else if (key == "scale") {
    char *end = nullptr;
    b.scale = std::strtof(value.c_str(), &end);
    if (value.empty() || *end != '\0') {
      error = "bundle: 'scale' needs a number, got '" + value + "'";
      return false;
    }
  } else if (key == "shape") {
    std::istringstream is(value);
    if (!(is >> b.batch >> b.heads >> b.seqQ >> b.seqK)) {
      error = "bundle: 'shape' needs four integers";
      return false;
    }
  } else {
    error = "bundle: unknown key '" + key + "'";
    return false;
  }
  return true;
}

/// The PTX of `bytes` bytes, then optionally "\ncubin <arch> <bytes>\n" and
/// the binary.
static bool parsePayload(Reader &reader, const std::string &bytesText,
                         KernelBundle &b, std::string &error) {
  int64_t bytes = 0;
  if (!parseInt(bytesText, bytes)) {
    error = "bundle: 'ptx' needs an integer, got '" + bytesText + "'";
    return false;
  }
  if (!reader.take(bytes, b.ptx)) {
    error =
        "bundle: truncated PTX (" + std::to_string(bytes) + " bytes announced)";
    return false;
  }
  if (reader.pos >= reader.text.size())
    return true;
  std::string line;
  if (!reader.nextLine(line) || !line.empty() || !reader.nextLine(line) ||
      line.rfind("cubin ", 0) != 0) {
    error = "bundle: unexpected data after the PTX";
    return false;
  }
  std::istringstream is(line.substr(6));
  int64_t cubinBytes = 0;
  if (!(is >> b.cubinArch >> cubinBytes) || !reader.take(cubinBytes, b.cubin)) {
    error = "bundle: malformed or truncated cubin section";
    return false;
  }
  return true;
}

/// What an optional integer key holds until it is read.
constexpr int64_t kAbsent = INT64_MIN;

/// The checks of a whole bundle, once every key is read.
static bool validate(const KernelBundle &b, const std::string &params,
                     std::string &error) {
  if (b.kernelName.empty() || b.ptx.empty()) {
    error = "bundle: missing 'kernel' or 'ptx'";
    return false;
  }
  if (b.blockM <= 0 || b.blockN <= 0 || b.stages <= 0 || b.warps <= 0 ||
      b.threads <= 0 || b.headDim <= 0 || b.sharedBytes <= 0 ||
      b.elementType.empty() || b.arch.rfind("sm_", 0) != 0 ||
      !(b.scale > 0.0f)) {
    error = "bundle: missing or invalid block_m, block_n, stages, warps, "
            "threads, head_dim, shared_bytes, element, arch or scale";
    return false;
  }
  if (b.kvSplits < 1 || b.kvSplits > 16) {
    error = "bundle: kv_splits must be between 1 and 16";
    return false;
  }
  if (!params.empty() && params != b.params()) {
    error = "bundle: parameter list '" + params +
            "' disagrees with the header, which needs '" + b.params() + "'";
    return false;
  }
  // A producer warpgroup (policy prefetch = producer, wgmma only) adds 128
  // threads (kProducerThreads) to the warps that compute.
  bool producer = b.strategy == "wgmma" && b.threads == 32 * b.warps + 128;
  if (b.threads != 32 * b.warps && !producer) {
    error = "bundle: threads must be 32 * warps, or 32 * warps + 128 with a "
            "producer warpgroup (strategy wgmma)";
    return false;
  }
  // TMA copies whole 64-column boxes of plain (not packed, not paged) K
  // and V into wgmma's swizzled tiles, issued by a producer warpgroup.
  if (b.tensorMaps && (!producer || b.headDim % 64 != 0 || b.varlen ||
                       b.paged || b.blockN > 256)) {
    error = "bundle: tensor_maps needs strategy wgmma with a producer "
            "warpgroup, head_dim a multiple of 64, block_n at most 256, and "
            "K/V neither varlen nor paged";
    return false;
  }
  if (b.kvHeads == 0 || b.kvHeads < -1 ||
      (b.kvHeads > 0 && b.heads > 0 && b.heads % b.kvHeads != 0)) {
    error = "bundle: kv_heads must be -1 (dynamic) or a divisor of heads";
    return false;
  }
  return true;
}

bool flashc::parseBundle(std::string_view text, KernelBundle &b,
                         std::string &error) {
  b = KernelBundle();
  Reader reader{text};
  std::string line;
  if (!reader.nextLine(line) || line.rfind(kMagic, 0) != 0) {
    error = "not a flashc bundle (no 'flashc-bundle' header)";
    return false;
  }
  if (line !=
      std::string(kMagic) + " " + std::to_string(KernelBundle::kVersion)) {
    error = "unsupported bundle version: '" + line + "'";
    return false;
  }
  std::string params; // checked against kv_splits once all keys are read
  b.kvHeads = kAbsent;
  while (reader.nextLine(line)) {
    size_t space = line.find(' ');
    std::string key = line.substr(0, space);
    std::string value =
        space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "ptx") {
      if (!parsePayload(reader, value, b, error))
        return false;
      break;
    }
    if (!parseHeaderLine(key, value, b, params, error))
      return false;
  }
  // Without `kv_heads`, K and V have Q's heads.
  if (b.kvHeads == kAbsent)
    b.kvHeads = b.heads;
  return validate(b, params, error);
}
