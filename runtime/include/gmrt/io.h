//===- io.h - whole-file reads and crash-safe writes ---------------*- C++ -*-===//

#ifndef GMRT_IO_H
#define GMRT_IO_H

#include "runtime/include/gmrt/status.h"

#include <string>

namespace gmrt {

/// Reads all of |path| into |out|; fails naming the file and the OS reason.
Status readFile(const std::string &path, std::string &out);

/// Writes |bytes| to |path| so that a crash never leaves a torn file: the
/// bytes go to "<path>.tmp", are flushed to disk, and the temporary is
/// renamed over |path| (atomic on POSIX file systems).
Status writeFileAtomic(const std::string &path, const std::string &bytes);

} // namespace gmrt

#endif // GMRT_IO_H
