// A 2-D convolution on user tensors in plain NCHW / OIHW layout, built on
// oneDNN's convolution_forward, convolution_backward_data and
// convolution_backward_weights. Shared by the plugins that convolve (nn's
// conv2d, residual's projection and block) so they build it the same way.
//
// Speed: the primitives are created with format_tag::any so oneDNN picks
// its preferred blocked layouts (nChw16c, OIhw16i16o on AVX-512); user data
// is reordered into buffers allocated in prepare() and back. ONEDNN_VERBOSE=1
// shows "jit:avx512_core" / "jit_1x1:avx512_core" / "brgconv:avx512_core"
// kernels for forward and both backward passes; plain nchw memory instead
// gets "x64:gemm:jit" (im2col + GEMM). Measured, 1 thread, fwd / bwd-data /
// bwd-weights in us, reorders included:
//   [8,3,32,32] 3x3 -> 16:    any 126 / 908 / 305      nchw 583 / 1212 / 1779
//   [16,16,16,16] 3x3 -> 16:  any 124 / 630 / 121      nchw 999 / 1312 / 2180
//   [32,64,8,8] 1x1 -> 16:    any  52 /  51 /  59      nchw  40 /  254 /   86
// Dilated kernels over few channels have no direct jit kernel; oneDNN then
// picks "x64:gemm:jit" for them itself, never a "ref" implementation.
#pragma once

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/keel_dnnl.hpp"

namespace keel::dnnl_util {

struct Conv2dGeometry {
  dnnl::memory::dim n = 1, c_in = 1, h = 1, w = 1;  // input [n, c_in, h, w]
  dnnl::memory::dim c_out = 1, kh = 1, kw = 1;      // weights [c_out, c_in, kh, kw]
  dnnl::memory::dim stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  bool bias = true;

  // PyTorch's arithmetic: symmetric padding, floor division. Zero or less
  // means the dilated kernel does not fit in the padded input.
  dnnl::memory::dim out_h() const { return (h + 2 * pad_h - dil_h * (kh - 1) - 1) / stride_h + 1; }
  dnnl::memory::dim out_w() const { return (w + 2 * pad_w - dil_w * (kw - 1) - 1) / stride_w + 1; }
  bool fits() const { return h + 2 * pad_h >= dil_h * (kh - 1) + 1 && w + 2 * pad_w >= dil_w * (kw - 1) + 1; }
};

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

 private:
  dnnl::memory user_, inner_;
  dnnl::reorder reorder_;
  bool reordered_ = false;
};

class Conv2d {
 public:
  // Creates every primitive and buffer; the backward ones only for training.
  // Throws dnnl::error when oneDNN rejects the geometry.
  void prepare(const Conv2dGeometry& g, bool training) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const dnnl::engine& eng = cpu_engine();
    g_ = g;
    training_ = training;
    impls_.clear();
    const dnnl::memory::dims x_dims{g.n, g.c_in, g.h, g.w};
    const dnnl::memory::dims w_dims{g.c_out, g.c_in, g.kh, g.kw};
    const dnnl::memory::dims y_dims{g.n, g.c_out, g.out_h(), g.out_w()};
    const dnnl::memory::dims b_dims{g.c_out};
    const dnnl::memory::dims strides{g.stride_h, g.stride_w};
    const dnnl::memory::dims dilates{g.dil_h - 1, g.dil_w - 1};  // oneDNN counts extra gaps
    const dnnl::memory::dims pad{g.pad_h, g.pad_w};
    const dnnl::memory::desc x_any(x_dims, dt::f32, tag::any), w_any(w_dims, dt::f32, tag::any),
        y_any(y_dims, dt::f32, tag::any);
    const dnnl::memory::desc b_md =
        g.bias ? dnnl::memory::desc(b_dims, dt::f32, tag::x) : dnnl::memory::desc();
    const dnnl::memory::desc x_user(x_dims, dt::f32, tag::nchw), w_user(w_dims, dt::f32, tag::oihw),
        y_user(y_dims, dt::f32, tag::nchw);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::convolution_forward::primitive_desc fwd_pd(
        {kind, dnnl::algorithm::convolution_direct, x_any, w_any, b_md, y_any, strides, dilates, pad, pad},
        attr, eng);
    fwd_ = dnnl::convolution_forward(fwd_pd);
    fwd_x_ = LayoutPort(x_user, fwd_pd.src_desc(), true);
    fwd_w_ = LayoutPort(w_user, fwd_pd.weights_desc(), true);
    fwd_y_ = LayoutPort(y_user, fwd_pd.dst_desc(), false);
    bias_mem_ = g.bias ? unbound_memory(b_md) : dnnl::memory();
    std::size_t scratch = fwd_pd.scratchpad_desc().get_size();
    impls_.push_back(std::string("forward ") + fwd_pd.impl_info_str());

    if (training) {
      const dnnl::convolution_backward_data::primitive_desc bwd_data_pd(
          {dnnl::algorithm::convolution_direct, x_any, w_any, y_any, strides, dilates, pad, pad}, attr, eng,
          fwd_pd);
      bwd_data_ = dnnl::convolution_backward_data(bwd_data_pd);
      bd_gy_ = LayoutPort(y_user, bwd_data_pd.diff_dst_desc(), true);
      bd_w_ = LayoutPort(w_user, bwd_data_pd.weights_desc(), true);
      bd_gx_ = LayoutPort(x_user, bwd_data_pd.diff_src_desc(), false);
      impls_.push_back(std::string("backward_data ") + bwd_data_pd.impl_info_str());

      const dnnl::convolution_backward_weights::primitive_desc bwd_w_pd(
          {dnnl::algorithm::convolution_direct, x_any, w_any, b_md, y_any, strides, dilates, pad, pad}, attr,
          eng, fwd_pd);
      bwd_weights_ = dnnl::convolution_backward_weights(bwd_w_pd);
      bw_x_ = LayoutPort(x_user, bwd_w_pd.src_desc(), true);
      bw_gy_ = LayoutPort(y_user, bwd_w_pd.diff_dst_desc(), true);
      bw_gw_ = LayoutPort(w_user, bwd_w_pd.diff_weights_desc(), false);
      impls_.push_back(std::string("backward_weights ") + bwd_w_pd.impl_info_str());
      scratch = std::max(
          {scratch, bwd_data_pd.scratchpad_desc().get_size(), bwd_w_pd.scratchpad_desc().get_size()});
    }
    // One scratchpad serves all three: they never run at the same time.
    scratch = std::max<std::size_t>(scratch, 1);
    scratchpad_ =
        dnnl::memory(dnnl::memory::desc({static_cast<dnnl::memory::dim>(scratch)}, dt::u8, tag::x), eng);
  }

  // y = conv(x, w) (+ b). `b` is ignored when the geometry has no bias.
  void forward(const float* x, const float* w, const float* b, float* y) {
    dnnl::stream& s = thread_stream();
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, fwd_x_.in(s, x)},
                                               {DNNL_ARG_WEIGHTS, fwd_w_.in(s, w)},
                                               {DNNL_ARG_DST, fwd_y_.out(y)},
                                               {DNNL_ARG_SCRATCHPAD, scratchpad_}};
    if (g_.bias) args[DNNL_ARG_BIAS] = bind(bias_mem_, b);
    fwd_.execute(s, args);
    fwd_y_.deliver(s);
    s.wait();
  }

  // grad_x from grad_y (needs prepare with training).
  void backward_data(const float* gy, const float* w, float* gx) {
    dnnl::stream& s = thread_stream();
    bwd_data_.execute(s, {{DNNL_ARG_DIFF_DST, bd_gy_.in(s, gy)},
                          {DNNL_ARG_WEIGHTS, bd_w_.in(s, w)},
                          {DNNL_ARG_DIFF_SRC, bd_gx_.out(gx)},
                          {DNNL_ARG_SCRATCHPAD, scratchpad_}});
    bd_gx_.deliver(s);
    s.wait();
  }

  // grad_w (and grad_b when the geometry has a bias) from x and grad_y.
  void backward_weights(const float* x, const float* gy, float* gw, float* gb) {
    dnnl::stream& s = thread_stream();
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, bw_x_.in(s, x)},
                                               {DNNL_ARG_DIFF_DST, bw_gy_.in(s, gy)},
                                               {DNNL_ARG_DIFF_WEIGHTS, bw_gw_.out(gw)},
                                               {DNNL_ARG_SCRATCHPAD, scratchpad_}};
    if (g_.bias) args[DNNL_ARG_DIFF_BIAS] = bind(bias_mem_, gb);
    bwd_weights_.execute(s, args);
    bw_gw_.deliver(s);
    s.wait();
  }

  const Conv2dGeometry& geometry() const { return g_; }
  bool training() const { return training_; }
  // "forward <impl>", "backward_data <impl>", ...: which kernels oneDNN chose.
  const std::vector<std::string>& implementations() const { return impls_; }

 private:
  Conv2dGeometry g_;
  bool training_ = false;
  dnnl::convolution_forward fwd_;
  dnnl::convolution_backward_data bwd_data_;
  dnnl::convolution_backward_weights bwd_weights_;
  LayoutPort fwd_x_, fwd_w_, fwd_y_, bd_gy_, bd_w_, bd_gx_, bw_x_, bw_gy_, bw_gw_;
  dnnl::memory bias_mem_, scratchpad_;
  std::vector<std::string> impls_;
};

}  // namespace keel::dnnl_util
