#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "files.hpp"
#include "npy_values.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using keel::DType;
using keel::test::slurp;
using keel::test::TempDir;
using keel::test::write_file;

namespace {

// A version 1.0 .npy built by hand: the magic, `header` as given (a length
// under 256, no padding added), then `data`.
std::string npy_v1(const std::string& header, const std::string& data) {
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header + data;
}

const fs::path kData = fs::path(KEEL_SOURCE_DIR) / "tests/data/npy";

struct ValidFixture {
  const char* file;
  DType dtype;
  keel::Shape shape;
};

// Written by NumPy (tests/data/npy/make_fixtures.py).
const std::vector<ValidFixture> kValid = {
    {"f32_3x4.npy", DType::f32, {3, 4}},
    {"f64_2x3x4.npy", DType::f64, {2, 3, 4}},
    {"i32_5.npy", DType::i32, {5}},
    {"i64_2x3.npy", DType::i64, {2, 3}},
    {"u8_4x4.npy", DType::u8, {4, 4}},
    {"bool_7.npy", DType::boolean, {7}},
    {"f64_scalar.npy", DType::f64, {}},
    {"f32_0x3.npy", DType::f32, {0, 3}},
    {"i64_2x5_v2.npy", DType::i64, {2, 5}},
    {"f32_3_v3.npy", DType::f32, {3}},
    {"i32_2x3_odd_header.npy", DType::i32, {2, 3}},
    {"f64_2x2_py2_longs.npy", DType::f64, {2, 2}},
    {"u8_3_little_endian_descr.npy", DType::u8, {3}},
};

struct BadFixture {
  const char* file;
  const char* fragment;  // what the message must say
};

const std::vector<BadFixture> kBad = {
    {"empty.npy", "not a .npy file (bad magic: the file is empty)"},
    {"bad_magic.npy", "not a .npy file (bad magic)"},
    {"text_file.npy", "not a .npy file (bad magic)"},
    {"version_4.npy", "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)"},
    {"truncated_length.npy", "truncated header: the file ends inside the header length"},
    {"truncated_header.npy", "truncated header: it claims 118 bytes, the file holds 60"},
    {"header_too_long.npy", "header of 50000000 bytes exceeds the limit"},
    {"truncated_data.npy", "truncated data: expected 48 bytes for f32 [3, 4], found 44"},
    {"trailing_data.npy", "trailing data: expected 48 bytes for f32 [3, 4], found 51"},
    {"fortran.npy", "Fortran-order arrays are not supported; save with np.ascontiguousarray"},
    {"big_endian.npy", "big-endian dtype '>f4' is not supported"},
    {"complex.npy", "unsupported dtype '<c8'; supported: '<f4' (f32)"},
    {"unicode.npy", "unsupported dtype '<U3'"},
    {"int16.npy", "unsupported dtype '<i2'"},
    {"structured.npy", "structured dtypes are not supported"},
    {"huge_overflow.npy", "shape [1099511627776, 1099511627776] is too large"},
    {"huge_claim.npy",
     "truncated data: expected 8796093022208 bytes for f64 [1099511627776], "
     "found 16"},
    {"negative_dim.npy", "negative dimension -1 in the shape"},
    {"float_dim.npy", "dimension '2.5' in the shape is not an integer"},
    {"string_dim.npy", "'shape' must be a tuple of integers"},
    {"shape_list.npy", "'shape' must be a tuple of integers"},
    {"deep_nesting.npy", "nested too deeply"},
    {"garbage_header.npy", "malformed .npy header: not a dict"},
    {"unterminated_dict.npy", "malformed .npy header: expected a quoted key"},
    {"missing_key.npy", "missing key 'fortran_order'"},
    {"extra_key.npy", "unexpected key 'x'"},
    {"duplicate_key.npy", "duplicate key 'shape'"},
    {"fortran_order_int.npy", "'fortran_order' must be True or False"},
    {"bool_2.npy", "bool element 2 is 2; bool data must be 0 or 1"},
};

// Reads `path` expecting a usage error; returns its formatted message.
std::string read_error(const fs::path& path) {
  try {
    keel::read_npy(path);
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK(e.loc().file == path.string());
    return e.format();
  }
  FAIL("read_npy accepted " << path);
  return {};
}

}  // namespace

TEST_CASE("npy reader gives NumPy's dtype, shape and values for every supported kind") {
  for (const auto& f : kValid) {
    DYNAMIC_SECTION(f.file) {
      const keel::Tensor t = keel::read_npy(kData / "valid" / f.file);
      CHECK(t.dtype() == f.dtype);
      CHECK(t.shape() == f.shape);
      CHECK(npy_values::first_mismatch(t) == -1);
    }
  }
}

TEST_CASE("npy reader rejects each malformed file with a usage error naming file and defect") {
  for (const auto& f : kBad) {
    DYNAMIC_SECTION(f.file) {
      const fs::path path = kData / "bad" / f.file;
      REQUIRE(fs::exists(path));
      const std::string message = read_error(path);
      CHECK_THAT(message, Contains(f.fragment));
      CHECK_THAT(message, Contains(f.file));
    }
  }
}

TEST_CASE("npy reader's malformed corpus is fully covered by the rejection test") {
  std::set<std::string> listed;
  for (const auto& f : kBad) listed.insert(f.file);
  for (const auto& entry : fs::directory_iterator(kData / "bad"))
    CHECK(listed.count(entry.path().filename().string()) == 1);
}

TEST_CASE("npy reader names a missing file and refuses a folder") {
  TempDir dir;
  CHECK_THAT(read_error(dir / "absent.npy"), Contains("absent.npy: cannot read: No such file"));
  fs::create_directory(dir / "folder.npy");
  CHECK_THAT(read_error(dir / "folder.npy"), Contains("folder.npy: cannot read"));
}

TEST_CASE("npy reader accepts any whitespace and a header without padding") {
  TempDir dir;
  // Built by hand: "\x93NUMPY" 1.0, an unpadded header with tabs and newlines
  // inside, then two little-endian i32 values.
  const std::string header = "\n{ 'shape' :\t( 2 , ) ,\n'descr':'<i4','fortran_order':False }";
  write_file(dir / "hand.npy", npy_v1(header, std::string("\x07\x00\x00\x00\xfe\xff\xff\xff", 8)));
  const keel::Tensor t = keel::read_npy(dir / "hand.npy");
  REQUIRE(t.shape() == keel::Shape{2});
  CHECK(t.as<std::int32_t>()[0] == 7);
  CHECK(t.as<std::int32_t>()[1] == -2);
}

TEST_CASE("npy reader treats a parenthesised single dimension as a number, not a tuple") {
  TempDir dir;
  // Python reads "(2)" as the integer 2; NumPy rejects it as a shape.
  const std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2)}";
  write_file(dir / "paren.npy", npy_v1(header, std::string(8, '\0')));
  CHECK_THAT(read_error(dir / "paren.npy"), Contains("'shape' must be a tuple of integers"));
}

TEST_CASE("npy reader answers every truncation and byte corruption with a tensor or usage error") {
  TempDir dir;
  const std::string good = slurp(kData / "valid" / "f32_3x4.npy");
  std::vector<std::string> variants;
  for (std::size_t n = 0; n < good.size(); ++n) variants.push_back(good.substr(0, n));
  for (std::size_t i = 0; i < 128; ++i)  // the preamble: magic, version, length, header
    for (unsigned char c : {'\0', '\xff', '(', '9', '\''}) {
      variants.push_back(good);
      variants.back()[i] = static_cast<char>(c);
    }
  int rejected = 0;
  for (const std::string& bytes : variants) {
    write_file(dir / "v.npy", bytes);
    try {
      const keel::Tensor t = keel::read_npy(dir / "v.npy");
      CHECK(t.nbytes() + 128 <= bytes.size());
    } catch (const keel::Error& e) {
      CHECK(e.code() == keel::ExitCode::usage);
      ++rejected;
    }
  }
  CHECK(rejected > static_cast<int>(good.size()));  // at least every truncation
}
