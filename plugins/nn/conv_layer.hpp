// What conv2d and conv_transpose2d share as layers: the attributes both
// read (filters, kernel, stride, padding, bias) with their checks and
// schema entries, the checks on the image x, and the op skeleton that runs a
// ConvPasses-based kernel (du::Conv2d or du::Deconv2d) forward and backward.
// Each op file keeps only its own geometry, its extra attribute and its
// schema text.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/conv_passes.hpp"
#include "common/dnnl_op.hpp"
#include "nn_ops.hpp"

namespace keel::nn::conv_layer {

namespace du = keel::dnnl_util;

// Larger values only overflow the size arithmetic; no real kernel is near.
inline constexpr std::int64_t max_window = 1 << 16;

// [k] means [k, k]; [a, b] is height then width.
Status read_pair(const char* op, const Attrs& attrs, const char* name, std::int64_t lo, std::int64_t& h,
                 std::int64_t& w);

// What is added around an image, per side. The attribute is [p] for every
// side, [ph, pw] for top and bottom, left and right, or [top, left, bottom,
// right] (ONNX's pads order, which may differ per side).
struct Padding {
  std::int64_t top = 0, left = 0, bottom = 0, right = 0;

  bool symmetric() const { return top == bottom && left == right; }
  // "1x2" when symmetric, else "[top, left, bottom, right]".
  std::string str() const;
};

// Reads the padding attribute `name`: 1, 2 or 4 values in [0, max_window].
Status read_padding(const char* op, const Attrs& attrs, const char* name, Padding& p);

// The attributes every convolution layer has.
struct CommonAttrs {
  std::int64_t filters = 1, kh = 1, kw = 1, sh = 1, sw = 1;
  Padding pad;
  bool bias = true;

  Status read(const char* op, const Attrs& attrs);
  // The geometry these attributes and an input of shape x make, but for
  // the bottom and right padding, which each op sets its own way.
  void fill(du::ConvWindow& g, const Shape& x) const;
};

// x is f32 [N, C, H, W] with fixed C, H, W of at least 1.
Status check_image(const char* op, const TensorSpec& x);

// Schema entries both ops declare alike.
AttrSpec filters_attr();
AttrSpec kernel_attr();
AttrSpec pair_attr(const char* name, const char* doc, std::int64_t value, double min);
// `padding`, read by read_padding.
AttrSpec padding_attr(const char* doc);
AttrSpec bias_attr();
ParamSpec bias_param();

// The op skeleton. `Kernel` is a du::ConvPasses with prepare(geometry,
// training); the derived op fills in infer, its attribute reading and the
// geometry, and calls prepare_kernel from build().
template <class Kernel>
class LayerOp : public du::DnnlOp {
 public:
  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();  // a zero batch has no output elements
    return in_onednn("forward", [&] {
      kernel_.forward(ctx.inputs[0].as<float>(), ctx.params[0].as<float>(),
                      attrs_.bias ? ctx.params[1].as<float>() : nullptr, ctx.outputs[0].as<float>(),
                      add_ ? ctx.inputs[1].as<float>() : nullptr);
      return Status::Ok();
    });
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    const TensorView& gw = ctx.grad_params[0];
    const TensorView& gb = ctx.grad_params[1];
    // Without a bias term the bias parameter does not move the loss.
    if (!attrs_.bias) du::zero_fill(gb);
    if (empty_) {
      du::zero_fill(gw);
      du::zero_fill(gb);
      return Status::Ok();
    }
    // A fused ReLU passes the gradient where it passed the value (y > 0).
    const float* gy = ctx.grad_outputs[0].as<float>();
    if (relu_) {
      const float* y = ctx.outputs[0].as<float>();
      masked_gy_.resize(static_cast<std::size_t>(ctx.outputs[0].numel()));
      for (std::size_t i = 0; i < masked_gy_.size(); ++i) masked_gy_[i] = y[i] > 0.0f ? gy[i] : 0.0f;
      gy = masked_gy_.data();
    }
    // A fused addend's gradient is grad_y (after the relu's mask).
    if (add_ && ctx.grad_inputs[1].data != nullptr)
      std::memcpy(ctx.grad_inputs[1].data, gy, ctx.grad_inputs[1].nbytes());
    return in_onednn("backward", [&] {
      if (gx.data != nullptr) kernel_.backward_data(gy, ctx.params[0].as<float>(), gx.as<float>());
      const bool want_gb = attrs_.bias && gb.data != nullptr;
      if (gw.data != nullptr || want_gb)
        kernel_.backward_weights(ctx.inputs[0].as<float>(), gy, gw.data ? gw.as<float>() : spare_gw_.data(),
                                 want_gb ? gb.as<float>() : spare_gb_.data());
      return Status::Ok();
    });
  }

 protected:
  using DnnlOp::DnnlOp;

  // The attributes read well and x is an image the layer can take.
  Status check_input(const InferContext& ctx) const {
    KEEL_RETURN_IF_ERROR(attr_status_);
    return check_image(name(), ctx.inputs[0]);
  }

  template <class Geometry>
  Status prepare_kernel(const Geometry& g, bool training) {
    empty_ = g.n == 0;
    if (empty_) return Status::Ok();
    kernel_.prepare(g, training);
    // backward_weights writes both gradients; these catch one nobody asked for.
    if (training) {
      spare_gw_.assign(static_cast<std::size_t>(g.c_out * g.c_in * g.kh * g.kw), 0.0f);
      spare_gb_.assign(static_cast<std::size_t>(g.c_out), 0.0f);
    }
    return Status::Ok();
  }

  Status attr_status_;
  CommonAttrs attrs_;
  bool relu_ = false;  // conv2d's activation: relu
  bool add_ = false;   // conv2d_add: the second input is added before the activation

 private:
  bool empty_ = false;
  Kernel kernel_;
  std::vector<float> spare_gw_, spare_gb_, masked_gy_;
};

}  // namespace keel::nn::conv_layer
