// Messages cannot spoof or flood: bidirectional-text controls in a user's
// text are escaped like other control characters (a node name holding
// U+202E must not reorder the terminal's line), and user-derived text is
// cut, so a 200,000-dimension shape still gives one short line.
#include <catch2/catch.hpp>

#include "files.hpp"
#include "hardening_util.hpp"

namespace fs = std::filesystem;
using keel::test::run_keel;

namespace {

const char* kRlo = "\xe2\x80\xae";  // U+202E RIGHT-TO-LEFT OVERRIDE
const char* kLri = "\xe2\x81\xa6";  // U+2066 LEFT-TO-RIGHT ISOLATE

// A .npy of f32 with `dims` dimensions of 1 and `data_bytes` bytes of data.
std::string npy_with_dims(std::size_t dims, std::size_t data_bytes) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < dims; ++i) header += "1, ";
  header += "), }";
  header += std::string(64 - (12 + header.size() + 1) % 64, ' ') + "\n";
  const auto n = static_cast<std::uint32_t>(header.size());
  std::string out = "\x93NUMPY";
  out += '\x02';
  out += '\x00';
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("a node name holding bidi controls is shown escaped") {
  keel::test::TempDir dir;
  const std::string name = std::string("evil") + kRlo + "gnp.exe" + kLri + "x";
  const fs::path g = dir.write("g.yaml",
                               "keel: 1\nname: bidi\ninputs:\n  x: {dtype: f32, shape: [2]}\nnodes:\n"
                               "  - {name: \"" +
                                   name +
                                   "\", op: no_such_op, inputs: [x]}\n"
                                   "outputs: [x]\n");
  const auto r = run_keel({"validate", g.string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(keel::test::line_count(r.err) == 1);
  CHECK(r.err.find("evil\\u202egnp.exe\\u2066x") != std::string::npos);
  CHECK(r.err.find(kRlo) == std::string::npos);
  CHECK(r.err.find(kLri) == std::string::npos);
}

TEST_CASE("a 200000-dimension shape gives one line under 1 KB") {
  keel::test::TempDir dir;
  const fs::path g = dir.write("g.yaml",
                               "keel: 1\nname: wide\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n"
                               "nodes:\n  - {name: r, op: relu, inputs: [x]}\noutputs: [r]\n");
  // `keel run` with an x of 200000 dimensions and `data_bytes` of data.
  auto run_wide = [&](std::size_t data_bytes) {
    const fs::path x = dir.write("x.npy", npy_with_dims(200000, data_bytes));
    return run_keel({"run", g.string(), "--input", "x=" + x.string(), "-o", (dir / "out").string()});
  };
  SECTION("the reader's own message (data missing)") {
    const auto r = run_wide(0);
    INFO(r.err.substr(0, 2000));
    CHECK(r.exit_code == 2);
    CHECK(keel::test::line_count(r.err) == 1);
    CHECK(r.err.size() < 1024);
    CHECK(r.err.find("[1, 1, 1, 1, 1, 1, 1, 1, ..., 1, 1] (200000 dimensions)") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  SECTION("a later message quoting the shape (it does not fit the input)") {
    const auto r = run_wide(4);
    INFO(r.err.substr(0, 2000));
    CHECK(r.exit_code == 2);
    CHECK(keel::test::line_count(r.err) == 1);
    CHECK(r.err.size() < 1100);  // the message is cut at 800 bytes
    CHECK_FALSE(fs::exists(dir / "out"));
  }
}
