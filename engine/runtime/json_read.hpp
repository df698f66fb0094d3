// A small, strict JSON reader (RFC 8259) for the headers of files other
// programs write, such as safetensors. Strict means: no comments, no trailing
// commas, no leading zeros or '+', no NaN, strings must be valid UTF-8 without
// raw control characters, and lone surrogate escapes are rejected. Keys keep
// their order and duplicates are kept, so a caller can report them in its own
// terms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {

struct JsonMember;

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  // A number as a double (rounded when the literal has more precision),
  // and exactly as written in `text`, so integers beyond 2^53 stay exact.
  double number = 0;
  std::string text;              // a string's decoded contents, or a number's literal
  std::vector<JsonValue> items;  // array elements
  // Object members, in order. Not std::pair: a pair of a still incomplete
  // type is ill-formed, and clang rejects it.
  std::vector<JsonMember> members;

  bool is_null() const { return kind == Kind::null; }
  bool is_bool() const { return kind == Kind::boolean; }
  bool is_number() const { return kind == Kind::number; }
  bool is_string() const { return kind == Kind::string; }
  bool is_array() const { return kind == Kind::array; }
  bool is_object() const { return kind == Kind::object; }

  // The first member named `key` of an object; null for a missing key or a
  // value that is not an object.
  const JsonValue* find(std::string_view key) const;

  // The exact value of a number written as an integer (no fraction, no
  // exponent) that fits the type; nullopt otherwise.
  std::optional<std::int64_t> to_int64() const;
  std::optional<std::uint64_t> to_uint64() const;

  // "null", "a boolean", "a number", ... for error messages.
  static const char* kind_name(Kind k);
};

struct JsonMember {
  std::string first;  // the key
  JsonValue second;   // the value
};

struct JsonLimits {
  // Matches the safetensors header limit; the documents keel reads are small.
  std::size_t max_bytes = 100'000'000;
  // Bounds recursion, so "[[[[..." cannot exhaust the stack.
  int max_depth = 64;
  // Bounds memory: a value takes ~100 bytes in memory but can be 2 bytes of
  // text ("0,"), so the text size alone does not bound what parsing allocates.
  std::size_t max_values = std::size_t{1} << 22;
};

// Parses one JSON document (any value at top level, surrounding whitespace
// allowed). Throws keel::Error (usage) whose format() reads
// "SOURCE: JSON error at byte N: what", N being the 0-based offset of the
// offending byte in `text`.
JsonValue parse_json(std::string_view text, const std::string& source, const JsonLimits& limits = {});

}  // namespace keel
