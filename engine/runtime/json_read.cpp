#include "runtime/json_read.hpp"

#include <charconv>
#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "keel/schema.hpp"

namespace keel {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& source, const JsonLimits& limits)
      : s_(text), source_(source), limits_(limits) {}

  JsonValue document() {
    if (s_.size() > limits_.max_bytes)
      fail(0, "document of " + std::to_string(s_.size()) + " bytes exceeds the limit of " +
                  std::to_string(limits_.max_bytes));
    skip_space();
    JsonValue v = value(0);
    skip_space();
    if (!at_end()) fail(pos_, "unexpected " + found() + " after the document");
    return v;
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_space() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  std::string found() const {
    if (at_end()) return "end of input";
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
    return buf;
  }

  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw usage_error("JSON error at byte " + std::to_string(at) + ": " + what, {source_});
  }

  JsonValue value(int depth) {
    if (++values_ > limits_.max_values)
      fail(pos_, "more than " + std::to_string(limits_.max_values) + " values");
    switch (peek()) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"': {
        JsonValue v;
        v.kind = JsonValue::Kind::string;
        v.text = string();
        return v;
      }
      case 't':
        return literal("true", JsonValue::Kind::boolean, true);
      case 'f':
        return literal("false", JsonValue::Kind::boolean, false);
      case 'n':
        return literal("null", JsonValue::Kind::null, false);
      default:
        if (peek() == '-' || is_digit(peek())) return number();
        fail(pos_, "expected a value, found " + found());
    }
  }

  void enter(int depth) const {
    if (depth > limits_.max_depth)
      fail(pos_, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  // An object or an array from its opening bracket: `element` reads one
  // member or item into `v`, as many as there are before `close`.
  template <class Element>
  JsonValue container(int depth, JsonValue::Kind kind, char close, const char* where, Element element) {
    enter(depth);
    JsonValue v;
    v.kind = kind;
    ++pos_;
    skip_space();
    if (peek() == close) {
      ++pos_;
      return v;
    }
    for (;;) {
      element(v);
      skip_space();
      if (peek() == close) {
        ++pos_;
        return v;
      }
      if (peek() != ',')
        fail(pos_, std::string("expected ',' or '") + close + "' in " + where + ", found " + found());
      ++pos_;
      skip_space();
    }
  }

  JsonValue object(int depth) {
    return container(depth, JsonValue::Kind::object, '}', "an object", [&](JsonValue& v) {
      if (peek() != '"') fail(pos_, "expected a string key, found " + found());
      std::string key = string();
      skip_space();
      if (peek() != ':') fail(pos_, "expected ':' after key, found " + found());
      ++pos_;
      skip_space();
      v.members.push_back(JsonMember{std::move(key), value(depth)});
    });
  }

  JsonValue array(int depth) {
    return container(depth, JsonValue::Kind::array, ']', "an array",
                     [&](JsonValue& v) { v.items.push_back(value(depth)); });
  }

  JsonValue literal(std::string_view word, JsonValue::Kind kind, bool b) {
    if (s_.substr(pos_, word.size()) != word) fail(pos_, "expected a value, found " + found());
    pos_ += word.size();
    JsonValue v;
    v.kind = kind;
    v.boolean = b;
    return v;
  }

  void digits(const char* after) {
    if (!is_digit(peek())) fail(pos_, std::string("expected a digit ") + after + ", found " + found());
    while (is_digit(peek())) ++pos_;
  }

  JsonValue number() {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
      if (is_digit(peek())) fail(start, "leading zeros are not allowed in numbers");
    } else {
      digits("in a number");
    }
    if (peek() == '.') {
      ++pos_;
      digits("after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      digits("in the exponent");
    }
    JsonValue v;
    v.kind = JsonValue::Kind::number;
    v.text = std::string(s_.substr(start, pos_ - start));
    // RFC 8259 lets a reader limit the range of numbers; outside a double's
    // range the value could only be a silent infinity or zero.
    const auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), v.number);
    if (ec != std::errc{} || end != v.text.data() + v.text.size())
      fail(start, "number " + v.text + " is outside the range of a double");
    return v;
  }

  std::uint32_t hex4() {
    std::uint32_t cp = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex_value(peek());
      if (h < 0) fail(pos_, "expected 4 hex digits after \\u, found " + found());
      cp = cp * 16 + static_cast<std::uint32_t>(h);
      ++pos_;
    }
    return cp;
  }

  void escape(std::string& out) {
    const std::size_t start = pos_;
    ++pos_;  // the backslash
    const char c = peek();
    ++pos_;
    switch (c) {
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case '/':
        out += '/';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        break;
      default:
        --pos_;
        fail(start, "invalid escape \\" + (at_end() ? std::string() : std::string(1, c)) + " in a string");
    }
    std::uint32_t cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) fail(start, "lone low surrogate in a \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s_.substr(pos_, 2) != "\\u") fail(start, "high surrogate not followed by a low surrogate");
      pos_ += 2;
      const std::uint32_t low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail(start, "high surrogate not followed by a low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, cp);
  }

  // Length of the UTF-8 sequence at pos_ (RFC 3629: no overlong forms, no
  // surrogates, nothing above U+10FFFF), or 0 when it is invalid.
  std::size_t utf8_length() const {
    auto byte = [&](std::size_t k) -> unsigned {
      return pos_ + k < s_.size() ? static_cast<unsigned char>(s_[pos_ + k]) : 0u;
    };
    auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
      return byte(k) >= lo && byte(k) <= hi;
    };
    const unsigned b0 = byte(0);
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
      const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
      return cont(1, lo, hi) && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
      const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
      return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
  }

  std::string string() {
    const std::size_t start = pos_;
    ++pos_;  // the opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail(start, "unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        escape(out);
      } else if (c < 0x20) {
        fail(pos_, "control character " + found() + " in a string must be escaped");
      } else if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
      } else {
        const std::size_t n = utf8_length();
        if (n == 0) fail(pos_, "invalid UTF-8 in a string");
        out.append(s_.substr(pos_, n));
        pos_ += n;
      }
    }
  }

  std::string_view s_;
  const std::string& source_;
  const JsonLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t values_ = 0;
};

bool all_digits(std::string_view t) {
  if (t.empty()) return false;
  for (char c : t)
    if (!is_digit(c)) return false;
  return true;
}

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : members)
    if (name == key) return &value;
  return nullptr;
}

std::optional<std::int64_t> JsonValue::to_int64() const {
  if (kind != Kind::number) return std::nullopt;
  std::string_view t = text;
  if (!all_digits(t.front() == '-' ? t.substr(1) : t)) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> JsonValue::to_uint64() const {
  if (kind != Kind::number || !all_digits(text)) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

const char* JsonValue::kind_name(Kind k) {
  return enum_name(k, {"null", "a boolean", "a number", "a string", "an array", "an object"});
}

JsonValue parse_json(std::string_view text, const std::string& source, const JsonLimits& limits) {
  return Parser(text, source, limits).document();
}

}  // namespace keel
