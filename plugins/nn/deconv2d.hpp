// A 2-D transposed convolution on user tensors in plain NCHW layout with
// PyTorch's ConvTranspose2d weight layout [C_in, C_out, kh, kw], built on
// oneDNN's deconvolution_forward, deconvolution_backward_data and
// deconvolution_backward_weights, the way common/keel_conv.hpp builds
// conv2d: primitives made with format_tag::any, user data reordered through
// LayoutPorts into the layouts oneDNN picked.
//
// oneDNN's deconvolution weights are logically [C_out, C_in, kh, kw]; the
// user's PyTorch layout is that tensor stored as `iohw`, so the weight port
// is a plain reorder and no transpose is written by hand.
//
// ONEDNN_VERBOSE=1 on the parity cases (AVX-512) shows jit:avx512_core for
// forward and backward_data and jit:avx512_core or jit:avx2 for
// backward_weights, never a reference kernel.
//
// Output padding: oneDNN has no such parameter but takes the output size
// and a right padding that may be negative. PyTorch's
// Ho = (H-1)*stride - 2*padding + kh + output_padding is oneDNN's
// Ho = (H-1)*stride - padding_l - padding_r + kh with
// padding_r = padding - output_padding (what PyTorch's own oneDNN path
// passes), which adds output_padding rows at the bottom and columns at the
// right, exactly where PyTorch adds them.
#pragma once

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/keel_conv.hpp"

namespace keel::dnnl_util {

struct Deconv2dGeometry {
  dnnl::memory::dim n = 1, c_in = 1, h = 1, w = 1;  // input [n, c_in, h, w]
  dnnl::memory::dim c_out = 1, kh = 1, kw = 1;      // weights [c_in, c_out, kh, kw]
  dnnl::memory::dim stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, out_pad_h = 0, out_pad_w = 0;
  bool bias = true;

  // PyTorch's ConvTranspose2d arithmetic (dilation 1). Zero or less means
  // the padding crops away the whole output.
  dnnl::memory::dim out_h() const { return (h - 1) * stride_h - 2 * pad_h + kh + out_pad_h; }
  dnnl::memory::dim out_w() const { return (w - 1) * stride_w - 2 * pad_w + kw + out_pad_w; }
};

class Deconv2d {
 public:
  // Creates every primitive and buffer; the backward ones only for training.
  // Throws dnnl::error when oneDNN rejects the geometry.
  void prepare(const Deconv2dGeometry& g, bool training) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const dnnl::engine& eng = cpu_engine();
    g_ = g;
    impls_.clear();
    const dnnl::memory::dims x_dims{g.n, g.c_in, g.h, g.w};
    const dnnl::memory::dims w_dims{g.c_out, g.c_in, g.kh, g.kw};  // oneDNN's logical order
    const dnnl::memory::dims y_dims{g.n, g.c_out, g.out_h(), g.out_w()};
    const dnnl::memory::dims strides{g.stride_h, g.stride_w};
    const dnnl::memory::dims pad_l{g.pad_h, g.pad_w};
    const dnnl::memory::dims pad_r{g.pad_h - g.out_pad_h, g.pad_w - g.out_pad_w};
    const dnnl::memory::desc x_any(x_dims, dt::f32, tag::any), w_any(w_dims, dt::f32, tag::any),
        y_any(y_dims, dt::f32, tag::any);
    const dnnl::memory::desc b_md =
        g.bias ? dnnl::memory::desc({g.c_out}, dt::f32, tag::x) : dnnl::memory::desc();
    const dnnl::memory::desc x_user(x_dims, dt::f32, tag::nchw), w_user(w_dims, dt::f32, tag::iohw),
        y_user(y_dims, dt::f32, tag::nchw);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto algo = dnnl::algorithm::deconvolution_direct;

    const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::deconvolution_forward::primitive_desc fwd_pd(
        {kind, algo, x_any, w_any, b_md, y_any, strides, pad_l, pad_r}, attr, eng);
    fwd_ = dnnl::deconvolution_forward(fwd_pd);
    fwd_x_ = LayoutPort(x_user, fwd_pd.src_desc(), true);
    fwd_w_ = LayoutPort(w_user, fwd_pd.weights_desc(), true);
    fwd_y_ = LayoutPort(y_user, fwd_pd.dst_desc(), false);
    bias_mem_ = g.bias ? unbound_memory(b_md) : dnnl::memory();
    std::size_t scratch = fwd_pd.scratchpad_desc().get_size();
    impls_.push_back(std::string("forward ") + fwd_pd.impl_info_str());

    if (training) {
      const dnnl::deconvolution_backward_data::primitive_desc bwd_data_pd(
          {algo, x_any, w_any, y_any, strides, pad_l, pad_r}, attr, eng, fwd_pd);
      bwd_data_ = dnnl::deconvolution_backward_data(bwd_data_pd);
      bd_gy_ = LayoutPort(y_user, bwd_data_pd.diff_dst_desc(), true);
      bd_w_ = LayoutPort(w_user, bwd_data_pd.weights_desc(), true);
      bd_gx_ = LayoutPort(x_user, bwd_data_pd.diff_src_desc(), false);
      impls_.push_back(std::string("backward_data ") + bwd_data_pd.impl_info_str());

      const dnnl::deconvolution_backward_weights::primitive_desc bwd_w_pd(
          {algo, x_any, w_any, b_md, y_any, strides, pad_l, pad_r}, attr, eng, fwd_pd);
      bwd_weights_ = dnnl::deconvolution_backward_weights(bwd_w_pd);
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

  // y = conv_transpose(x, w) (+ b). `b` is ignored when the geometry has no bias.
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

  // "forward <impl>", "backward_data <impl>", ...: which kernels oneDNN chose.
  const std::vector<std::string>& implementations() const { return impls_; }

 private:
  Deconv2dGeometry g_;
  dnnl::deconvolution_forward fwd_;
  dnnl::deconvolution_backward_data bwd_data_;
  dnnl::deconvolution_backward_weights bwd_weights_;
  LayoutPort fwd_x_, fwd_w_, fwd_y_, bd_gy_, bd_w_, bd_gx_, bw_x_, bw_gy_, bw_gw_;
  dnnl::memory bias_mem_, scratchpad_;
  std::vector<std::string> impls_;
};

}  // namespace keel::dnnl_util
