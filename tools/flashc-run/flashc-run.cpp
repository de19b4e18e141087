//===- flashc-run.cpp - run a kernel bundle and check it ------------------===//
//
// flashc-run BUNDLE [--batch N --heads N --kv-heads N --seq N --seq-k N]
//                   [--seq-lens L,L,... --seq-lens-k L,L,... --page-size N]
//                   [--kv-splits N] [--seed N]
//                   [--iters N] [--warmup N] [--device N]
//
// The MLIR-free half of `flashc FILE --run`, for GPU machines without MLIR.
//
//===----------------------------------------------------------------------===//

#include "flashc/Runtime/Runner.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

static void usage(std::ostream &os) {
  os << "usage: flashc-run BUNDLE [--batch N] [--heads N] [--kv-heads N] "
        "[--seq N]\n"
        "                  [--seq-k N] [--kv-splits N] [--seed N] [--iters N]\n"
        "                  [--warmup N] [--device N]\n"
        "                  [--seq-lens L,L,...] [--seq-lens-k L,L,...] "
        "[--page-size N]\n"
        "Runs a flashc kernel bundle on seeded random inputs, checks it "
        "against a\nfloat64 reference, and times it. Exit: 0 pass, 1 wrong, 2 "
        "no GPU, 3 error.\n"
        "Varlen kernels take each sequence's lengths (--seq-lens, "
        "--seq-lens-k;\ndefault 1,17,130,64), paged ones each sequence's key "
        "length (--seq-lens-k)\nand the page size (--page-size, if "
        "dynamic).\n";
}

int main(int argc, char **argv) {
  flashc::RunOptions options;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    }
    auto value = [&](int64_t &field) {
      if (i + 1 >= argc) {
        std::cerr << "flashc-run: error: " << arg << " needs a value\n";
        return false;
      }
      char *end = nullptr;
      long long parsed = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || parsed < 0) {
        std::cerr << "flashc-run: error: " << arg
                  << " needs a non-negative integer, got '" << argv[i] << "'\n";
        return false;
      }
      field = parsed;
      return true;
    };
    // A comma-separated list of non-negative integers.
    auto list = [&](std::vector<int64_t> &field) {
      if (i + 1 >= argc) {
        std::cerr << "flashc-run: error: " << arg << " needs a value\n";
        return false;
      }
      field.clear();
      std::stringstream items(argv[++i]);
      std::string item;
      while (std::getline(items, item, ',')) {
        char *end = nullptr;
        long long parsed = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || parsed < 0) {
          std::cerr << "flashc-run: error: " << arg
                    << " needs non-negative integers separated by commas, "
                       "got '"
                    << argv[i] << "'\n";
          return false;
        }
        field.push_back(parsed);
      }
      return true;
    };
    int64_t number = 0;
    bool ok = true;
    if (arg == "--batch")
      ok = value(options.batch);
    else if (arg == "--heads")
      ok = value(options.heads);
    else if (arg == "--kv-heads")
      ok = value(options.kvHeads);
    else if (arg == "--seq")
      ok = value(options.seqQ);
    else if (arg == "--kv-splits")
      ok = value(options.kvSplits);
    else if (arg == "--seq-k")
      ok = value(options.seqK);
    else if (arg == "--seq-lens")
      ok = list(options.seqLensQ);
    else if (arg == "--seq-lens-k")
      ok = list(options.seqLensK);
    else if (arg == "--page-size")
      ok = value(options.pageSize);
    else if (arg == "--seed" && (ok = value(number)))
      options.seed = number;
    else if (arg == "--iters" && (ok = value(number)))
      options.iters = static_cast<int>(number);
    else if (arg == "--warmup" && (ok = value(number)))
      options.warmup = static_cast<int>(number);
    else if (arg == "--device" && (ok = value(number)))
      options.device = static_cast<int>(number);
    else if (!arg.empty() && arg[0] == '-' && arg != "--seed" &&
             arg != "--iters" && arg != "--warmup" && arg != "--device") {
      std::cerr << "flashc-run: error: unknown option '" << arg << "'\n";
      usage(std::cerr);
      return 3;
    } else if (arg[0] != '-') {
      path = arg;
    }
    if (!ok)
      return 3;
  }
  if (path.empty()) {
    usage(std::cerr);
    return 3;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cerr << "flashc-run: error: cannot read '" << path << "'\n";
    return 3;
  }
  std::stringstream text;
  text << file.rdbuf();
  return flashc::runBundle(text.str(), options, std::cout, std::cerr);
}
