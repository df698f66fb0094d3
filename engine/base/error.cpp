#include "base/error.hpp"

#include <algorithm>
#include <utility>

namespace keel {

namespace {

// Messages quote what users and plugins wrote (keys, names, statuses); a
// control character there would break the one-line error contract or drive
// the terminal, so every one is shown escaped.
std::string one_line(std::string s) {
  static const char* hex = "0123456789abcdef";
  if (std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return s;
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      out += std::string("\\x") + hex[u >> 4] + hex[u & 15];
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string printable(std::string_view s, std::size_t limit) {
  std::string out = one_line(std::string(s.substr(0, limit)));
  return s.size() > limit ? out + "..." : out;
}

Error::Error(ExitCode code, std::string message, SourceLoc loc, ErrorSubject subject)
    : std::runtime_error(one_line(message)),
      code_(code),
      message_(one_line(std::move(message))),
      loc_(std::move(loc)),
      subject_(std::move(subject)) {
  loc_.file = one_line(std::move(loc_.file));
}

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
