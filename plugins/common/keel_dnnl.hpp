// oneDNN plumbing shared by the bundled plugins: one CPU engine per process,
// one stream per thread, plain f32 memory descriptors for Keel shapes, and
// tensor views bound to cached dnnl::memory objects without copying.
//
// Header-only on purpose: each plugin is a separate module with hidden
// visibility, so each gets its own copy and nothing crosses the boundary.
#pragma once

#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <span>

#include "keel/keel.hpp"

namespace keel::dnnl_util {

inline const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A oneDNN stream may not be used from two threads at once, and different
// ops may run concurrently, so every thread that executes gets its own.
inline dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

constexpr int max_rank = DNNL_MAX_NDIMS;

// oneDNN has no rank-0 tensors: a scalar is a one-element vector.
inline dnnl::memory::dims to_dims(std::span<const Dim> shape) {
  if (shape.empty()) return {1};
  return dnnl::memory::dims(shape.begin(), shape.end());
}

inline dnnl::memory::dims c_order_strides(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

// Format tags stop at rank 6; explicit strides cover every rank oneDNN has.
inline dnnl::memory::desc f32_desc(const dnnl::memory::dims& dims) {
  return {dims, dnnl::memory::data_type::f32, c_order_strides(dims)};
}

inline dnnl::memory::desc f32_desc(const dnnl::memory::dims& dims, const dnnl::memory::dims& strides) {
  return {dims, dnnl::memory::data_type::f32, strides};
}

// Made once in prepare(); forward/backward only point it at the step's data.
inline dnnl::memory unbound_memory(const dnnl::memory::desc& md) {
  return {md, cpu_engine(), DNNL_MEMORY_NONE};
}

// oneDNN takes a mutable pointer even for tensors it only reads.
inline const dnnl::memory& bind(const dnnl::memory& mem, const void* data) {
  mem.set_data_handle(const_cast<void*>(data));
  return mem;
}

inline Status expect_f32(const char* op, const char* port, const TensorSpec& spec) {
  if (spec.dtype != DType::f32)
    return fail(op, ": ", port, " has dtype ", dtype_name(spec.dtype), "; only f32 is supported");
  return Status::Ok();
}

// Zero-fills a gradient or output the op must write but has no work for
// (empty operands); a null view is a gradient nobody asked for.
inline void zero_fill(const TensorView& t) {
  if (t.data != nullptr && t.nbytes() != 0) std::memset(t.data, 0, t.nbytes());
}

}  // namespace keel::dnnl_util
