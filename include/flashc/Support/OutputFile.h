//===- OutputFile.h - writing a result where the user asked -----*- C++ -*-===//

#ifndef FLASHC_SUPPORT_OUTPUTFILE_H
#define FLASHC_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace flashc {

/// Writes `text` to `path` ("-" is standard output). A regular file or a new
/// path is replaced atomically (a temporary file in the same directory,
/// renamed into place), so a failed write never leaves it half-written; a
/// symbolic link is followed and the file it names is replaced, not the
/// link. Anything else (a FIFO, a device, /dev/stdout) is written in place,
/// since replacing it would destroy it. Returns "" on success, else one
/// line naming the path and the cause.
std::string writeOutputFile(llvm::StringRef path, llvm::StringRef text);

} // namespace flashc

#endif // FLASHC_SUPPORT_OUTPUTFILE_H
