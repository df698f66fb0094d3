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

#include "common/conv_passes.hpp"

namespace keel::dnnl_util {

// Weights [c_out, c_in, kh, kw].
struct Conv2dGeometry : ConvWindow {
  dnnl::memory::dim dil_h = 1, dil_w = 1;
  // ONNX's per-side padding: the bottom and right padding are pad_h and
  // pad_w plus these (0, PyTorch's symmetric padding, unless set).
  dnnl::memory::dim pad_b_delta = 0, pad_r_delta = 0;
  // Forward-pass post-ops, in this order: y = conv(x) + b (+ addend, a
  // tensor of y's shape, as a sum) (then max(0, .)).
  bool add = false;
  bool relu = false;

  dnnl::memory::dim pad_b() const { return pad_h + pad_b_delta; }
  dnnl::memory::dim pad_r() const { return pad_w + pad_r_delta; }
  // PyTorch's arithmetic, floor division. Zero or less means the dilated
  // kernel does not fit in the padded input.
  dnnl::memory::dim out_h() const { return (h + pad_h + pad_b() - dil_h * (kh - 1) - 1) / stride_h + 1; }
  dnnl::memory::dim out_w() const { return (w + pad_w + pad_r() - dil_w * (kw - 1) - 1) / stride_w + 1; }
  bool fits() const {
    return h + pad_h + pad_b() >= dil_h * (kh - 1) + 1 && w + pad_w + pad_r() >= dil_w * (kw - 1) + 1;
  }
};

// The passes' descriptors for a convolution; ConvPasses runs them.
class Conv2d : public ConvPasses {
 public:
  // Creates every primitive and buffer; the backward ones only for training.
  // Throws dnnl::error when oneDNN rejects the geometry.
  void prepare(const Conv2dGeometry& g, bool training) {
    const dnnl::engine& eng = cpu_engine();
    g_ = g;
    training_ = training;
    const ConvDescs d = conv_descs(g, g.out_h(), g.out_w(), dnnl::memory::format_tag::oihw);
    const dnnl::memory::dims strides{g.stride_h, g.stride_w};
    const dnnl::memory::dims dilates{g.dil_h - 1, g.dil_w - 1};  // oneDNN counts extra gaps
    const dnnl::memory::dims pad_l{g.pad_h, g.pad_w}, pad_r{g.pad_b(), g.pad_r()};
    const auto algo = dnnl::algorithm::convolution_direct;

    const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    // The forward pass's own attributes: post-ops apply to it alone.
    dnnl::primitive_attr fwd_attr;
    fwd_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    // A sum post-op (the destination holds the addend, the result is added
    // to it), then the activation. oneDNN 2.6's fast kernels (brgconv) take
    // a sum but not a binary-add post-op: with one it falls back to its
    // reference convolution, 9x slower (measured on [32, 16, 32, 32]).
    dnnl::post_ops ops;
    if (g.add) ops.append_sum(1.0f);
    if (g.relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    fwd_attr.set_post_ops(ops);
    const dnnl::convolution_forward::primitive_desc fwd_pd(
        {kind, algo, d.x_any, d.w_any, d.user.b, d.y_any, strides, dilates, pad_l, pad_r}, fwd_attr, eng);
    set_forward(d.user, fwd_pd);
    if (g.add) set_addend();
    if (!training) return;
    const auto weights_pd = [&] {
      parallel::OneThread one;  // ConvPasses::backward_weights says why
      return dnnl::convolution_backward_weights::primitive_desc(
          {algo, d.x_any, d.w_any, d.user.b, d.y_any, strides, dilates, pad_l, pad_r}, d.attr, eng, fwd_pd);
    }();
    set_backward(dnnl::convolution_backward_data::primitive_desc(
                     {algo, d.x_any, d.w_any, d.y_any, strides, dilates, pad_l, pad_r}, d.attr, eng, fwd_pd),
                 weights_pd);
  }

  const Conv2dGeometry& geometry() const { return g_; }
  bool training() const { return training_; }

 private:
  Conv2dGeometry g_;
  bool training_ = false;
};

}  // namespace keel::dnnl_util
