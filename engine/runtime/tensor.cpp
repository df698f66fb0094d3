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

std::optional<std::uint64_t> checked_nbytes(DType dtype, std::span<const Dim> shape) {
  std::uint64_t bytes = dtype_size(dtype);
  constexpr std::uint64_t kMax = std::uint64_t{1} << 62;  // numel, an int64, and sizes stay far from wrapping
  for (Dim d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, std::uint64_t(d), &bytes) || bytes > kMax) return std::nullopt;
  return bytes;
}

std::string shape_for_message(std::span<const Dim> shape) {
  constexpr std::size_t kMaxShown = 16, kHead = 8, kTail = 2;
  if (shape.size() <= kMaxShown) return shape_str(shape);
  std::string head = shape_str(shape.first(kHead)), tail = shape_str(shape.last(kTail));
  head.pop_back();  // "]"
  return head + ", ..., " + tail.substr(1) + " (" + std::to_string(shape.size()) + " dimensions)";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (!is_static(shape_)) throw std::logic_error("Tensor needs a static shape");
  const std::optional<std::uint64_t> bytes = checked_nbytes(dtype_, shape_);
  if (!bytes) throw std::bad_alloc();
  buffer_ = allocate(static_cast<std::size_t>(*bytes));
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
