#include "runtime/json_read.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "error_checks.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using keel::JsonValue;
using Kind = keel::JsonValue::Kind;

namespace {

JsonValue parse(const std::string& text) { return keel::parse_json(text, "doc.json"); }

std::string error_of(const std::string& text, const keel::JsonLimits& limits = {}) {
  return keel::test::usage_error_of([&] { keel::parse_json(text, "doc.json", limits); });
}

}  // namespace

TEST_CASE("json reader parses every kind of value") {
  const JsonValue v = parse(R"( {"n": null, "t": true, "f": false, "i": -12, "x": 2.5e-3,
                                  "s": "a\"b\\c\/d\b\f\n\r\t", "a": [1, [], {}], "o": {"k": "v"}} )");
  REQUIRE(v.is_object());
  REQUIRE(v.members.size() == 8);
  CHECK(v.find("n")->is_null());
  CHECK((v.find("t")->is_bool() && v.find("t")->boolean));
  CHECK((v.find("f")->is_bool() && !v.find("f")->boolean));
  CHECK(v.find("i")->number == -12);
  CHECK(v.find("i")->to_int64() == -12);
  CHECK_FALSE(v.find("i")->to_uint64());
  CHECK(v.find("x")->number == 2.5e-3);
  CHECK(v.find("x")->text == "2.5e-3");
  CHECK_FALSE(v.find("x")->to_int64());
  CHECK(v.find("s")->text == "a\"b\\c/d\b\f\n\r\t");
  const JsonValue& a = *v.find("a");
  REQUIRE(a.items.size() == 3);
  CHECK(a.items[0].number == 1);
  CHECK((a.items[1].is_array() && a.items[1].items.empty()));
  CHECK((a.items[2].is_object() && a.items[2].members.empty()));
  CHECK(v.find("o")->find("k")->text == "v");
  CHECK(v.find("missing") == nullptr);
  CHECK(a.find("k") == nullptr);
}

TEST_CASE("json reader accepts any value at top level and keeps key order and duplicates") {
  CHECK(parse("0").number == 0);
  CHECK(parse("\"s\"").text == "s");
  CHECK(parse(" null\n").is_null());
  CHECK(parse("-0").to_int64() == 0);
  CHECK(parse("1E+2").number == 100);
  const JsonValue v = parse(R"({"z": 1, "a": 2, "z": 3})");
  REQUIRE(v.members.size() == 3);
  CHECK(v.members[0].first == "z");
  CHECK(v.members[1].first == "a");
  CHECK(v.members[2].second.number == 3);
  CHECK(v.find("z")->number == 1);
}

TEST_CASE("json reader keeps big integers exact in their text") {
  const JsonValue v =
      parse("[18446744073709551615, 9007199254740993, -9223372036854775808, 18446744073709551616]");
  CHECK(v.items[0].to_uint64() == 18446744073709551615ULL);
  CHECK_FALSE(v.items[0].to_int64());
  // 2^53 + 1 has no double; the text keeps it.
  CHECK(v.items[1].number == 9007199254740992.0);
  CHECK(v.items[1].to_int64() == 9007199254740993LL);
  CHECK(v.items[2].to_int64() == INT64_MIN);
  CHECK_FALSE(v.items[3].to_uint64());
  CHECK(v.items[3].text == "18446744073709551616");
  CHECK(v.items[3].number == 18446744073709551616.0);
}

TEST_CASE("json reader decodes unicode escapes and passes UTF-8 through") {
  CHECK(parse(R"("caf\u00e9")").text == "caf\xC3\xA9");
  CHECK(parse(R"("\u20AC")").text == "\xE2\x82\xAC");
  CHECK(parse(R"("\ud83d\ude00")").text == "\xF0\x9F\x98\x80");  // U+1F600 from a surrogate pair
  CHECK(parse(R"("\u0000")").text == std::string(1, '\0'));
  CHECK(parse("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"").text == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST_CASE("json reader rejects malformed input with the byte offset and the reason") {
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"", "byte 0: expected a value, found end of input"},
      {"   ", "byte 3: expected a value, found end of input"},
      {"{", "byte 1: expected a string key, found end of input"},
      {"[1, 2", "byte 5: expected ',' or ']' in an array, found end of input"},
      {"[1 2]", "byte 3: expected ',' or ']' in an array, found '2'"},
      {"[1,]", "byte 3: expected a value, found ']'"},
      {"{\"a\":1,}", "byte 7: expected a string key, found '}'"},
      {"{\"a\" 1}", "byte 5: expected ':' after key, found '1'"},
      {"{\"a\":1 \"b\":2}", "byte 7: expected ',' or '}' in an object, found '\"'"},
      {"{a:1}", "byte 1: expected a string key, found 'a'"},
      {"{'a':1}", "byte 1: expected a string key, found '''"},
      {"1 2", "byte 2: unexpected '2' after the document"},
      {"{} x", "byte 3: unexpected 'x' after the document"},
      {"tru", "byte 0: expected a value, found 't'"},
      {"nul", "byte 0: expected a value, found 'n'"},
      {"True", "byte 0: expected a value, found 'T'"},
      {"NaN", "byte 0: expected a value, found 'N'"},
      {"+1", "byte 0: expected a value, found '+'"},
      {"01", "byte 0: leading zeros are not allowed in numbers"},
      {"-", "byte 1: expected a digit in a number, found end of input"},
      {"1.", "byte 2: expected a digit after '.', found end of input"},
      {".5", "byte 0: expected a value, found '.'"},
      {"1e", "byte 2: expected a digit in the exponent, found end of input"},
      {"1e+", "byte 3: expected a digit in the exponent, found end of input"},
      {"1e400", "byte 0: number 1e400 is outside the range of a double"},
      {"\"abc", "byte 0: unterminated string"},
      {"\"a\nb\"", "byte 2: control character byte 0x0A in a string must be escaped"},
      {"\"\\x\"", "byte 1: invalid escape \\x in a string"},
      {"\"\\u12G4\"", "byte 5: expected 4 hex digits after \\u, found 'G'"},
      {"\"\\ud83d\"", "byte 1: high surrogate not followed by a low surrogate"},
      {"\"\\ud83d\\u0041\"", "byte 1: high surrogate not followed by a low surrogate"},
      {"\"\\ude00\"", "byte 1: lone low surrogate in a \\u escape"},
      {"\"\xFF\"", "byte 1: invalid UTF-8 in a string"},
      {"\"\xC3\"", "byte 1: invalid UTF-8 in a string"},
      {"\"\xC0\xAF\"", "byte 1: invalid UTF-8 in a string"},          // overlong '/'
      {"\"\xED\xA0\x80\"", "byte 1: invalid UTF-8 in a string"},      // encoded surrogate
      {"\"\xF4\x90\x80\x80\"", "byte 1: invalid UTF-8 in a string"},  // above U+10FFFF
      {"\xEF\xBB\xBF{}", "byte 0: expected a value, found byte 0xEF"},
      {"[1] // note", "byte 4: unexpected '/' after the document"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK_THAT(error_of(c.text), Equals("doc.json: JSON error at " + c.message));
  }
}

TEST_CASE("json reader stops a nesting bomb at the depth limit") {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK(parse(ok).is_array());
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  CHECK_THAT(error_of(deep), Equals("doc.json: JSON error at byte 64: nesting deeper than 64 levels"));
  // Far deeper than any stack could take by recursion.
  const std::string bomb(10'000'000, '[');
  CHECK_THAT(error_of(bomb), Contains("nesting deeper than 64 levels"));
  CHECK_THAT(error_of(std::string(100, '{')), Contains("expected a string key"));
  std::string objects;
  for (int i = 0; i < 70; ++i) objects += "{\"a\":";
  CHECK_THAT(error_of(objects), Contains("byte 320: nesting deeper than 64 levels"));
}

TEST_CASE("json reader enforces its size and value-count limits") {
  keel::JsonLimits limits;
  limits.max_bytes = 10;
  CHECK(keel::parse_json("[1,2,3,4]", "doc.json", limits).items.size() == 4);
  CHECK_THAT(error_of("[1,2,3,4,5]", limits),
             Equals("doc.json: JSON error at byte 0: document of 11 bytes exceeds the limit of 10"));
  limits = {};
  limits.max_values = 4;
  CHECK(keel::parse_json("[1,2,3]", "doc.json", limits).items.size() == 3);
  CHECK_THAT(error_of("[1,2,3,4]", limits), Equals("doc.json: JSON error at byte 7: more than 4 values"));
}
