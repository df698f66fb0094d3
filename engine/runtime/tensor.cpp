#include "runtime/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace keel {

namespace {
constexpr std::size_t kAlign = 64;

std::shared_ptr<std::byte> allocate(std::size_t bytes) {
  // aligned_alloc needs a multiple of the alignment; never ask for 0 bytes so
  // an empty tensor still has a distinct, valid pointer.
  std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return {static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); }};
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (!is_static(shape_)) throw std::logic_error("Tensor needs a static shape");
  std::uint64_t bytes = dtype_size(dtype_);
  for (Dim d : shape_)
    if (__builtin_mul_overflow(bytes, std::uint64_t(d), &bytes)) throw std::bad_alloc();
  buffer_ = allocate(bytes);
}

Tensor Tensor::alias(const Tensor& storage, std::size_t offset, DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  if (offset + t.nbytes() > storage.nbytes()) throw std::logic_error("Tensor::alias outside its storage");
  t.buffer_ = std::shared_ptr<std::byte>(storage.buffer_, storage.buffer_.get() + offset);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data(), data(), nbytes());
  return t;
}

}  // namespace keel
