// An owning, 64-byte aligned, C-ordered tensor. Copies share the buffer
// (cheap handles); clone() makes an independent copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "keel/tensor.hpp"

namespace keel {

// The bytes a tensor of this shape takes, multiplied in the order Tensor's
// constructor does (element size, then each dimension); nullopt when a
// partial product leaves 63 bits, even if a later dimension is 0: such a
// shape ([2^62, 0] for f32) is an input error for readers to report, not an
// allocation for the engine to fail ("out of memory") later.
std::optional<std::uint64_t> checked_nbytes(DType dtype, std::span<const Dim> shape);

// A shape as messages quote it: shape_str, but a shape of more than 16
// dimensions shows its first 8, "...", its last 2 and the count, so a
// hostile file's 200,000-dimension shape keeps the message short.
std::string shape_for_message(std::span<const Dim> shape);

class Tensor {
 public:
  Tensor() = default;
  // Allocates numel(shape) zero-filled elements. The shape must be static.
  Tensor(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::int64_t numel() const { return keel::numel(shape_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return !buffer_; }

  void* data() { return buffer_.get(); }
  const void* data() const { return buffer_.get(); }
  template <class T>
  T* as() {
    return static_cast<T*>(data());
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data());
  }

  TensorView view() { return {dtype_, shape_, data()}; }
  ConstTensorView view() const { return {dtype_, shape_, data()}; }
  TensorSpec spec() const { return {dtype_, shape_}; }

  Tensor clone() const;

  // A tensor at byte `offset` inside `storage` (an arena the caller
  // sized and aligned), sharing its ownership: the executor's memory plan
  // places many values in one allocation this way.
  static Tensor alias(const Tensor& storage, std::size_t offset, DType dtype, Shape shape);

 private:
  DType dtype_ = DType::f32;
  Shape shape_;
  std::shared_ptr<std::byte> buffer_;
};

}  // namespace keel
