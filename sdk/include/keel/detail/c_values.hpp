// Conversions between the C values of keel/abi.h and the SDK's C++ types,
// used on both sides of the boundary: a plugin turns its schemas into C
// structs, a host turns them back; a host turns attributes into C structs,
// a plugin turns them back. Each side compiles this with its own compiler
// and standard library; only the C structs pass between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "keel/abi.h"
#include "keel/schema.hpp"
#include "keel/status.hpp"
#include "keel/tensor.hpp"

namespace keel::detail {

inline const char* c_str_or_empty(const char* s) { return s ? s : ""; }

// A C attribute pointing into `value`, which must outlive it.
inline keel_attr to_c(const char* name, const AttrValue& value) {
  keel_attr a{};
  a.name = name;
  a.type = static_cast<std::int32_t>(value.index());
  if (auto* i = std::get_if<std::int64_t>(&value)) a.i = *i;
  if (auto* f = std::get_if<double>(&value)) a.f = *f;
  if (auto* b = std::get_if<bool>(&value)) a.b = *b ? 1 : 0;
  if (auto* s = std::get_if<std::string>(&value)) {
    a.s = s->data();
    a.count = s->size();
  }
  if (auto* is = std::get_if<std::vector<std::int64_t>>(&value)) {
    a.ints = is->data();
    a.count = is->size();
  }
  if (auto* fs = std::get_if<std::vector<double>>(&value)) {
    a.floats = fs->data();
    a.count = fs->size();
  }
  return a;
}

inline AttrValue from_c(const keel_attr& a) {
  switch (a.type) {
    case KEEL_ATTR_INT:
      return a.i;
    case KEEL_ATTR_FLOAT:
      return a.f;
    case KEEL_ATTR_BOOL:
      return a.b != 0;
    case KEEL_ATTR_STRING:
      return std::string(a.s ? a.s : "", a.s ? a.count : 0);
    case KEEL_ATTR_INTS:
      return std::vector<std::int64_t>(a.ints, a.ints ? a.ints + a.count : a.ints);
    default:
      return std::vector<double>(a.floats, a.floats ? a.floats + a.count : a.floats);
  }
}

// C attributes pointing into `values` (names and values), which must outlive them.
inline std::vector<keel_attr> to_c(const std::map<std::string, AttrValue>& values) {
  std::vector<keel_attr> out;
  out.reserve(values.size());
  for (const auto& [name, value] : values) out.push_back(to_c(name.c_str(), value));
  return out;
}

inline std::map<std::string, AttrValue> from_c(const keel_attr* attrs, std::size_t n) {
  std::map<std::string, AttrValue> out;
  for (std::size_t i = 0; i < n; ++i) out.emplace(c_str_or_empty(attrs[i].name), from_c(attrs[i]));
  return out;
}

inline keel_spec to_c(const TensorSpec& t) {
  return {static_cast<std::int32_t>(t.dtype), static_cast<std::int32_t>(t.shape.size()), t.shape.data()};
}

inline Shape shape_from_c(std::int32_t rank, const std::int64_t* shape) {
  return rank > 0 && shape ? Shape(shape, shape + rank) : Shape{};
}

inline TensorSpec from_c(const keel_spec& s) {
  return {static_cast<DType>(s.dtype), shape_from_c(s.rank, s.shape)};
}

inline std::vector<keel_spec> to_c(std::span<const TensorSpec> specs) {
  std::vector<keel_spec> out;
  out.reserve(specs.size());
  for (const TensorSpec& t : specs) out.push_back(to_c(t));
  return out;
}

inline std::vector<TensorSpec> from_c(const keel_specs& specs) {
  std::vector<TensorSpec> out;
  out.reserve(specs.count);
  for (std::size_t i = 0; i < specs.count; ++i) out.push_back(from_c(specs.data[i]));
  return out;
}

inline keel_specs as_c(const std::vector<keel_spec>& specs) { return {specs.data(), specs.size()}; }

// Tensor views converted without allocating for the usual few ports: ops
// run every step, and the boundary must cost nanoseconds, not a malloc.
// The inline slots are left uninitialized: only the n used are written.
template <class From, class To, std::size_t Inline = 8>
class ViewArray {
  static_assert(std::is_trivially_copyable_v<To> && std::is_trivially_destructible_v<To>);

 public:
  template <class Convert>
  ViewArray(const From* from, std::size_t n, Convert convert) : n_(n) {
    To* out = reinterpret_cast<To*>(inline_);
    if (n > Inline) {
      heap_.resize(n);
      out = heap_.data();
    }
    for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(out + i)) To(convert(from[i]));
    data_ = n > Inline ? out : std::launder(reinterpret_cast<To*>(inline_));
  }
  ViewArray(const ViewArray&) = delete;
  ViewArray& operator=(const ViewArray&) = delete;
  std::span<const To> span() const { return {data_, n_}; }
  const To* data() const { return data_; }
  std::size_t size() const { return n_; }

 private:
  alignas(To) unsigned char inline_[Inline * sizeof(To)];
  std::vector<To> heap_;
  const To* data_ = nullptr;
  std::size_t n_ = 0;
};

template <class Ptr>
keel_tensor to_c_tensor(const BasicTensorView<Ptr>& v) {
  return {static_cast<std::int32_t>(v.dtype), static_cast<std::int32_t>(v.shape.size()), v.shape.data(),
          const_cast<void*>(static_cast<const void*>(v.data))};
}

template <class View>
View view_from_c(const keel_tensor& t) {
  return {static_cast<DType>(t.dtype), std::span<const Dim>(t.shape, t.shape ? std::size_t(t.rank) : 0),
          t.data};
}

inline void report(keel_error* error, bool threw, const char* message) {
  if (error && error->set) error->set(error->ctx, threw ? 1 : 0, message);
}

// Runs a plugin-side call: a failed Status and any exception become the
// C error and a nonzero return, so nothing thrown crosses the boundary.
template <class Call>
int guarded_call(keel_error* error, Call&& call) noexcept {
  try {
    const Status st = call();
    if (st.ok()) return 0;
    report(error, false, st.message().c_str());
  } catch (const std::exception& e) {
    report(error, true, e.what());
  } catch (...) {
    report(error, true, "an unknown exception");
  }
  return 1;
}

}  // namespace keel::detail
