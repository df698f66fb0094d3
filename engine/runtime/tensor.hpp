// An owning, 64-byte aligned, C-ordered tensor. Copies share the buffer
// (cheap handles); clone() makes an independent copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "keel/tensor.hpp"

namespace keel {

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
