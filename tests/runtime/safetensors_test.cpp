#include "runtime/safetensors.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "error_checks.hpp"
#include "files.hpp"
#include "npy_values.hpp"
#include "python_check.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using keel::DType;
using keel::test::TempDir;
using npy_values::filled;
using python_check::have_python;
using python_check::run_python;

namespace {

const fs::path kReferenceScript = fs::path(KEEL_SOURCE_DIR) / "tests/runtime/safetensors_reference.py";

struct Spec {
  std::string name;
  DType dtype;
  keel::Shape shape;
};

// The set safetensors_reference.py writes and checks, in its header order.
const std::vector<Spec> kReference = {
    {"bool_7", DType::boolean, {7}}, {"f32_0x3", DType::f32, {0, 3}}, {"f32_2x3", DType::f32, {2, 3}},
    {"f64_4", DType::f64, {4}},      {"f64_scalar", DType::f64, {}},  {"i32_3x1", DType::i32, {3, 1}},
    {"i64_2x2", DType::i64, {2, 2}}, {"u8_5", DType::u8, {5}},        {"w\xC3\xA9ight", DType::f32, {3}},
};
const std::map<std::string, std::string> kReferenceMetadata = {{"format", "pt"},
                                                               {"note",
                                                                "\xC3\xBCn\xC3\xAF"
                                                                "code"}};

keel::TensorFile reference_file() {
  keel::TensorFile file;
  for (const Spec& s : kReference) file.tensors.emplace_back(s.name, filled(s.dtype, s.shape));
  file.metadata = kReferenceMetadata;
  return file;
}

void check_reference(const keel::TensorFile& file) {
  REQUIRE(file.tensors.size() == kReference.size());
  for (std::size_t i = 0; i < kReference.size(); ++i) {
    INFO(kReference[i].name);
    const auto& [name, t] = file.tensors[i];
    CHECK(name == kReference[i].name);
    CHECK(t.dtype() == kReference[i].dtype);
    CHECK(t.shape() == kReference[i].shape);
    CHECK(npy_values::first_mismatch(t) == -1);
  }
  CHECK(file.metadata == kReferenceMetadata);
}

std::string le64(std::uint64_t n) {
  std::string out;
  for (int b = 0; b < 8; ++b) out += static_cast<char>((n >> (8 * b)) & 0xFF);
  return out;
}

// A file with the given header text (unpadded, which readers accept) and data.
std::string with_header(const std::string& json, std::size_t data_bytes) {
  return le64(json.size()) + json + std::string(data_bytes, '\0');
}

std::string error_of(const std::string& bytes) {
  return keel::test::usage_error_of([&] { keel::decode_safetensors(bytes, "bad.safetensors"); });
}

}  // namespace

TEST_CASE("safetensors round trip keeps every dtype, 0-d and empty tensors, order and metadata") {
  const keel::TensorFile back = keel::decode_safetensors(keel::encode_safetensors(reference_file()), "mem");
  check_reference(back);
  REQUIRE(back.find("f64_scalar") != nullptr);
  CHECK(back.find("f64_scalar")->as<double>()[0] == npy_values::f64(0));
  CHECK(back.find("missing") == nullptr);
}

TEST_CASE("safetensors writer pads the header to 8 bytes and lays data out in the given order") {
  keel::TensorFile file;
  file.tensors.emplace_back("b", filled(DType::i64, {2, 3}));
  file.tensors.emplace_back("a", filled(DType::u8, {5}));
  file.tensors.emplace_back("c", filled(DType::f32, {3}));
  const std::string bytes = keel::encode_safetensors(file);
  REQUIRE(bytes.size() >= 8);
  std::uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= std::uint64_t{static_cast<unsigned char>(bytes[b])} << (8 * b);
  CHECK(n % 8 == 0);
  REQUIRE(bytes.size() == 8 + n + 48 + 5 + 12);
  const std::string header = bytes.substr(8, n);
  CHECK_THAT(header, StartsWith("{\"b\":{\"dtype\":\"I64\",\"shape\":[2,3],\"data_offsets\":[0,48]}"));
  CHECK_THAT(header, Contains("\"a\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[48,53]}"));
  CHECK_THAT(header, Contains("\"c\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[53,65]}"));
  CHECK(header.find_last_not_of(' ') == header.rfind('}'));
  const keel::Tensor b = filled(DType::i64, {2, 3}), a = filled(DType::u8, {5}), c = filled(DType::f32, {3});
  CHECK(std::memcmp(bytes.data() + 8 + n, b.data(), 48) == 0);
  CHECK(std::memcmp(bytes.data() + 8 + n + 48, a.data(), 5) == 0);
  CHECK(std::memcmp(bytes.data() + 8 + n + 53, c.data(), 12) == 0);
}

TEST_CASE("safetensors writer stores bools as 0 or 1 and refuses bad tensor sets") {
  keel::Tensor flags(DType::boolean, {3});
  flags.as<std::uint8_t>()[1] = 7;
  keel::TensorFile file;
  file.tensors.emplace_back("flags", flags);
  const std::string bytes = keel::encode_safetensors(file);
  CHECK(bytes.substr(bytes.size() - 3) == std::string("\0\1\0", 3));

  file.tensors.emplace_back("flags", flags);
  CHECK_THROWS_WITH(keel::encode_safetensors(file), Contains("duplicate tensor name 'flags'"));
  file.tensors = {{"__metadata__", flags}};
  CHECK_THROWS_WITH(keel::encode_safetensors(file), Contains("cannot be named '__metadata__'"));
  file.tensors = {{"x", keel::Tensor()}};
  CHECK_THROWS_WITH(keel::encode_safetensors(file), Contains("tensor 'x' has no data"));
}

TEST_CASE("safetensors reader reads a file an independent Python implementation wrote") {
  if (!have_python()) return;
  TempDir dir;
  const fs::path path = dir / "python.safetensors";
  REQUIRE(run_python({kReferenceScript.string(), "write", path.string()}) == 0);
  check_reference(keel::read_safetensors(path));
}

TEST_CASE("safetensors file keel writes passes an independent Python check") {
  if (!have_python()) return;
  TempDir dir;
  const fs::path path = dir / "keel.safetensors";
  keel::write_safetensors(path, reference_file());
  CHECK(dir.entries() == std::vector<std::string>{"keel.safetensors"});
  CHECK(run_python({kReferenceScript.string(), "check", path.string()}) == 0);
}

TEST_CASE("safetensors file read names the file when missing") {
  TempDir dir;
  try {
    keel::read_safetensors(dir / "nope.safetensors");
    FAIL("no error");
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK_THAT(e.format(), Contains("nope.safetensors: cannot read"));
  }
}

TEST_CASE("safetensors reader rejects each malformed file with its own message") {
  const std::string f32x2 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  auto one = [](const std::string& entry, std::size_t data = 8) {
    return with_header(R"({"a":)" + entry + "}", data);
  };
  struct Case {
    std::string what, bytes, fragment;
  };
  const std::vector<Case> cases = {
      {"empty file", "", "file of 0 bytes is too short for a safetensors header length"},
      {"7 bytes", std::string(7, '\0'), "file of 7 bytes is too short"},
      {"huge header length", le64(200'000'000) + "{}",
       "header of 200000000 bytes exceeds the limit of 100000000"},
      {"all-ones header length", std::string(8, '\xFF'), "exceeds the limit of 100000000"},
      {"header beyond file", le64(100) + std::string(10, ' '),
       "header length 100 exceeds the 10 bytes after"},
      {"not JSON", with_header("{not json", 0), "invalid header: JSON error at byte 1:"},
      {"not an object", with_header("[1,2]", 0), "header must be a JSON object, not an array"},
      {"entry not an object", one("5"), "tensor 'a': entry must be an object, not a number"},
      {"missing dtype", one(R"({"shape":[2],"data_offsets":[0,8]})"), "tensor 'a': missing key 'dtype'"},
      {"missing shape", one(R"({"dtype":"F32","data_offsets":[0,8]})"), "tensor 'a': missing key 'shape'"},
      {"missing offsets", one(R"({"dtype":"F32","shape":[2]})"), "tensor 'a': missing key 'data_offsets'"},
      {"dtype not a string", one(R"({"dtype":5,"shape":[2],"data_offsets":[0,8]})"),
       "'dtype' must be a string, not a number"},
      {"unsupported dtype", one(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})"),
       "tensor 'a': unsupported dtype 'F16' (supported: F32, F64, I32, I64, U8, BOOL)"},
      {"unknown dtype", one(R"({"dtype":"Q7","shape":[2],"data_offsets":[0,8]})"), "unknown dtype 'Q7'"},
      {"shape not an array", one(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})"),
       "'shape' must be an array, not a string"},
      {"shape of strings", one(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"),
       "'shape' must hold integers, not a string"},
      {"negative dimension", one(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,8]})"),
       "negative dimension -1 in 'shape'"},
      {"fractional dimension", one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"),
       "dimension 2.5 in 'shape' is not an integer"},
      {"dimension beyond 64 bits",
       one(R"({"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]})"),
       "dimension 99999999999999999999 in 'shape' is too large"},
      {"dimension beyond int64", one(R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]})"),
       "dimension 9223372036854775808 in 'shape' is too large"},
      {"element count overflow",
       one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
       "shape [4294967296, 4294967296] is too large"},
      {"byte count overflow", one(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]})"),
       "shape [4611686018427387904] is too large"},
      {"offsets not a pair", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"),
       "'data_offsets' must be [begin, end], two non-negative integers"},
      {"negative offset", one(R"({"dtype":"F32","shape":[2],"data_offsets":[-1,7]})"),
       "'data_offsets' must be [begin, end]"},
      {"offsets backwards", one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"),
       "data_offsets [8, 0] end before they begin"},
      {"offsets not matching size", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", 4),
       "tensor 'a': data_offsets [0, 4] span 4 bytes, but F32 [2] needs 8"},
      {"offsets beyond data", one(f32x2, 4),
       "tensor 'a': data_offsets [0, 8] reach beyond the 4 bytes of data"},
      {"offsets near 2^64",
       one(R"({"dtype":"F32","shape":[2],"data_offsets":[18446744073709551607,18446744073709551615]})"),
       "reach beyond the 8 bytes of data"},
      {"offsets beyond 2^64",
       one(R"({"dtype":"F32","shape":[2],"data_offsets":[18446744073709551616,18446744073709551624]})"),
       "'data_offsets' must be [begin, end]"},
      {"overlap",
       with_header(R"({"a":)" + f32x2 + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "tensors 'a' and 'b' overlap at bytes 4..8"},
      {"empty tensor inside another",
       with_header(R"({"a":)" + f32x2 + R"(,"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", 8),
       "tensors 'a' and 'e' overlap"},
      {"gap",
       with_header(R"({"a":)" + f32x2 + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", 20),
       "bytes 8..12 of the data belong to no tensor"},
      {"gap at start", one(R"({"dtype":"F32","shape":[2],"data_offsets":[4,12]})", 12),
       "bytes 0..4 of the data belong to no tensor"},
      {"trailing data", one(f32x2, 12), "bytes 8..12 at the end of the data belong to no tensor"},
      {"data without tensors", with_header("{}", 3), "bytes 0..3 at the end of the data belong to no tensor"},
      {"duplicate name", with_header(R"({"a":)" + f32x2 + R"(,"a":)" + f32x2 + "}", 8),
       "duplicate name 'a' in the header"},
      {"metadata not an object", with_header(R"({"__metadata__":[1]})", 0),
       "'__metadata__' must be an object, not an array"},
      {"metadata value not a string", with_header(R"({"__metadata__":{"k":1}})", 0),
       "metadata value for 'k' must be a string, not a number"},
      {"duplicate metadata key", with_header(R"({"__metadata__":{"k":"1","k":"2"}})", 0),
       "duplicate metadata key 'k'"},
      {"bool byte 2", with_header(R"({"f":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", 0) + "\1\2",
       "tensor 'f': bool element 1 is 2; bool data must be 0 or 1"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.what) {
      const std::string message = error_of(c.bytes);
      CHECK_THAT(message, StartsWith("bad.safetensors: "));
      CHECK_THAT(message, Contains(c.fragment));
    }
  }
}

TEST_CASE("safetensors reader accepts an empty header and zero-size tensors at the end") {
  CHECK(keel::decode_safetensors(with_header("{}", 0), "m").tensors.empty());
  const keel::TensorFile f =
      keel::decode_safetensors(with_header(R"({"z":{"dtype":"I64","shape":[0,5],"data_offsets":[8,8]},)"
                                           R"("a":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}  )",
                                           8),
                               "m");
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].first == "z");
  CHECK(f.tensors[0].second.shape() == keel::Shape{0, 5});
  CHECK(f.tensors[1].second.shape().empty());
}

TEST_CASE("safetensors reader turns every truncation of a valid file into an error") {
  const std::string bytes = keel::encode_safetensors(reference_file());
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    INFO("length " << len);
    CHECK_THROWS_AS(keel::decode_safetensors(bytes.substr(0, len), "cut"), keel::Error);
  }
  CHECK_NOTHROW(keel::decode_safetensors(bytes, "whole"));
}
