// Non-owning views of contiguous, C-ordered tensors, and shapes whose
// dimensions may be symbolic (named in the graph file, such as `batch`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "keel/dtype.hpp"

namespace keel {

// A dimension is a non-negative size, or a symbol (a negative number, see
// symbolic_dim) that stands for a size bound only when data arrives. Two
// symbolic dimensions are equal exactly when they are the same symbol, so an
// op's `infer` can compare dimensions with == whether they are bound or not.
using Dim = std::int64_t;
using Shape = std::vector<Dim>;

constexpr bool is_static(Dim d) { return d >= 0; }
constexpr Dim symbolic_dim(int symbol_index) { return -1 - symbol_index; }

inline bool is_static(std::span<const Dim> shape) {
  for (Dim d : shape)
    if (!is_static(d)) return false;
  return true;
}

// Element count; only meaningful for a static shape.
inline std::int64_t numel(std::span<const Dim> shape) {
  std::int64_t n = 1;
  for (Dim d : shape) n *= d;
  return n;
}

struct TensorSpec {
  DType dtype = DType::f32;
  Shape shape;
  friend bool operator==(const TensorSpec&, const TensorSpec&) = default;
};

// A view of a tensor the engine owns. `data` is aligned to 64 bytes and
// holds numel(shape) elements of `dtype` in C order.
template <class Ptr>
struct BasicTensorView {
  DType dtype = DType::f32;
  std::span<const Dim> shape;
  Ptr data = nullptr;

  std::int64_t numel() const { return keel::numel(shape); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype); }
  int rank() const { return static_cast<int>(shape.size()); }
  template <class T>
  auto as() const {
    using Out = std::conditional_t<std::is_const_v<std::remove_pointer_t<Ptr>>, const T*, T*>;
    return static_cast<Out>(data);
  }
};

using TensorView = BasicTensorView<void*>;
using ConstTensorView = BasicTensorView<const void*>;

// Human-readable shape, with symbols shown as `?` unless names are given.
inline std::string shape_str(std::span<const Dim> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += is_static(shape[i]) ? std::to_string(shape[i]) : std::string("?");
  }
  return s + "]";
}

}  // namespace keel
