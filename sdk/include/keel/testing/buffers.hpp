// Tensors for the conformance kit (keel/testing.hpp): aligned buffers with
// guard bytes after the end, filled from a seed, compared byte for byte.
// Header-only and independent of any test framework.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "keel/schema.hpp"
#include "keel/tensor.hpp"

namespace keel::testing {

// Binds every symbolic dimension: symbol k becomes sizes(k).
template <class Size>
Shape bind_shape(const Shape& shape, Size sizes) {
  Shape out = shape;
  for (Dim& d : out)
    if (!is_static(d)) d = sizes(static_cast<int>(-1 - d));
  return out;
}

inline bool has_symbols(const Shape& shape) { return !is_static(std::span<const Dim>(shape)); }

inline std::string spec_str(const TensorSpec& s) {
  return std::string(dtype_name(s.dtype)) + " " + shape_str(s.shape);
}

// A tensor the kit owns: 64-byte aligned as the engine promises, followed
// by guard bytes whose change reveals a write past the end.
class Buffer {
 public:
  static constexpr std::size_t kGuard = 64;
  static constexpr unsigned char kGuardByte = 0xA5;

  Buffer() = default;
  explicit Buffer(TensorSpec spec, unsigned char fill = 0) : spec_(std::move(spec)) {
    bytes_ = static_cast<std::size_t>(std::max<std::int64_t>(keel::numel(spec_.shape), 0)) *
             dtype_size(spec_.dtype);
    storage_.reset(new unsigned char[bytes_ + kGuard + 64]);
    const auto addr = reinterpret_cast<std::uintptr_t>(storage_.get());
    data_ = storage_.get() + ((64 - addr % 64) % 64);
    std::memset(data_, fill, bytes_);
    std::memset(data_ + bytes_, kGuardByte, kGuard);
  }
  Buffer(const Buffer& o) : Buffer(o.spec_) { std::memcpy(data_, o.data_, bytes_); }
  Buffer& operator=(const Buffer& o) {
    if (this != &o) {
      Buffer copy(o);
      std::swap(spec_, copy.spec_);
      std::swap(storage_, copy.storage_);
      std::swap(data_, copy.data_);
      std::swap(bytes_, copy.bytes_);
    }
    return *this;
  }
  Buffer(Buffer&&) = default;
  Buffer& operator=(Buffer&&) = default;

  const TensorSpec& spec() const { return spec_; }
  std::size_t nbytes() const { return bytes_; }
  std::int64_t numel() const { return keel::numel(spec_.shape); }
  void* data() { return data_; }
  const void* data() const { return data_; }
  TensorView view() { return {spec_.dtype, spec_.shape, data_}; }
  ConstTensorView cview() const { return {spec_.dtype, spec_.shape, data_}; }

  bool guard_intact() const {
    for (std::size_t i = 0; i < kGuard; ++i)
      if (data_[bytes_ + i] != kGuardByte) return false;
    return true;
  }
  bool same_bytes(const Buffer& o) const {
    return bytes_ == o.bytes_ && std::memcmp(data_, o.data_, bytes_) == 0;
  }

  double get(std::int64_t i) const {
    switch (spec_.dtype) {
      case DType::f32:
        return reinterpret_cast<const float*>(data_)[i];
      case DType::f64:
        return reinterpret_cast<const double*>(data_)[i];
      case DType::i32:
        return reinterpret_cast<const std::int32_t*>(data_)[i];
      case DType::i64:
        return static_cast<double>(reinterpret_cast<const std::int64_t*>(data_)[i]);
      case DType::u8:
      case DType::boolean:
        return data_[i];
    }
    return 0.0;
  }
  void set(std::int64_t i, double v) {
    switch (spec_.dtype) {
      case DType::f32:
        reinterpret_cast<float*>(data_)[i] = static_cast<float>(v);
        break;
      case DType::f64:
        reinterpret_cast<double*>(data_)[i] = v;
        break;
      case DType::i32:
        reinterpret_cast<std::int32_t*>(data_)[i] = static_cast<std::int32_t>(v);
        break;
      case DType::i64:
        reinterpret_cast<std::int64_t*>(data_)[i] = static_cast<std::int64_t>(v);
        break;
      case DType::u8:
        data_[i] = static_cast<unsigned char>(v);
        break;
      case DType::boolean:
        data_[i] = v != 0.0;
        break;
    }
  }

 private:
  TensorSpec spec_;
  std::unique_ptr<unsigned char[]> storage_;
  unsigned char* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// Values for one example input: its explicit values, or uniform draws from
// [low, high] (integers for integer dtypes).
inline void fill_input(Buffer& b, const ExampleInput& in, std::mt19937_64& rng) {
  const std::int64_t n = b.numel();
  if (!in.values.empty()) {
    for (std::int64_t i = 0; i < n; ++i) b.set(i, in.values[static_cast<std::size_t>(i) % in.values.size()]);
    return;
  }
  if (is_floating(b.spec().dtype)) {
    std::uniform_real_distribution<double> dist(in.low, in.high);
    for (std::int64_t i = 0; i < n; ++i) b.set(i, dist(rng));
  } else {
    std::uniform_int_distribution<std::int64_t> dist(static_cast<std::int64_t>(std::ceil(in.low)),
                                                     static_cast<std::int64_t>(std::floor(in.high)));
    for (std::int64_t i = 0; i < n; ++i) b.set(i, static_cast<double>(dist(rng)));
  }
}

// A parameter's values: what its init gives in spirit (ones stay near one,
// zeros near zero), with noise on trainable ones so gradients are not
// degenerate. Non-trainable state starts exactly at zeros or ones.
inline void fill_param(Buffer& b, const ParamSpec& p, std::mt19937_64& rng) {
  const double base = p.init == Init::Ones ? 1.0 : 0.0;
  std::uniform_real_distribution<double> dist(-0.5, 0.5);
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    const bool random_init = p.init != Init::Zeros && p.init != Init::Ones;
    b.set(i, p.trainable || random_init ? base + dist(rng) : base);
  }
}

inline std::vector<TensorView> views(std::vector<Buffer>& bs) {
  std::vector<TensorView> v;
  for (Buffer& b : bs) v.push_back(b.view());
  return v;
}

inline std::vector<ConstTensorView> cviews(const std::vector<Buffer>& bs) {
  std::vector<ConstTensorView> v;
  for (const Buffer& b : bs) v.push_back(b.cview());
  return v;
}

inline bool same_bytes(const std::vector<Buffer>& a, const std::vector<Buffer>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!a[i].same_bytes(b[i])) return false;
  return true;
}

}  // namespace keel::testing
