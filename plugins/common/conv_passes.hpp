// The three passes of a convolution-like layer (forward, backward data,
// backward weights) run on user tensors in plain layouts, whatever layouts
// the primitives chose. keel_conv.hpp (convolution) and nn's deconv2d.hpp
// (deconvolution) differ only in the primitive descriptors they create;
// everything after that, the reorders, the one scratchpad and the argument
// binding of each pass, is this one class.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/keel_dnnl.hpp"
#include "common/keel_parallel.hpp"

namespace keel::dnnl_util {

// One tensor crossing between the user's plain layout and the layout a
// primitive chose. When they differ, the primitive works on a buffer owned
// here and a reorder (made in the constructor) copies in or out.
class LayoutPort {
 public:
  LayoutPort() = default;
  LayoutPort(const dnnl::memory::desc& user, const dnnl::memory::desc& chosen, bool into_primitive)
      : user_(unbound_memory(user)) {
    if (user == chosen) return;
    inner_ = dnnl::memory(chosen, cpu_engine());
    reorder_ = into_primitive ? dnnl::reorder(user_, inner_) : dnnl::reorder(inner_, user_);
    reordered_ = true;
  }

  // An input: the memory the primitive reads, with `data` reordered into it.
  const dnnl::memory& in(dnnl::stream& s, const void* data) {
    bind(user_, data);
    if (!reordered_) return user_;
    reorder_.execute(s, user_, inner_);
    return inner_;
  }
  // An output: the memory the primitive writes; deliver() then moves it to `data`.
  const dnnl::memory& out(void* data) {
    bind(user_, data);
    return reordered_ ? inner_ : user_;
  }
  void deliver(dnnl::stream& s) {
    if (reordered_) reorder_.execute(s, inner_, user_);
  }
  // An output the primitive accumulates into (a sum post-op): after out(),
  // puts `data` (the user's layout, another buffer) where the primitive
  // writes.
  void fill(dnnl::stream& s, const void* data) {
    if (!reordered_) {
      std::memcpy(user_.get_data_handle(), data, user_.get_desc().get_size());
      return;
    }
    if (!fill_) {
      fill_src_ = unbound_memory(user_.get_desc());
      fill_ = dnnl::reorder(fill_src_, inner_);
    }
    bind(fill_src_, data);
    fill_.execute(s, fill_src_, inner_);
  }

 private:
  dnnl::memory user_, inner_, fill_src_;
  dnnl::reorder reorder_, fill_;
  bool reordered_ = false;
};

// The geometry a convolution and its transpose share; each adds its own
// terms and output size. Input [n, c_in, h, w], c_out output channels.
struct ConvWindow {
  dnnl::memory::dim n = 1, c_in = 1, h = 1, w = 1;
  dnnl::memory::dim c_out = 1, kh = 1, kw = 1;
  dnnl::memory::dim stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool bias = true;
};

// The user's plain layouts: input x, weights w, output y, and the bias b
// (an empty desc when the layer has none).
struct ConvUserDescs {
  dnnl::memory::desc x, w, y, b;
};

// What the primitive descriptors are made from: f32 x, w and y in layout
// `any`, for oneDNN to pick, and the user's plain layouts.
struct ConvDescs {
  dnnl::memory::desc x_any, w_any, y_any;
  ConvUserDescs user;
  dnnl::primitive_attr attr;  // a user scratchpad, ConvPasses' one buffer
};

// Weights are logically [c_out, c_in, kh, kw] for both primitives; the user
// stores them as `w_user` (oihw for conv2d, iohw for PyTorch's transpose).
inline ConvDescs conv_descs(const ConvWindow& g, dnnl::memory::dim out_h, dnnl::memory::dim out_w,
                            dnnl::memory::format_tag w_user) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const dnnl::memory::dims x_dims{g.n, g.c_in, g.h, g.w};
  const dnnl::memory::dims w_dims{g.c_out, g.c_in, g.kh, g.kw};
  const dnnl::memory::dims y_dims{g.n, g.c_out, out_h, out_w};
  ConvDescs d{{x_dims, dt::f32, tag::any},
              {w_dims, dt::f32, tag::any},
              {y_dims, dt::f32, tag::any},
              {{x_dims, dt::f32, tag::nchw},
               {w_dims, dt::f32, w_user},
               {y_dims, dt::f32, tag::nchw},
               g.bias ? dnnl::memory::desc({g.c_out}, dt::f32, tag::x) : dnnl::memory::desc()},
              {}};
  d.attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return d;
}

class ConvPasses {
 public:
  // The forward primitive, made from `pd` (primitives are created with
  // format_tag::any, so `pd` says which layouts the ports reorder into).
  // Forgets any backward passes of an earlier geometry.
  template <class ForwardPd>
  void set_forward(const ConvUserDescs& user, const ForwardPd& pd) {
    user_ = user;
    impls_.clear();
    fwd_ = dnnl::primitive(pd);
    fwd_x_ = LayoutPort(user.x, pd.src_desc(), true);
    fwd_w_ = LayoutPort(user.w, pd.weights_desc(), true);
    fwd_y_ = LayoutPort(user.y, pd.dst_desc(), false);
    bias_mem_ = has_bias() ? unbound_memory(user.b) : dnnl::memory();
    has_addend_ = false;
    impls_.push_back(std::string("forward ") + pd.impl_info_str());
    scratch_bytes_ = 0;
    fit_scratchpad(pd.scratchpad_desc().get_size());
  }

  // The two backward primitives, for training; after set_forward.
  template <class DataPd, class WeightsPd>
  void set_backward(const DataPd& data_pd, const WeightsPd& weights_pd) {
    bwd_data_ = dnnl::primitive(data_pd);
    bd_gy_ = LayoutPort(user_.y, data_pd.diff_dst_desc(), true);
    bd_w_ = LayoutPort(user_.w, data_pd.weights_desc(), true);
    bd_gx_ = LayoutPort(user_.x, data_pd.diff_src_desc(), false);
    impls_.push_back(std::string("backward_data ") + data_pd.impl_info_str());

    {
      parallel::OneThread one;  // see backward_weights
      bwd_weights_ = dnnl::primitive(weights_pd);
    }
    bw_x_ = LayoutPort(user_.x, weights_pd.src_desc(), true);
    bw_gy_ = LayoutPort(user_.y, weights_pd.diff_dst_desc(), true);
    bw_gw_ = LayoutPort(user_.w, weights_pd.diff_weights_desc(), false);
    impls_.push_back(std::string("backward_weights ") + weights_pd.impl_info_str());
    fit_scratchpad(std::max(data_pd.scratchpad_desc().get_size(), weights_pd.scratchpad_desc().get_size()));
  }

  // The forward primitive's first post-op is a sum (dst += the result): its
  // destination starts as the `addend` forward() then takes (a residual's
  // skip).
  void set_addend() { has_addend_ = true; }

  // y = layer(x, w) (+ b) (+ addend). `b` is ignored when the layer has no
  // bias, `addend` unless set_addend was called.
  void forward(const float* x, const float* w, const float* b, float* y, const float* addend = nullptr) {
    dnnl::stream& s = thread_stream();
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, fwd_x_.in(s, x)},
                                               {DNNL_ARG_WEIGHTS, fwd_w_.in(s, w)},
                                               {DNNL_ARG_DST, fwd_y_.out(y)},
                                               {DNNL_ARG_SCRATCHPAD, scratchpad_}};
    if (has_bias()) args[DNNL_ARG_BIAS] = bind(bias_mem_, b);
    if (has_addend_) fwd_y_.fill(s, addend);
    fwd_.execute(s, args);
    fwd_y_.deliver(s);
    s.wait();
  }

  // grad_x from grad_y (needs set_backward).
  void backward_data(const float* gy, const float* w, float* gx) {
    dnnl::stream& s = thread_stream();
    bwd_data_.execute(s, {{DNNL_ARG_DIFF_DST, bd_gy_.in(s, gy)},
                          {DNNL_ARG_WEIGHTS, bd_w_.in(s, w)},
                          {DNNL_ARG_DIFF_SRC, bd_gx_.out(gx)},
                          {DNNL_ARG_SCRATCHPAD, scratchpad_}});
    bd_gx_.deliver(s);
    s.wait();
  }

  // grad_w (and grad_b when the layer has a bias) from x and grad_y. On one
  // thread: oneDNN's weight-gradient kernels add per-thread partial sums
  // over the batch, which would make the result depend on the thread count
  // (the primitive is made on one thread too: make_backward_weights).
  void backward_weights(const float* x, const float* gy, float* gw, float* gb) {
    parallel::OneThread one;
    dnnl::stream& s = thread_stream();
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, bw_x_.in(s, x)},
                                               {DNNL_ARG_DIFF_DST, bw_gy_.in(s, gy)},
                                               {DNNL_ARG_DIFF_WEIGHTS, bw_gw_.out(gw)},
                                               {DNNL_ARG_SCRATCHPAD, scratchpad_}};
    if (has_bias()) args[DNNL_ARG_DIFF_BIAS] = bind(bias_mem_, gb);
    bwd_weights_.execute(s, args);
    bw_gw_.deliver(s);
    s.wait();
  }

  // "forward <impl>", "backward_data <impl>", ...: which kernels oneDNN chose.
  const std::vector<std::string>& implementations() const { return impls_; }

 private:
  bool has_bias() const { return !user_.b.is_zero(); }

  // One scratchpad serves all three passes: they never run at the same
  // time, so it only grows to the largest one's need (at least a byte).
  void fit_scratchpad(std::size_t bytes) {
    bytes = std::max<std::size_t>(bytes, 1);
    if (bytes <= scratch_bytes_) return;
    scratch_bytes_ = bytes;
    scratchpad_ = dnnl::memory(dnnl::memory::desc({static_cast<dnnl::memory::dim>(bytes)},
                                                  dnnl::memory::data_type::u8, dnnl::memory::format_tag::x),
                               cpu_engine());
  }

  ConvUserDescs user_;
  dnnl::primitive fwd_, bwd_data_, bwd_weights_;
  LayoutPort fwd_x_, fwd_w_, fwd_y_, bd_gy_, bd_w_, bd_gx_, bw_x_, bw_gy_, bw_gw_;
  bool has_addend_ = false;
  dnnl::memory bias_mem_, scratchpad_;
  std::size_t scratch_bytes_ = 0;
  std::vector<std::string> impls_;
};

}  // namespace keel::dnnl_util
