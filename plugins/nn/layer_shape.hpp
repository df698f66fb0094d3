// Shape arithmetic shared by the layer ops. Dimensions come from graph files
// before any data exists, so products are checked for overflow instead of
// trusted, and axes are checked against the rank before they index anything.
#pragma once

#include <cstdint>
#include <optional>

#include "keel/keel.hpp"

namespace keel::nn::layer {

// The product of static sizes, or nothing when it does not fit in a Dim.
inline std::optional<Dim> checked_product(Shape::const_iterator first, Shape::const_iterator last) {
  Dim n = 1;
  for (; first != last; ++first)
    if (__builtin_mul_overflow(n, *first, &n)) return std::nullopt;
  return n;
}

// Maps a Python-style axis (negative counts from the end) into [0, rank).
inline Status normalize_axis(const char* op, std::int64_t axis, std::size_t rank, std::size_t& out) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r)
    return fail(op, ": axis ", axis, " is out of range for rank ", rank, " (allowed ", -r, " to ", r - 1,
                ")");
  out = static_cast<std::size_t>(axis < 0 ? axis + r : axis);
  return Status::Ok();
}

}  // namespace keel::nn::layer
