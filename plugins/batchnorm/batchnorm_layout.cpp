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

void BnLayout::build(const dnnl::memory::dims& nchw) {
  const auto f32 = dnnl::memory::data_type::f32;
  const bool spatial = nchw[2] * nchw[3] != 1;
  copies_ = spatial || nchw[1] % 16 != 0;
  work_buf_.clear();
  if (!copies_) {
    kernel_md_ = dnnl::memory::desc(nchw, f32, tag::nhwc);
    work_ = du::unbound_memory(kernel_md_);
    out_ = du::unbound_memory(kernel_md_);
    return;
  }
  const dnnl::memory::desc user_md(nchw, f32, tag::nchw);
  kernel_md_ = dnnl::memory::desc(nchw, f32, tag::nChw16c);
  user_in_ = du::unbound_memory(user_md);
  user_out_ = du::unbound_memory(user_md);
  work_ = owned_memory(kernel_md_, work_buf_);
  out_ = work_;
  to_kernel_ = dnnl::reorder(user_in_, work_);
  to_user_ = dnnl::reorder(work_, user_out_);
}

const dnnl::memory& BnLayout::stage_work(dnnl::stream& s, const void* data) {
  if (!copies_) return du::bind(work_, data);
  du::bind(user_in_, data);
  to_kernel_.execute(s, user_in_, work_);
  return work_;
}

const dnnl::memory& BnLayout::result(void* out) { return copies_ ? work_ : du::bind(out_, out); }

void BnLayout::unstage_result(dnnl::stream& s, void* out) {
  if (!copies_) return;
  du::bind(user_out_, out);
  to_user_.execute(s, work_, user_out_);
}

}  // namespace keel::norm
