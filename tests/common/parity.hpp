// Reading PyTorch parity fixtures (tests/parity/fixtures/<family>/<case>/
// NAME.npy, written by the tests/parity/make_*.py scripts) into the float
// vectors the op harness works with.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/npy.hpp"

namespace parity {

inline std::filesystem::path case_dir(const std::string& family, const std::string& name) {
  return std::filesystem::path(KEEL_SOURCE_DIR) / "tests/parity/fixtures" / family / name;
}

inline bool has(const std::filesystem::path& dir, const std::string& array) {
  return std::filesystem::exists(dir / (array + ".npy"));
}

// Any numeric dtype, converted to float (labels are small integers).
inline std::vector<float> load(const std::filesystem::path& dir, const std::string& array) {
  const auto file = dir / (array + ".npy");
  INFO("fixture " << file);
  REQUIRE(std::filesystem::exists(file));
  keel::Tensor t = keel::read_npy(file);
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype()) {
      case keel::DType::f32:
        v[i] = t.as<float>()[i];
        break;
      case keel::DType::f64:
        v[i] = float(t.as<double>()[i]);
        break;
      case keel::DType::i32:
        v[i] = float(t.as<std::int32_t>()[i]);
        break;
      case keel::DType::i64:
        v[i] = float(t.as<std::int64_t>()[i]);
        break;
      default:
        v[i] = float(t.as<std::uint8_t>()[i]);
        break;
    }
  }
  return v;
}

inline keel::Shape shape(const std::filesystem::path& dir, const std::string& array) {
  return keel::read_npy(dir / (array + ".npy")).shape();
}

}  // namespace parity
