#include "base/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace keel {

std::string json_quote(std::string_view s) {
  // The characters with a short escape, and their escapes in the same order;
  // other control characters get the six-character hexadecimal escape.
  static constexpr std::string_view kShort = "\"\\\n\r\t";
  static const char* const kEscapes[] = {"\\\"", "\\\\", "\\n", "\\r", "\\t"};
  std::string out = "\"";
  for (char c : s) {
    if (const std::size_t i = kShort.find(c); i != std::string_view::npos) {
      out += kEscapes[i];
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, end);
}

}  // namespace keel
