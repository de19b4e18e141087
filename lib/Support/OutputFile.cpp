//===- OutputFile.cpp - writing a result where the user asked -------------===//

#include "flashc/Support/OutputFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <climits>
#include <unistd.h>

using namespace llvm;

static std::string cannotWrite(StringRef path, const Twine &cause) {
  return ("cannot write '" + path + "': " + cause).str();
}

/// The path a dangling symbolic link names (the file to create), following
/// chains of links; `path` itself if it is not a link.
static std::string followDanglingLink(StringRef path) {
  std::string current = path.str();
  for (int depth = 0; depth < 40; ++depth) {
    char target[PATH_MAX];
    ssize_t length = ::readlink(current.c_str(), target, sizeof(target) - 1);
    if (length < 0)
      return current;
    StringRef next(target, length);
    if (sys::path::is_absolute(next)) {
      current = next.str();
      continue;
    }
    SmallString<256> joined(sys::path::parent_path(current));
    sys::path::append(joined, next);
    current = joined.str().str();
  }
  return current;
}

/// Writes through a temporary file renamed over `target`.
static std::string replaceAtomically(StringRef path, StringRef target,
                                     StringRef text) {
  Error err = writeToOutput(target, [&](raw_ostream &os) {
    os << text;
    return Error::success();
  });
  if (!err)
    return "";
  std::string cause;
  handleAllErrors(std::move(err), [&](const ErrorInfoBase &info) {
    cause = info.convertToErrorCode().message();
  });
  return cannotWrite(path, cause);
}

/// Opens `path` as it is (following links) and writes into it.
static std::string writeInPlace(StringRef path, StringRef text) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return cannotWrite(path, ec.message());
  os << text;
  os.close();
  if (os.has_error()) {
    ec = os.error();
    os.clear_error();
    return cannotWrite(path, ec.message());
  }
  return "";
}

std::string flashc::writeOutputFile(StringRef path, StringRef text) {
  if (path == "-") {
    outs() << text;
    outs().flush();
    if (std::error_code ec = outs().error()) {
      outs().clear_error();
      return "cannot write standard output: " + ec.message();
    }
    return "";
  }
  sys::fs::file_status status;
  std::error_code statusError = sys::fs::status(path, status);
  if (statusError == std::errc::no_such_file_or_directory)
    return replaceAtomically(path, followDanglingLink(path), text);
  if (statusError)
    return cannotWrite(path, statusError.message());
  if (!sys::fs::is_regular_file(status))
    return writeInPlace(path, text);
  SmallString<256> target;
  if (std::error_code ec = sys::fs::real_path(path, target))
    return cannotWrite(path, ec.message());
  return replaceAtomically(path, target, text);
}
