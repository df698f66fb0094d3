#include "batchnorm_layout.hpp"

namespace keel::norm {

namespace du = keel::dnnl_util;
using tag = dnnl::memory::format_tag;

namespace {

// Sized from the descriptor: blocked layouts pad C up to a multiple of 16.
dnnl::memory owned_memory(const dnnl::memory::desc& md, std::vector<float>& buf) {
  buf.assign(md.get_size() / sizeof(float) + 1, 0.0f);
  return {md, du::cpu_engine(), buf.data()};
}

}  // namespace

void BnLayout::build(const dnnl::memory::dims& nchw, bool training) {
  const auto f32 = dnnl::memory::data_type::f32;
  const bool spatial = nchw[2] * nchw[3] != 1;
  copies_ = spatial || nchw[1] % 16 != 0;
  input_buf_.clear();
  work_buf_.clear();
  discard_buf_.clear();
  if (!copies_) {
    kernel_md_ = dnnl::memory::desc(nchw, f32, tag::nhwc);
    input_ = du::unbound_memory(kernel_md_);
    work_ = du::unbound_memory(kernel_md_);
    out_ = du::unbound_memory(kernel_md_);
    if (training) discard_buf_.assign(kernel_md_.get_size() / sizeof(float) + 1, 0.0f);
    return;
  }
  const dnnl::memory::desc user_md(nchw, f32, tag::nchw);
  kernel_md_ = dnnl::memory::desc(nchw, f32, tag::nChw16c);
  user_in_ = du::unbound_memory(user_md);
  user_out_ = du::unbound_memory(user_md);
  work_ = owned_memory(kernel_md_, work_buf_);
  out_ = work_;
  input_ = training ? owned_memory(kernel_md_, input_buf_) : dnnl::memory();
  to_kernel_ = dnnl::reorder(user_in_, work_);
  to_user_ = dnnl::reorder(work_, user_out_);
}

const dnnl::memory& BnLayout::stage_input(dnnl::stream& s, const void* x) {
  if (!copies_) return du::bind(input_, x);
  du::bind(user_in_, x);
  to_kernel_.execute(s, user_in_, input_);
  return input_;
}

const dnnl::memory& BnLayout::staged_input(const void* x) { return copies_ ? input_ : du::bind(input_, x); }

const dnnl::memory& BnLayout::stage_work(dnnl::stream& s, const void* data) {
  if (!copies_) return du::bind(work_, data);
  du::bind(user_in_, data);
  to_kernel_.execute(s, user_in_, work_);
  return work_;
}

const dnnl::memory& BnLayout::result(void* out) {
  if (copies_) return work_;
  return du::bind(out_, out != nullptr ? out : static_cast<void*>(discard_buf_.data()));
}

void BnLayout::unstage_result(dnnl::stream& s, void* out) {
  if (!copies_ || out == nullptr) return;
  du::bind(user_out_, out);
  to_user_.execute(s, work_, user_out_);
}

}  // namespace keel::norm
