// A 2-D transposed convolution on user tensors in plain NCHW layout with
// PyTorch's ConvTranspose2d weight layout [C_in, C_out, kh, kw], built on
// oneDNN's deconvolution_forward, deconvolution_backward_data and
// deconvolution_backward_weights, the way common/keel_conv.hpp builds
// conv2d: primitives made with format_tag::any and run by the same
// ConvPasses (common/conv_passes.hpp), only the descriptors differ.
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
// right, exactly where PyTorch adds them. ONNX's per-side pads are the same
// with padding_l = top and padding_r = bottom - output_padding.
#pragma once

#include "common/conv_passes.hpp"

namespace keel::dnnl_util {

// Weights [c_in, c_out, kh, kw], PyTorch's layout.
struct Deconv2dGeometry : ConvWindow {
  dnnl::memory::dim out_pad_h = 0, out_pad_w = 0;
  // ONNX's per-side padding: the bottom and right crops are pad_h and pad_w
  // plus these (0, PyTorch's symmetric padding, unless set).
  dnnl::memory::dim pad_b_delta = 0, pad_r_delta = 0;

  dnnl::memory::dim pad_b() const { return pad_h + pad_b_delta; }
  dnnl::memory::dim pad_r() const { return pad_w + pad_r_delta; }
  // PyTorch's ConvTranspose2d arithmetic (dilation 1), ONNX's with per-side
  // padding. Zero or less means the padding crops away the whole output.
  dnnl::memory::dim out_h() const { return (h - 1) * stride_h - pad_h - pad_b() + kh + out_pad_h; }
  dnnl::memory::dim out_w() const { return (w - 1) * stride_w - pad_w - pad_r() + kw + out_pad_w; }
};

// The passes' descriptors for a transposed convolution; ConvPasses runs them.
class Deconv2d : public ConvPasses {
 public:
  // Creates every primitive and buffer; the backward ones only for training.
  // Throws dnnl::error when oneDNN rejects the geometry.
  void prepare(const Deconv2dGeometry& g, bool training) {
    const dnnl::engine& eng = cpu_engine();
    const ConvDescs d = conv_descs(g, g.out_h(), g.out_w(), dnnl::memory::format_tag::iohw);
    const dnnl::memory::dims strides{g.stride_h, g.stride_w};
    const dnnl::memory::dims pad_l{g.pad_h, g.pad_w};
    const dnnl::memory::dims pad_r{g.pad_b() - g.out_pad_h, g.pad_r() - g.out_pad_w};
    const auto algo = dnnl::algorithm::deconvolution_direct;

    const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::deconvolution_forward::primitive_desc fwd_pd(
        {kind, algo, d.x_any, d.w_any, d.user.b, d.y_any, strides, pad_l, pad_r}, d.attr, eng);
    set_forward(d.user, fwd_pd);
    if (!training) return;
    const auto weights_pd = [&] {
      parallel::OneThread one;  // ConvPasses::backward_weights says why
      return dnnl::deconvolution_backward_weights::primitive_desc(
          {algo, d.x_any, d.w_any, d.user.b, d.y_any, strides, pad_l, pad_r}, d.attr, eng, fwd_pd);
    }();
    set_backward(dnnl::deconvolution_backward_data::primitive_desc(
                     {algo, d.x_any, d.w_any, d.y_any, strides, pad_l, pad_r}, d.attr, eng, fwd_pd),
                 weights_pd);
  }
};

}  // namespace keel::dnnl_util
