// conv_transpose2d: the transpose (gradient) of conv2d as a layer, PyTorch's
// ConvTranspose2d: each input pixel scatters a weighted kernel-sized patch
// into an output grown by the stride. Dilation and groups are not offered.
#include "common/dnnl_op.hpp"
#include "deconv2d.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

// Larger values only overflow the size arithmetic; no real kernel is near.
constexpr std::int64_t max_window = 1 << 16;

// [k] means [k, k]; [a, b] is height then width.
Status read_pair(const Attrs& attrs, const char* name, std::int64_t lo, std::int64_t& h, std::int64_t& w) {
  const std::vector<std::int64_t>& v = attrs.ints(name);
  if (v.empty() || v.size() > 2)
    return fail("conv_transpose2d: ", name, " must have 1 or 2 values (height, width), got ", v.size());
  for (std::int64_t x : v)
    if (x < lo || x > max_window)
      return fail("conv_transpose2d: ", name, " values must lie in [", lo, ", ", max_window, "], got ", x);
  h = v[0];
  w = v.size() == 2 ? v[1] : v[0];
  return Status::Ok();
}

// (in-1)*stride - 2*pad + k + out_pad, or false when it overflows a Dim
// (an input size no real image has).
bool output_size(Dim in, std::int64_t stride, std::int64_t pad, std::int64_t k, std::int64_t out_pad,
                 Dim& out) {
  Dim grown = 0;
  if (__builtin_mul_overflow(in - 1, stride, &grown)) return false;
  return !__builtin_add_overflow(grown, k + out_pad - 2 * pad, &out);
}

class ConvTranspose2dOp final : public du::DnnlOp {
 public:
  explicit ConvTranspose2dOp(const Attrs& attrs) : DnnlOp("conv_transpose2d") { attr_status_ = read(attrs); }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(attr_status_);
    KEEL_RETURN_IF_ERROR(du::expect_f32("conv_transpose2d", "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.size() != 4) return fail("conv_transpose2d: x must be [N, C, H, W], got ", shape_str(x));
    if (!is_static(x[1]) || !is_static(x[2]) || !is_static(x[3]))
      return fail("conv_transpose2d: x is ", shape_str(x),
                  ": channels, height and width must be fixed sizes; only the batch may be named");
    if (x[1] < 1 || x[2] < 1 || x[3] < 1)
      return fail("conv_transpose2d: x is ", shape_str(x), ": channels, height and width must be at least 1");
    Dim ho = 0, wo = 0;
    if (!output_size(x[2], sh_, ph_, kh_, oph_, ho) || !output_size(x[3], sw_, pw_, kw_, opw_, wo))
      return fail("conv_transpose2d: x is ", shape_str(x), ": the output size overflows");
    if (ho < 1 || wo < 1)
      return fail("conv_transpose2d: padding ", ph_, "x", pw_, " crops away the whole output of the ", x[2],
                  "x", x[3], " input with a ", kh_, "x", kw_, " kernel and stride ", sh_, "x", sw_,
                  " (output ", ho, "x", wo, ")");
    ctx.outputs = {TensorSpec{DType::f32, {x[0], filters_, ho, wo}}};
    ctx.param_shapes = {{x[1], filters_, kh_, kw_}, {filters_}};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();  // a zero batch has no output elements
    return in_onednn("forward", [&] {
      deconv_.forward(ctx.inputs[0].as<float>(), ctx.params[0].as<float>(),
                      bias_ ? ctx.params[1].as<float>() : nullptr, ctx.outputs[0].as<float>());
      return Status::Ok();
    });
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    const TensorView& gw = ctx.grad_params[0];
    const TensorView& gb = ctx.grad_params[1];
    // Without a bias term the bias parameter does not move the loss.
    if (!bias_) du::zero_fill(gb);
    if (empty_) {
      du::zero_fill(gw);
      du::zero_fill(gb);
      return Status::Ok();
    }
    return in_onednn("backward", [&] {
      const float* gy = ctx.grad_outputs[0].as<float>();
      if (gx.data != nullptr) deconv_.backward_data(gy, ctx.params[0].as<float>(), gx.as<float>());
      const bool want_gb = bias_ && gb.data != nullptr;
      if (gw.data != nullptr || want_gb)
        deconv_.backward_weights(ctx.inputs[0].as<float>(), gy, gw.data ? gw.as<float>() : spare_gw_.data(),
                                 want_gb ? gb.as<float>() : spare_gb_.data());
      return Status::Ok();
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    du::Deconv2dGeometry g;
    g.n = x[0], g.c_in = x[1], g.h = x[2], g.w = x[3];
    g.c_out = filters_, g.kh = kh_, g.kw = kw_;
    g.stride_h = sh_, g.stride_w = sw_, g.pad_h = ph_, g.pad_w = pw_, g.out_pad_h = oph_, g.out_pad_w = opw_;
    g.bias = bias_;
    empty_ = g.n == 0;
    if (empty_) return Status::Ok();
    deconv_.prepare(g, ctx.training);
    // backward_weights writes both gradients; these catch one nobody asked for.
    if (ctx.training) {
      spare_gw_.assign(static_cast<std::size_t>(g.c_in * g.c_out * g.kh * g.kw), 0.0f);
      spare_gb_.assign(static_cast<std::size_t>(g.c_out), 0.0f);
    }
    return Status::Ok();
  }

  Status read(const Attrs& attrs) {
    filters_ = attrs.i("filters");
    if (filters_ < 1 || filters_ > max_window * max_window)
      return fail("conv_transpose2d: filters must lie in [1, ", max_window * max_window, "], got ", filters_);
    bias_ = attrs.b("bias");
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "kernel", 1, kh_, kw_));
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "stride", 1, sh_, sw_));
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "padding", 0, ph_, pw_));
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "output_padding", 0, oph_, opw_));
    // PyTorch's rule: a larger output padding would add rows no input reaches.
    if (oph_ >= sh_ || opw_ >= sw_)
      return fail("conv_transpose2d: output_padding ", oph_, "x", opw_, " must be smaller than stride ", sh_,
                  "x", sw_, " in each dimension");
    return Status::Ok();
  }

  Status attr_status_;
  std::int64_t filters_ = 1, kh_ = 1, kw_ = 1, sh_ = 1, sw_ = 1, ph_ = 0, pw_ = 0, oph_ = 0, opw_ = 0;
  bool bias_ = true;
  bool empty_ = false;
  du::Deconv2d deconv_;
  std::vector<float> spare_gw_, spare_gb_;
};

AttrSpec pair_attr(const char* name, const char* doc, std::int64_t value, double min) {
  return AttrSpec{name, AttrType::Ints,     doc, AttrValue(std::vector<std::int64_t>{value, value}),
                  min,  double(max_window), {}};
}

}  // namespace

OpSchema conv_transpose2d_schema() {
  OpSchema s = plugin_util::schema(
      "conv_transpose2d",
      "2-D transposed convolution over NCHW images (PyTorch's ConvTranspose2d): each input pixel adds "
      "weight-scaled kernel patches to an output grown by the stride; y = conv_transpose(x, weight) + bias.",
      {{"x", "f32 [N, C, H, W]; C, H and W must be fixed sizes"}},
      {{"y",
        "f32 [N, filters, Ho, Wo], Ho = (H - 1)*stride - 2*padding + kernel + output_padding, likewise Wo; "
        "at least 1"}});
  s.attrs = {
      {"filters",
       AttrType::Int,
       "number of output channels",
       std::nullopt,
       1.0,
       double(max_window) * max_window,
       {}},
      {"kernel",
       AttrType::Ints,
       "kernel size [height, width], or [k] for a square kernel",
       std::nullopt,
       1.0,
       double(max_window),
       {}},
      pair_attr("stride",
                "spacing of the input pixels' patches in the output [height, width], or [s] for both", 1,
                1.0),
      pair_attr("padding",
                "rows and columns cropped from each side of the full output [height, width], or [p] for both "
                "(the padding of the conv2d this transposes)",
                0, 0.0),
      pair_attr(
          "output_padding",
          "rows added at the bottom and columns at the right [height, width], or [p] for both, each "
          "smaller than the stride: a strided conv2d maps several input sizes to one output size, and this "
          "picks which of them to produce",
          0, 0.0),
      {"bias",
       AttrType::Bool,
       "add the learned per-filter bias (when false the bias parameter stays unused)",
       AttrValue(true),
       std::nullopt,
       std::nullopt,
       {}},
  };
  s.params = {{"weight",
               "[C, filters, kh, kw], PyTorch's ConvTranspose2d layout; he_uniform: U(±sqrt(6/fan_in)) with "
               "fan_in = filters*kh*kw, the fan PyTorch computes for this layout (its default draws from the "
               "narrower U(±1/sqrt(fan_in)))",
               Init::HeUniform, true},
              {"bias", "[filters], zero initialized; gradient zero when bias is false", Init::Zeros, true}};
  s.has_backward = true;
  s.examples = {{.attrs = {{"filters", std::int64_t{3}}, {"kernel", std::vector<std::int64_t>{3}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4, 4}}}}},
                {.doc = "DCGAN-style doubling: stride 2, padding 1, 4x4 kernel, no bias",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{4}},
                           {"stride", std::vector<std::int64_t>{2}},
                           {"padding", std::vector<std::int64_t>{1}},
                           {"bias", false}},
                 .inputs = {{{DType::f32, {kBatch, 3, 3, 2}}}}},
                {.doc = "rectangular kernel, output padding",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3, 2}},
                           {"stride", std::vector<std::int64_t>{2, 3}},
                           {"padding", std::vector<std::int64_t>{1, 0}},
                           {"output_padding", std::vector<std::int64_t>{1, 2}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 3, 3}}}}},
                {.doc = "output padding as large as the stride",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"stride", std::vector<std::int64_t>{2}},
                           {"output_padding", std::vector<std::int64_t>{2}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 3, 3}}}},
                 .rejects = "must be smaller than stride"}};
  return s;
}

std::unique_ptr<Op> conv_transpose2d_factory(const Attrs& attrs) {
  return std::make_unique<ConvTranspose2dOp>(attrs);
}

}  // namespace keel::nn
