// The benchmarked ops written directly against oneDNN's API: the floor the
// engine is measured against. Each builds its primitives once and reuses
// memory objects bound to its own buffers, the cheapest way to call oneDNN.
// Layouts and reorders follow what the plugins do (plugins/nn/linear.cpp,
// plugins/batchnorm/batchnorm_layout.hpp, plugins/common/keel_conv.hpp), so
// the difference to the engine is the engine and the plugin wrapper alone.
#pragma once

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <unordered_map>
#include <vector>

namespace keel::bench::raw {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using Args = std::unordered_map<int, dnnl::memory>;
constexpr auto f32 = dnnl::memory::data_type::f32;

inline const dnnl::engine& eng() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
inline dnnl::stream& strm() {
  static dnnl::stream s(eng());
  return s;
}

// A memory object owning its buffer, filled with values in [-1, 1].
inline dnnl::memory filled(const dnnl::memory::desc& md, unsigned seed = 1) {
  dnnl::memory m(md, eng());
  auto* p = static_cast<float*>(m.get_data_handle());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::size_t i = 0; i < md.get_size() / sizeof(float); ++i) p[i] = u(rng);
  return m;
}

inline dnnl::memory::desc plain(const dims& d) {
  static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd};
  return {d, f32, tags[d.size()]};
}

// y = x · Wᵀ + b as the linear plugin builds it (Wᵀ a strided view of W),
// and optionally its backward: grad_x, grad_W and grad_b (a matmul with a
// row of ones).
class Linear {
 public:
  Linear(dnnl::memory::dim m, dnnl::memory::dim k, dnnl::memory::dim n, bool training) {
    const auto x_md = plain({m, k}), y_md = plain({m, n}), w_md = plain({n, k}), b_md = plain({1, n});
    const dnnl::memory::desc wt_md({k, n}, f32, dims{1, k}), gyt_md({n, m}, f32, dims{1, n});
    x_ = filled(x_md), w_ = filled(w_md, 2), b_ = filled(b_md, 3), y_ = filled(y_md, 4);
    const dnnl::memory wt(wt_md, eng(), w_.get_data_handle());
    fwd_ = dnnl::matmul({{x_md, wt_md, b_md, y_md}, eng()});
    fwd_args_ = {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_BIAS, b_}, {DNNL_ARG_DST, y_}};
    if (!training) return;
    const dnnl::memory gy = filled(y_md, 5), gx(x_md, eng()), gw(w_md, eng()), gb(b_md, eng());
    const dnnl::memory gyt(gyt_md, eng(), gy.get_data_handle());
    ones_.assign(std::size_t(m), 1.0f);
    const dnnl::memory ones(plain({1, m}), eng(), ones_.data());
    bwd_ = {dnnl::matmul({{y_md, w_md, x_md}, eng()}), dnnl::matmul({{gyt_md, x_md, w_md}, eng()}),
            dnnl::matmul({{plain({1, m}), y_md, b_md}, eng()})};
    bwd_args_ = {{{DNNL_ARG_SRC, gy}, {DNNL_ARG_WEIGHTS, w_}, {DNNL_ARG_DST, gx}},
                 {{DNNL_ARG_SRC, gyt}, {DNNL_ARG_WEIGHTS, x_}, {DNNL_ARG_DST, gw}},
                 {{DNNL_ARG_SRC, ones}, {DNNL_ARG_WEIGHTS, gy}, {DNNL_ARG_DST, gb}}};
  }
  void forward() {
    fwd_.execute(strm(), fwd_args_);
    strm().wait();
  }
  void forward_backward() {
    fwd_.execute(strm(), fwd_args_);
    for (std::size_t i = 0; i < bwd_.size(); ++i) bwd_[i].execute(strm(), bwd_args_[i]);
    strm().wait();
  }

 private:
  dnnl::memory x_, w_, b_, y_;
  std::vector<float> ones_;
  dnnl::matmul fwd_;
  Args fwd_args_;
  std::vector<dnnl::matmul> bwd_;
  std::vector<Args> bwd_args_;
};

// Training batch norm, forward then backward. `kernel` is the layout the
// primitives run on; when it differs from `user` (the tensors' plain
// layout), x and grad_y are reordered in and the results out, and the
// backward reuses the forward's reordered x, as the batchnorm plugin does.
//
// `shared`, when given, holds x, grad_y, y and grad_x buffers (in the user
// layout) to run on instead of its own. For memory-bound sizes the physical
// placement of four 16 MiB buffers alone moves the time by several percent
// between otherwise identical instances, so the engine-vs-raw comparison
// runs both on the same buffers.
struct BatchNormBuffers {
  void *x, *grad_y, *y, *grad_x;
};

class BatchNorm {
 public:
  BatchNorm(const dnnl::memory::desc& user, const dnnl::memory::desc& kernel,
            const BatchNormBuffers* shared = nullptr)
      : copies_(user != kernel) {
    using flags = dnnl::normalization_flags;
    const auto affine = flags::use_scale | flags::use_shift;
    const float eps = 1e-5f;
    const dnnl::batch_normalization_forward::primitive_desc fwd_pd(
        {dnnl::prop_kind::forward_training, kernel, eps, affine}, eng());
    fwd_ = dnnl::batch_normalization_forward(fwd_pd);
    bwd_ = dnnl::batch_normalization_backward(
        {{dnnl::prop_kind::backward, kernel, kernel, eps, affine}, eng(), fwd_pd});
    const dnnl::memory::dim c = user.dims()[1];
    const auto ch = plain({c});
    if (shared) {
      x_ = dnnl::memory(user, eng(), shared->x), gy_ = dnnl::memory(user, eng(), shared->grad_y);
      y_ = dnnl::memory(user, eng(), shared->y), gx_ = dnnl::memory(user, eng(), shared->grad_x);
    } else {
      x_ = filled(user), gy_ = filled(user, 2), y_ = dnnl::memory(user, eng()),
      gx_ = dnnl::memory(user, eng());
    }
    const dnnl::memory mean(ch, eng()), var(ch, eng()), scale = filled(ch, 3), shift = filled(ch, 4),
                                                        dscale(ch, eng()), dshift(ch, eng());
    // Without copies the primitives read and write the user's buffers.
    dnnl::memory in = x_, work = y_, grad_in = gy_, grad_out = gx_;
    if (copies_) {
      in = dnnl::memory(kernel, eng()), work = dnnl::memory(kernel, eng());
      grad_in = grad_out = work;  // batch norm's backward runs in place, as in the plugin
      to_kernel_ = dnnl::reorder(x_, in);
      to_user_ = dnnl::reorder(work, y_);
    }
    in_ = in, work_ = work;
    fwd_args_ = {{DNNL_ARG_SRC, in},       {DNNL_ARG_DST, work},    {DNNL_ARG_MEAN, mean},
                 {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift}};
    bwd_args_ = {{DNNL_ARG_SRC, in},
                 {DNNL_ARG_DIFF_DST, grad_in},
                 {DNNL_ARG_MEAN, mean},
                 {DNNL_ARG_VARIANCE, var},
                 {DNNL_ARG_SCALE, scale},
                 {DNNL_ARG_SHIFT, shift},
                 {DNNL_ARG_DIFF_SRC, grad_out},
                 {DNNL_ARG_DIFF_SCALE, dscale},
                 {DNNL_ARG_DIFF_SHIFT, dshift}};
  }
  void forward_backward() {
    dnnl::stream& s = strm();
    if (copies_) to_kernel_.execute(s, x_, in_);
    fwd_.execute(s, fwd_args_);
    if (copies_) {
      to_user_.execute(s, work_, y_);
      to_kernel_.execute(s, gy_, work_);
    }
    bwd_.execute(s, bwd_args_);
    if (copies_) to_user_.execute(s, work_, gx_);
    s.wait();
  }

 private:
  bool copies_;
  dnnl::memory x_, gy_, y_, gx_, in_, work_;
  dnnl::reorder to_kernel_, to_user_;
  dnnl::batch_normalization_forward fwd_;
  dnnl::batch_normalization_backward bwd_;
  Args fwd_args_, bwd_args_;
};

// y = skip + branch with oneDNN's binary add (the residual plugin adds in a
// plain loop), or with a projection: y = skip · Wᵀ + branch, one matmul with
// the add fused as a post-op.
class Residual {
 public:
  Residual(dnnl::memory::dim n, dnnl::memory::dim out, dnnl::memory::dim in) {
    const auto y_md = plain({n, out}), skip_md = plain({n, in});
    branch_ = filled(y_md), skip_ = filled(skip_md, 2), y_ = dnnl::memory(y_md, eng());
    if (in == out) {
      prim_ = dnnl::binary({{dnnl::algorithm::binary_add, y_md, y_md, y_md}, eng()});
      args_ = {{DNNL_ARG_SRC_0, skip_}, {DNNL_ARG_SRC_1, branch_}, {DNNL_ARG_DST, y_}};
      return;
    }
    const dnnl::memory::desc wt_md({in, out}, f32, dims{1, in});
    dnnl::post_ops ops;
    ops.append_binary(dnnl::algorithm::binary_add, y_md);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    prim_ = dnnl::matmul({{skip_md, wt_md, y_md}, attr, eng()});
    args_ = {{DNNL_ARG_SRC, skip_},
             {DNNL_ARG_WEIGHTS, filled(wt_md, 3)},
             {DNNL_ARG_DST, y_},
             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, branch_}};
  }
  void forward() {
    prim_.execute(strm(), args_);
    strm().wait();
  }

 private:
  dnnl::memory branch_, skip_, y_;
  dnnl::primitive prim_;
  Args args_;
};

// A tensor crossing from the user's plain layout to the one a convolution
// primitive chose, reordered on every call when they differ (as the conv2d
// plugin does, weights included).
class Port {
 public:
  Port() = default;
  Port(const dnnl::memory& user, const dnnl::memory::desc& chosen, bool into) : user_(user), inner_(user) {
    if (user.get_desc() == chosen) return;
    inner_ = dnnl::memory(chosen, eng());
    reorder_ = into ? dnnl::reorder(user_, inner_) : dnnl::reorder(inner_, user_);
    reordered_ = true;
  }
  const dnnl::memory& mem() const { return inner_; }
  void in(dnnl::stream& s) {
    if (reordered_) reorder_.execute(s, user_, inner_);
  }
  void out(dnnl::stream& s) {
    if (reordered_) reorder_.execute(s, inner_, user_);
  }

 private:
  dnnl::memory user_, inner_;
  dnnl::reorder reorder_;
  bool reordered_ = false;
};

// A stride-1 convolution with bias on plain NCHW/OIHW tensors, primitives
// created with format_tag::any so oneDNN picks its blocked layouts; with
// `training`, also backward data and backward weights (+ bias).
class Conv {
 public:
  Conv(const dims& x_dims, dnnl::memory::dim c_out, dnnl::memory::dim k, dnnl::memory::dim pad,
       bool training) {
    const dnnl::memory::dim n = x_dims[0], c = x_dims[1], h = x_dims[2], w = x_dims[3];
    const dims w_dims{c_out, c, k, k}, y_dims{n, c_out, h + 2 * pad - k + 1, w + 2 * pad - k + 1};
    const dims strides{1, 1}, dilates{0, 0}, pads{pad, pad};
    const dnnl::memory::desc x_any(x_dims, f32, tag::any), w_any(w_dims, f32, tag::any),
        y_any(y_dims, f32, tag::any);
    const auto b_md = plain({c_out});
    x_ = filled(plain(x_dims)), w_ = filled(plain(w_dims), 2), b_ = filled(b_md, 3);
    y_ = dnnl::memory(plain(y_dims), eng()), gy_ = filled(plain(y_dims), 4);
    gx_ = dnnl::memory(plain(x_dims), eng()), gw_ = dnnl::memory(plain(w_dims), eng()),
    gb_ = dnnl::memory(b_md, eng());
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const auto direct = dnnl::algorithm::convolution_direct;
    const dnnl::convolution_forward::primitive_desc fwd_pd(
        {kind, direct, x_any, w_any, b_md, y_any, strides, dilates, pads, pads}, attr, eng());
    fwd_ = dnnl::convolution_forward(fwd_pd);
    ports_ = {Port(x_, fwd_pd.src_desc(), true), Port(w_, fwd_pd.weights_desc(), true),
              Port(y_, fwd_pd.dst_desc(), false)};
    std::size_t scratch = fwd_pd.scratchpad_desc().get_size();
    if (training) {
      const dnnl::convolution_backward_data::primitive_desc bd_pd(
          {direct, x_any, w_any, y_any, strides, dilates, pads, pads}, attr, eng(), fwd_pd);
      const dnnl::convolution_backward_weights::primitive_desc bw_pd(
          {direct, x_any, w_any, b_md, y_any, strides, dilates, pads, pads}, attr, eng(), fwd_pd);
      bwd_data_ = dnnl::convolution_backward_data(bd_pd);
      bwd_weights_ = dnnl::convolution_backward_weights(bw_pd);
      ports_.insert(ports_.end(),
                    {Port(gy_, bd_pd.diff_dst_desc(), true), Port(w_, bd_pd.weights_desc(), true),
                     Port(gx_, bd_pd.diff_src_desc(), false), Port(x_, bw_pd.src_desc(), true),
                     Port(gy_, bw_pd.diff_dst_desc(), true), Port(gw_, bw_pd.diff_weights_desc(), false)});
      scratch = std::max({scratch, bd_pd.scratchpad_desc().get_size(), bw_pd.scratchpad_desc().get_size()});
    }
    scratch_ = dnnl::memory(
        {{dnnl::memory::dim(std::max<std::size_t>(scratch, 1))}, dnnl::memory::data_type::u8, tag::x}, eng());
  }
  void forward() {
    run_forward();
    strm().wait();
  }
  void forward_backward() {
    dnnl::stream& s = strm();
    run_forward();
    ports_[3].in(s), ports_[4].in(s);
    bwd_data_.execute(s, {{DNNL_ARG_DIFF_DST, ports_[3].mem()},
                          {DNNL_ARG_WEIGHTS, ports_[4].mem()},
                          {DNNL_ARG_DIFF_SRC, ports_[5].mem()},
                          {DNNL_ARG_SCRATCHPAD, scratch_}});
    ports_[5].out(s);
    ports_[6].in(s), ports_[7].in(s);
    bwd_weights_.execute(s, {{DNNL_ARG_SRC, ports_[6].mem()},
                             {DNNL_ARG_DIFF_DST, ports_[7].mem()},
                             {DNNL_ARG_DIFF_WEIGHTS, ports_[8].mem()},
                             {DNNL_ARG_DIFF_BIAS, gb_},
                             {DNNL_ARG_SCRATCHPAD, scratch_}});
    ports_[8].out(s);
    s.wait();
  }

 private:
  void run_forward() {
    dnnl::stream& s = strm();
    ports_[0].in(s), ports_[1].in(s);
    fwd_.execute(s, {{DNNL_ARG_SRC, ports_[0].mem()},
                     {DNNL_ARG_WEIGHTS, ports_[1].mem()},
                     {DNNL_ARG_BIAS, b_},
                     {DNNL_ARG_DST, ports_[2].mem()},
                     {DNNL_ARG_SCRATCHPAD, scratch_}});
    ports_[2].out(s);
  }

  dnnl::memory x_, w_, b_, y_, gy_, gx_, gw_, gb_, scratch_;
  std::vector<Port> ports_;  // fwd x, w, y; bwd-data gy, w, gx; bwd-weights x, gy, gw
  dnnl::convolution_forward fwd_;
  dnnl::convolution_backward_data bwd_data_;
  dnnl::convolution_backward_weights bwd_weights_;
};

}  // namespace keel::bench::raw
