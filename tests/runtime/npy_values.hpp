// The values every .npy fixture holds, element i in flat C order; the same
// formulas are in tests/data/npy/make_fixtures.py and in the NumPy check of
// npy_write_test.cpp, so each side is computed independently.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#include "runtime/tensor.hpp"

namespace npy_values {

inline double f64(std::int64_t i) { return static_cast<double>(i - 2) / 3.0; }
inline float f32(std::int64_t i) { return static_cast<float>(f64(i)); }
inline std::int32_t i32(std::int64_t i) { return static_cast<std::int32_t>(7 * i - 20); }
inline std::int64_t i64(std::int64_t i) { return 3'000'000'000LL * i - 5; }
inline std::uint8_t u8(std::int64_t i) { return static_cast<std::uint8_t>((37 * i) % 256); }
inline bool boolean(std::int64_t i) { return i % 3 == 0; }

// Calls f(i, expected) with element i's expected value, typed as stored.
template <class F>
void for_each_expected(const keel::Tensor& t, F&& f) {
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case keel::DType::f32:
        f(i, f32(i));
        break;
      case keel::DType::f64:
        f(i, f64(i));
        break;
      case keel::DType::i32:
        f(i, i32(i));
        break;
      case keel::DType::i64:
        f(i, i64(i));
        break;
      case keel::DType::u8:
        f(i, u8(i));
        break;
      case keel::DType::boolean:
        f(i, static_cast<std::uint8_t>(boolean(i)));
        break;
    }
  }
}

inline void fill(keel::Tensor& t) {
  auto* bytes = static_cast<unsigned char*>(t.data());
  for_each_expected(t, [&](std::int64_t i, auto v) {
    std::memcpy(bytes + i * static_cast<std::int64_t>(sizeof v), &v, sizeof v);
  });
}

// A tensor of `dtype` and `shape` holding the formulas' values.
inline keel::Tensor filled(keel::DType dtype, keel::Shape shape) {
  keel::Tensor t(dtype, std::move(shape));
  fill(t);
  return t;
}

// Index of the first element that differs from the formula, or -1.
inline std::int64_t first_mismatch(const keel::Tensor& t) {
  const auto* bytes = static_cast<const unsigned char*>(t.data());
  std::int64_t bad = -1;
  for_each_expected(t, [&](std::int64_t i, auto v) {
    decltype(v) got;
    std::memcpy(&got, bytes + i * static_cast<std::int64_t>(sizeof v), sizeof v);
    if (bad < 0 && got != v) bad = i;
  });
  return bad;
}

}  // namespace npy_values
