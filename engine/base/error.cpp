#include "base/error.hpp"

#include <utility>

namespace keel {

Error::Error(ExitCode code, std::string message, SourceLoc loc, ErrorSubject subject)
    : std::runtime_error(message),
      code_(code),
      message_(std::move(message)),
      loc_(std::move(loc)),
      subject_(std::move(subject)) {}

std::string Error::format() const {
  std::string out;
  if (!loc_.file.empty()) {
    out += loc_.file;
    if (loc_.line > 0) {
      out += ':';
      out += std::to_string(loc_.line);
      out += ':';
      out += std::to_string(loc_.col);
    }
    out += ": ";
  }
  out += message_;
  std::string who;
  auto add = [&](const char* what, const std::string& v) {
    if (v.empty()) return;
    who += who.empty() ? " (" : ", ";
    who += what;
    who += " '";
    who += v;
    who += '\'';
  };
  add("node", subject_.node);
  add("op", subject_.op);
  add("plugin", subject_.plugin);
  if (!who.empty()) out += who + ")";
  return out;
}

Error usage_error(std::string message, SourceLoc loc, ErrorSubject subject) {
  return Error(ExitCode::usage, std::move(message), std::move(loc), std::move(subject));
}

Error runtime_error(std::string message, SourceLoc loc, ErrorSubject subject) {
  return Error(ExitCode::runtime, std::move(message), std::move(loc), std::move(subject));
}

}  // namespace keel
