#include "base/error.hpp"

#include <utility>

namespace keel {

namespace {

// The longest message an Error keeps, and the longest node/op/plugin name or
// file name it quotes. Readers cut the text they quote far shorter
// (printable()); these bounds are the safety net for everything else, so a
// hostile input (a 200,000-dimension shape) cannot make a 600 KB line.
constexpr std::size_t kMaxMessageBytes = 800;
constexpr std::size_t kMaxFileBytes = 400;  // real paths run long; no real one is longer
constexpr std::size_t kMaxNameBytes = 200;

// A bidirectional-text control (U+202A-U+202E, U+2066-U+2069) starting at
// s[i], as its code point; 0 if none. These reorder what a terminal shows,
// so a file name or node name holding one could make a message read
// differently from what it says (CVE-2021-42574's "trojan source").
unsigned bidi_control_at(const std::string& s, std::size_t i) {
  if (i + 2 >= s.size() || static_cast<unsigned char>(s[i]) != 0xe2) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]), b2 = static_cast<unsigned char>(s[i + 2]);
  if (b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) return 0x2000u + (b2 - 0x80u);
  if (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9) return 0x2040u + (b2 - 0x80u);
  return 0;
}

bool needs_escaping(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u == 0x7f || bidi_control_at(s, i)) return true;
  }
  return false;
}

// Messages quote what users and plugins wrote (keys, names, statuses); a
// control character there would break the one-line error contract or drive
// the terminal, so every one is shown escaped, bidi controls included.
std::string one_line(std::string s) {
  static const char* hex = "0123456789abcdef";
  if (!needs_escaping(s)) return s;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (const unsigned cp = bidi_control_at(s, i)) {
      out += std::string("\\u") + hex[(cp >> 12) & 15] + hex[(cp >> 8) & 15] + hex[(cp >> 4) & 15] +
             hex[cp & 15];
      i += 2;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += std::string("\\x") + hex[u >> 4] + hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// The first `limit` bytes of `s`, moved back to a UTF-8 character boundary
// so the cut never leaves half a character.
std::string_view utf8_prefix(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return s;
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n);
}

// One line, at most `limit` bytes before escaping, "..." marking a cut.
std::string bounded(std::string_view s, std::size_t limit) {
  std::string out = one_line(std::string(utf8_prefix(s, limit)));
  return s.size() > limit ? out + "..." : out;
}

}  // namespace

std::string printable(std::string_view s, std::size_t limit) { return bounded(s, limit); }

Error::Error(ExitCode code, std::string message, SourceLoc loc, ErrorSubject subject)
    : std::runtime_error(bounded(message, kMaxMessageBytes)),
      code_(code),
      message_(bounded(message, kMaxMessageBytes)),
      loc_(std::move(loc)),
      subject_(std::move(subject)) {
  loc_.file = bounded(loc_.file, kMaxFileBytes);
  subject_.node = bounded(subject_.node, kMaxNameBytes);
  subject_.op = bounded(subject_.op, kMaxNameBytes);
  subject_.plugin = bounded(subject_.plugin, kMaxNameBytes);
}

std::string Error::format() const {
  std::string out;
  if (!loc_.file.empty()) {
    out += loc_.file;
    if (loc_.line > 0) {
      out += ':';
      out += std::to_string(loc_.line);
      if (loc_.col > 0) {  // 0: unknown, as for a whole line of a line-based file
        out += ':';
        out += std::to_string(loc_.col);
      }
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
