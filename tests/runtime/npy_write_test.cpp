#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "files.hpp"
#include "npy_values.hpp"
#include "python_check.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using keel::DType;
using keel::test::slurp;
using keel::test::TempDir;
using keel::test::write_file;
using npy_values::filled;
using python_check::have_python;
using python_check::run_python;

namespace {

// Loads argv[1] with np.load and compares it with the fixture formula for
// dtype argv[2] and shape argv[3] ("3,4"; "" for 0-d), then with the bytes
// np.save writes for the same array. Double quotes only: it travels in ''.
const char* const kNumpyCheck = R"(
import io, sys
import numpy as np
path, kind = sys.argv[1], sys.argv[2]
shape = tuple(int(x) for x in sys.argv[3].split(",") if x)
i = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
expected = {
    "f32": ((i - 2) / 3.0).astype("<f4"),
    "f64": ((i - 2) / 3.0).astype("<f8"),
    "i32": (7 * i - 20).astype("<i4"),
    "i64": (3000000000 * i - 5).astype("<i8"),
    "u8": ((37 * i) % 256).astype("|u1"),
    "bool": i % 3 == 0,
}[kind].reshape(shape)
a = np.load(path)
if a.dtype != expected.dtype or a.shape != expected.shape:
    sys.exit("got %s %s, expected %s %s" % (a.dtype, a.shape, expected.dtype, expected.shape))
if not np.array_equal(a, expected):
    sys.exit("values differ: %r" % (a,))
saved = io.BytesIO()
np.save(saved, expected)
if open(path, "rb").read() != saved.getvalue():
    sys.exit("bytes differ from np.save")
)";

std::string shape_arg(const keel::Shape& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s;
}

}  // namespace

TEST_CASE("npy writer output loads in NumPy and matches np.save byte for byte") {
  if (!have_python()) return;
  TempDir dir;
  const std::vector<std::pair<DType, keel::Shape>> cases = {
      {DType::f32, {3, 4}}, {DType::f64, {2, 3, 4}}, {DType::i32, {5}},
      {DType::i64, {2, 3}}, {DType::u8, {4, 4}},     {DType::boolean, {7}},
      {DType::f32, {}},     {DType::f64, {0, 3}},    {DType::u8, {1000, 3}},
  };
  for (const auto& [dtype, shape] : cases) {
    const std::string name = std::string(keel::dtype_name(dtype)) + "_" + shape_arg(shape);
    DYNAMIC_SECTION(name) {
      const fs::path path = dir / (name + ".npy");
      keel::write_npy(path, filled(dtype, shape));
      CHECK(run_python({"-c", kNumpyCheck, path.string(), std::string(keel::dtype_name(dtype)),
                        shape_arg(shape)}) == 0);
    }
  }
}

TEST_CASE("npy writer pads the preamble to 64 bytes and reads back with the same values") {
  TempDir dir;
  keel::write_npy(dir / "t.npy", filled(DType::i64, {2, 3}));
  const std::string bytes = slurp(dir / "t.npy");
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) |
                                 static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8;
  CHECK((10 + header_len) % 64 == 0);
  CHECK(bytes[10 + header_len - 1] == '\n');
  CHECK(bytes.size() == 10 + header_len + 6 * 8);
  const keel::Tensor back = keel::read_npy(dir / "t.npy");
  CHECK(back.dtype() == DType::i64);
  CHECK(back.shape() == keel::Shape{2, 3});
  CHECK(npy_values::first_mismatch(back) == -1);
}

TEST_CASE("npy writer switches to format 2.0 when the header outgrows 65535 bytes") {
  TempDir dir;
  const keel::Shape shape(30000, 1);  // "1, " per dimension: about 90 KB of header
  keel::write_npy(dir / "wide.npy", filled(DType::f32, shape));
  const keel::Tensor back = keel::read_npy(dir / "wide.npy");
  CHECK(back.shape() == shape);
  CHECK(npy_values::first_mismatch(back) == -1);
  if (!have_python()) return;
  // NumPy cannot hold 30000 dimensions, so check the layout with the standard library.
  const char* const check = R"(
import ast, struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x93NUMPY\x02\x00", b[:8]
n = struct.unpack("<I", b[8:12])[0]
assert n > 65535 and (12 + n) % 64 == 0 and b[11 + n] == 10, n
d = ast.literal_eval(b[12:12 + n].decode("latin1"))
assert d == {"descr": "<f4", "fortran_order": False, "shape": (1,) * 30000}, d
assert b[12 + n:] == struct.pack("<f", -2 / 3), b[12 + n:]
)";
  CHECK(run_python({"-c", check, (dir / "wide.npy").string()}) == 0);
}

TEST_CASE("npy writer stores bools as 0 or 1 whatever nonzero byte the tensor holds") {
  TempDir dir;
  keel::Tensor t(DType::boolean, {4});
  const unsigned char raw[] = {0, 1, 7, 255};
  std::memcpy(t.data(), raw, 4);
  keel::write_npy(dir / "b.npy", t);
  const std::string bytes = slurp(dir / "b.npy");
  CHECK(bytes.substr(bytes.size() - 4) == std::string("\x00\x01\x01\x01", 4));
  CHECK(keel::read_npy(dir / "b.npy").as<std::uint8_t>()[3] == 1);
}

TEST_CASE("npy writer leaves nothing behind when the target folder does not exist") {
  TempDir dir;
  const fs::path target = dir / "missing" / "out.npy";
  try {
    keel::write_npy(target, filled(DType::f32, {3}));
    FAIL("write_npy succeeded in a missing folder");
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::runtime);
    CHECK_THAT(e.format(), Catch::Matchers::Contains("out.npy"));
  }
  CHECK_FALSE(fs::exists(target));
  CHECK(dir.entries().empty());
}

TEST_CASE("npy writer replaces an existing file whole") {
  TempDir dir;
  const fs::path target = dir / "out.npy";
  keel::write_npy(target, filled(DType::f64, {1000}));
  keel::write_npy(target, filled(DType::i32, {2}));
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
  CHECK(fs::file_size(target) == 128 + 2 * 4);
  const keel::Tensor back = keel::read_npy(target);
  CHECK(back.dtype() == DType::i32);
  CHECK(npy_values::first_mismatch(back) == -1);
  if (have_python()) CHECK(run_python({"-c", kNumpyCheck, target.string(), "i32", "2"}) == 0);
}

TEST_CASE("npy writer keeps the old target when the rename fails") {
  TempDir dir;
  // A non-empty folder cannot be replaced by a file, so the write fails late.
  fs::create_directory(dir / "taken.npy");
  write_file(dir / "taken.npy" / "keep", "x");
  CHECK_THROWS_AS(keel::write_npy(dir / "taken.npy", filled(DType::u8, {3})), keel::Error);
  CHECK(fs::is_directory(dir / "taken.npy"));
  CHECK(dir.entries() == std::vector<std::string>{"taken.npy"});
}

TEST_CASE("npy writer refuses a tensor that holds no data") {
  TempDir dir;
  CHECK_THROWS_AS(keel::write_npy(dir / "x.npy", keel::Tensor()), keel::Error);
  CHECK(dir.entries().empty());
}
