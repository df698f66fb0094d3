// The error type of the plugin boundary. Ops return Status; the engine adds
// the node, op and plugin names and the source position when it reports it.
// Ops may also throw (std::exception): the engine converts the exception at
// the boundary into the same kind of error, so nothing escapes unconverted.
#pragma once

#include <sstream>
#include <string>
#include <utility>

namespace keel {

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status Ok() { return {}; }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string m) : failed_(true), message_(std::move(m)) {}
  bool failed_ = false;
  std::string message_;
};

// Builds a failed Status from streamable parts: fail("expected rank 2, got ", r).
template <class... Parts>
Status fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return Status::Error(os.str());
}

}  // namespace keel

#define KEEL_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::keel::Status keel_status_ = (expr);        \
    if (!keel_status_.ok()) return keel_status_; \
  } while (0)
