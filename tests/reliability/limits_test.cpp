// Resource limits: inputs that claim absurd sizes or nest without end are
// refused with a clear error before anything big is allocated, and huge but
// legal inputs are handled without exhausting the stack.
#include <catch2/catch.hpp>
#include <string>

#include "base/error.hpp"
#include "graph/parse.hpp"
#include "runtime/memory_limit.hpp"

namespace {

keel::Error parse_error(const std::string& yaml) {
  try {
    keel::parse_graph_text(yaml, "g.yaml");
  } catch (const keel::Error& e) {
    return e;
  }
  FAIL("the graph was accepted");
  return keel::usage_error("unreachable");
}

}  // namespace

TEST_CASE("KEEL_MAX_TENSOR_BYTES sizes parse as bytes with binary suffixes") {
  CHECK(keel::parse_byte_size("4096") == 4096);
  CHECK(keel::parse_byte_size("10G") == 10ull * 1024 * 1024 * 1024);
  CHECK(keel::parse_byte_size("512M") == 512ull * 1024 * 1024);
  CHECK(keel::parse_byte_size("1k") == 1024);
  CHECK(keel::parse_byte_size("2TB") == 2ull << 40);
  CHECK(keel::parse_byte_size("") == 0);
  CHECK(keel::parse_byte_size("G") == 0);
  CHECK(keel::parse_byte_size("12X") == 0);
  CHECK(keel::parse_byte_size("-5") == 0);
  CHECK(keel::parse_byte_size("99999999999999999999") == 0);  // overflows 64 bits
  CHECK(keel::parse_byte_size("17179869184T") == 0);          // 2^34 TiB overflows
  CHECK(keel::format_bytes(10ull << 30) == "10.0 GiB");
  CHECK(keel::format_bytes(100) == "100 bytes");
}

TEST_CASE("the per-tensor limit never exceeds 1 TiB") {
  CHECK(keel::max_tensor_bytes() > 0);
  CHECK(keel::max_tensor_bytes() <= (std::uint64_t{1} << 40));
}

TEST_CASE("flow nesting 10,000 deep is refused without overflowing the stack") {
  const keel::Error e =
      parse_error("keel: 1\nnodes: " + std::string(10000, '[') + std::string(10000, ']') + "\n");
  CHECK(e.code() == keel::ExitCode::usage);
  CHECK(e.message() == "the YAML is nested too deeply");
  CHECK(e.loc().line == 2);
}

TEST_CASE("block nesting 3,000 deep is refused without overflowing the stack") {
  std::string yaml = "keel: 1\nnodes:\n";
  // 3,000 levels: deeper would exceed the 16 MiB file limit in indentation.
  for (int i = 1; i <= 3000; ++i) yaml += std::string(std::size_t(i), ' ') + "- \n";
  const keel::Error e = parse_error(yaml);
  CHECK(e.code() == keel::ExitCode::usage);
  CHECK(e.message() == "the YAML is nested too deeply");
}

TEST_CASE("a graph file of a million YAML nodes is read and judged, not crashed on") {
  // A million scalars in one list: legal YAML, within the size limit.
  std::string yaml =
      "keel: 1\ninputs:\n  x: {dtype: f32, shape: [4]}\nnodes:\n  - {name: r, op: relu, inputs: [x]}\n"
      "outputs: [";
  for (int i = 0; i < 1'000'000; ++i) yaml += i ? ",r" : "r";
  yaml += "]\n";
  const keel::Error e = parse_error(yaml);
  CHECK(e.code() == keel::ExitCode::usage);
  CHECK(e.message().find("output 'r' is listed twice") != std::string::npos);
}

TEST_CASE("a graph file over 16 MiB is refused before it is parsed") {
  // parse_graph_file checks the size first; the text path has no file.
  const std::string path = std::string(KEEL_BUILD_DIR) + "/reliability_big.yaml";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    const std::string line = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 17 * 1024; ++i) std::fwrite(line.data(), 1, line.size(), f);
    std::fclose(f);
  }
  try {
    keel::parse_graph_file(path);
    FAIL("the file was accepted");
  } catch (const keel::Error& e) {
    INFO(e.format());
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK(e.message().find("MiB") != std::string::npos);
  }
  std::remove(path.c_str());
}
