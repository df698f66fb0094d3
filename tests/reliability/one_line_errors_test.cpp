// Findings of the fuzz targets (tests/fuzz), each kept as a test: error
// messages quote what a file says, and must stay one printable line however
// hostile that text is.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.hpp"
#include "files.hpp"
#include "graph/parse.hpp"
#include "runtime/npy.hpp"
#include "runtime/safetensors.hpp"

namespace {

bool printable_line(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

TEST_CASE("an error quoting control characters shows them escaped on one line") {
  const keel::Error e(keel::ExitCode::usage, std::string("key 'a\nb\r\t\x1b[2J\x7f' is bad"),
                      {"f\nile", 1, 2});
  CHECK(e.format() == "f\\nile:1:2: key 'a\\nb\\r\\t\\x1b[2J\\x7f' is bad");
  CHECK(std::string(e.what()) == "key 'a\\nb\\r\\t\\x1b[2J\\x7f' is bad");
}

TEST_CASE("printable cuts long user text and escapes control characters") {
  CHECK(keel::printable("abc") == "abc");
  CHECK(keel::printable(std::string(100, 'x'), 10) == "xxxxxxxxxx...");
  CHECK(keel::printable("a\nb", 60) == "a\\nb");
}

TEST_CASE("a .npy header key holding a newline is reported on one line") {
  keel::test::TempDir dir;
  // The fuzzer's input, reduced: a key "d)descr\n" with no ':' after it.
  std::string header = "{'d)descr\n' 1}";
  header.append(118 - 10 - header.size() - 1, ' ').push_back('\n');
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file.push_back(static_cast<char>(header.size()));
  file.push_back('\0');
  file += header;
  const auto path = dir.write("key.npy", file);
  try {
    keel::read_npy(path);
    FAIL("the file was accepted");
  } catch (const keel::Error& e) {
    INFO(e.format());
    CHECK(printable_line(e.format()));
    CHECK(e.message().find("expected ':' after key 'd)descr\\n'") != std::string::npos);
  }
}

TEST_CASE("a YAML error quoting a control character is reported on one line") {
  try {
    keel::parse_graph_text("keel: 1\nname: \"a\\\x01\"\n", "g.yaml");
    FAIL("the file was accepted");
  } catch (const keel::Error& e) {
    INFO(e.format());
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK(printable_line(e.format()));
    CHECK(e.message().find("\\x01") != std::string::npos);
  }
}

TEST_CASE("a safetensors name holding a newline is reported escaped and cut short") {
  const std::string name = "w\\n" + std::string(200, 'x');
  const std::string json = "{\"" + name + "\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  bytes += json + "x";
  try {
    keel::decode_safetensors(bytes, "p.safetensors");
    FAIL("the file was accepted");
  } catch (const keel::Error& e) {
    INFO(e.format());
    CHECK(printable_line(e.format()));
    CHECK(e.message().find("tensor 'w\\n" + std::string(58, 'x') + "...'") != std::string::npos);
    CHECK(e.format().size() < 300);
  }
}
