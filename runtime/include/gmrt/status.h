//===- status.h - the runtime's error value -----------------------*- C++ -*-===//
//
// Every runtime function that can fail returns a Status: ok, or a message
// that names the file or object at fault and what is wrong with it, ready to
// print as "gmrun: error: <message>".
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_STATUS_H
#define GMRT_STATUS_H

#include <string>
#include <utility>

namespace gmrt {

class Status {
public:
  /// Success.
  Status() = default;
  /// Failure with |message| (lowercase, no "error:" prefix).
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed; }
  explicit operator bool() const { return ok(); }
  /// The failure's message; empty on success.
  const std::string &message() const { return text; }

private:
  explicit Status(std::string message) : failed(true), text(std::move(message)) {}
  bool failed = false;
  std::string text;
};

} // namespace gmrt

#endif // GMRT_STATUS_H
