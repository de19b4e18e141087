//===- Ptxas.cpp - optional ahead-of-time assembly with ptxas -------------===//

#include "flashc/Target/Ptxas.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;
using namespace mlir;

std::string flash::findPtxas() {
  if (ErrorOr<std::string> onPath = sys::findProgramByName("ptxas"))
    return *onPath;
  SmallVector<std::string> roots;
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *value = std::getenv(var))
      roots.push_back(value);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    SmallString<256> path(root);
    sys::path::append(path, "bin", "ptxas");
    if (sys::fs::can_execute(path))
      return std::string(path);
  }
  return "";
}

flash::PtxasResult flash::runPtxas(StringRef ptxas, StringRef ptx,
                                   StringRef arch) {
  PtxasResult result;
  SmallString<128> ptxPath, cubinPath, logPath;
  int fd = -1;
  if (sys::fs::createTemporaryFile("flashc", "ptx", fd, ptxPath) ||
      sys::fs::createTemporaryFile("flashc", "cubin", cubinPath) ||
      sys::fs::createTemporaryFile("flashc", "log", logPath)) {
    result.report = "cannot create temporary files for ptxas";
    return result;
  }
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << ptx;
  }
  std::string archFlag = ("-arch=" + arch).str();
  SmallVector<StringRef> args = {ptxas,   "-v", "-O3",    archFlag,
                                 ptxPath, "-o", cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  std::string error;
  int rc =
      sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 120, 0, &error);
  if (auto log = MemoryBuffer::getFile(logPath))
    result.report = (*log)->getBuffer().str();
  if (rc != 0) {
    if (!error.empty())
      result.report += error;
  } else if (auto cubin = MemoryBuffer::getFile(cubinPath, false, false)) {
    result.cubin = (*cubin)->getBuffer().str();
    result.ok = true;
  }
  sys::fs::remove(ptxPath);
  sys::fs::remove(cubinPath);
  sys::fs::remove(logPath);
  return result;
}

flash::SpillFigures flash::parseSpillFigures(StringRef report) {
  // "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"
  SpillFigures figures;
  auto figure = [](StringRef line, StringRef what) -> int64_t {
    size_t at = line.find(what);
    if (at == StringRef::npos)
      return 0;
    StringRef before = line.take_front(at).rtrim();
    StringRef number = before.substr(before.find_last_of(" ,:") + 1);
    int64_t value = 0;
    return number.getAsInteger(10, value) ? 0 : value;
  };
  SmallVector<StringRef> lines;
  report.split(lines, '\n');
  for (StringRef line : lines) {
    figures.stackFrame += figure(line, "bytes stack frame");
    figures.spillStores += figure(line, "bytes spill stores");
    figures.spillLoads += figure(line, "bytes spill loads");
  }
  return figures;
}
