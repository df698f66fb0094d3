// Element types a tensor can hold; the set matches what .npy files carry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace keel {

enum class DType : std::uint8_t { f32, f64, i32, i64, u8, boolean };

inline constexpr DType kDTypes[] = {DType::f32, DType::f64, DType::i32,
                                    DType::i64, DType::u8,  DType::boolean};

// Bytes per element, by DType's number; 0 for a number that names no dtype.
constexpr std::size_t dtype_size(DType t) {
  constexpr std::size_t sizes[] = {4, 8, 4, 8, 1, 1};
  const auto i = static_cast<std::size_t>(t);
  return i < std::size(sizes) ? sizes[i] : 0;
}

// The spelling used in graph files, error messages and `keel plugins`.
constexpr std::string_view dtype_name(DType t) {
  constexpr std::string_view names[] = {"f32", "f64", "i32", "i64", "u8", "bool"};
  const auto i = static_cast<std::size_t>(t);
  return i < std::size(names) ? names[i] : "?";
}

constexpr std::optional<DType> dtype_from_name(std::string_view s) {
  for (DType t : kDTypes)
    if (dtype_name(t) == s) return t;
  return std::nullopt;
}

constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

}  // namespace keel
