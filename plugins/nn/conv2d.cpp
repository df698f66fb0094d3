// conv2d: y = conv(x, weight) + bias over NCHW images, PyTorch's Conv2d
// arithmetic (symmetric zero padding, dilation, floor division for Ho/Wo).
#include "common/dnnl_op.hpp"
#include "common/keel_conv.hpp"
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
    return fail("conv2d: ", name, " must have 1 or 2 values (height, width), got ", v.size());
  for (std::int64_t x : v)
    if (x < lo || x > max_window)
      return fail("conv2d: ", name, " values must lie in [", lo, ", ", max_window, "], got ", x);
  h = v[0];
  w = v.size() == 2 ? v[1] : v[0];
  return Status::Ok();
}

class Conv2dOp final : public du::DnnlOp {
 public:
  explicit Conv2dOp(const Attrs& attrs) : DnnlOp("conv2d") { attr_status_ = read(attrs); }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(attr_status_);
    KEEL_RETURN_IF_ERROR(du::expect_f32("conv2d", "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.size() != 4) return fail("conv2d: x must be [N, C, H, W], got ", shape_str(x));
    if (!is_static(x[1]) || !is_static(x[2]) || !is_static(x[3]))
      return fail("conv2d: x is ", shape_str(x),
                  ": channels, height and width must be fixed sizes; only the batch may be named");
    if (x[1] < 1 || x[2] < 1 || x[3] < 1)
      return fail("conv2d: x is ", shape_str(x), ": channels, height and width must be at least 1");
    const du::Conv2dGeometry g = geometry(x);
    if (!g.fits())
      return fail("conv2d: a ", g.kh, "x", g.kw, " kernel with dilation ", g.dil_h, "x", g.dil_w,
                  " does not fit the ", g.h, "x", g.w, " input padded by ", g.pad_h, "x", g.pad_w);
    ctx.outputs = {TensorSpec{DType::f32, {x[0], filters_, g.out_h(), g.out_w()}}};
    ctx.param_shapes = {{filters_, x[1], g.kh, g.kw}, {filters_}};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();  // a zero batch has no output elements
    return in_onednn("forward", [&] {
      conv_.forward(ctx.inputs[0].as<float>(), ctx.params[0].as<float>(),
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
      if (gx.data != nullptr) conv_.backward_data(gy, ctx.params[0].as<float>(), gx.as<float>());
      const bool want_gb = bias_ && gb.data != nullptr;
      if (gw.data != nullptr || want_gb)
        conv_.backward_weights(ctx.inputs[0].as<float>(), gy, gw.data ? gw.as<float>() : spare_gw_.data(),
                               want_gb ? gb.as<float>() : spare_gb_.data());
      return Status::Ok();
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const du::Conv2dGeometry g = geometry(ctx.inputs[0].shape);
    empty_ = g.n == 0;
    if (empty_) return Status::Ok();
    conv_.prepare(g, ctx.training);
    // backward_weights writes both gradients; these catch one nobody asked for.
    if (ctx.training) {
      spare_gw_.assign(static_cast<std::size_t>(g.c_out * g.c_in * g.kh * g.kw), 0.0f);
      spare_gb_.assign(static_cast<std::size_t>(g.c_out), 0.0f);
    }
    return Status::Ok();
  }

  Status read(const Attrs& attrs) {
    filters_ = attrs.i("filters");
    if (filters_ < 1 || filters_ > max_window * max_window)
      return fail("conv2d: filters must lie in [1, ", max_window * max_window, "], got ", filters_);
    bias_ = attrs.b("bias");
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "kernel", 1, kh_, kw_));
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "stride", 1, sh_, sw_));
    KEEL_RETURN_IF_ERROR(read_pair(attrs, "padding", 0, ph_, pw_));
    return read_pair(attrs, "dilation", 1, dh_, dw_);
  }

  du::Conv2dGeometry geometry(const Shape& x) const {
    du::Conv2dGeometry g;
    g.n = x[0], g.c_in = x[1], g.h = x[2], g.w = x[3];
    g.c_out = filters_, g.kh = kh_, g.kw = kw_;
    g.stride_h = sh_, g.stride_w = sw_, g.pad_h = ph_, g.pad_w = pw_, g.dil_h = dh_, g.dil_w = dw_;
    g.bias = bias_;
    return g;
  }

  Status attr_status_;
  std::int64_t filters_ = 1, kh_ = 1, kw_ = 1, sh_ = 1, sw_ = 1, ph_ = 0, pw_ = 0, dh_ = 1, dw_ = 1;
  bool bias_ = true;
  bool empty_ = false;
  du::Conv2d conv_;
  std::vector<float> spare_gw_, spare_gb_;
};

AttrSpec pair_attr(const char* name, const char* doc, std::int64_t value, double min) {
  AttrSpec a{name, AttrType::Ints,     doc, AttrValue(std::vector<std::int64_t>{value, value}),
             min,  double(max_window), {}};
  return a;
}

}  // namespace

OpSchema conv2d_schema() {
  OpSchema s = plugin_util::schema(
      "conv2d",
      "2-D convolution over NCHW images: y = conv(x, weight) + bias, with stride, padding and dilation.",
      {{"x", "f32 [N, C, H, W]; C, H and W must be fixed sizes"}},
      {{"y",
        "f32 [N, filters, Ho, Wo], Ho = floor((H + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, "
        "likewise Wo"}});
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
      pair_attr("stride", "step between windows [height, width], or [s] for both", 1, 1.0),
      pair_attr("padding", "zeros added on each side [height, width], or [p] for both", 0, 0.0),
      pair_attr("dilation", "spacing between kernel taps [height, width], or [d] for both", 1, 1.0),
      {"bias",
       AttrType::Bool,
       "add the learned per-filter bias (when false the bias parameter stays unused)",
       AttrValue(true),
       std::nullopt,
       std::nullopt,
       {}},
  };
  s.params = {{"weight", "[filters, C, kh, kw], He-uniform initialized", Init::HeUniform, true},
              {"bias", "[filters], zero initialized; gradient zero when bias is false", Init::Zeros, true}};
  s.has_backward = true;
  s.examples = {{.attrs = {{"filters", std::int64_t{3}}, {"kernel", std::vector<std::int64_t>{3}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 5, 5}}}}},
                {.doc = "strided, padded, dilated, no bias",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{2, 3}},
                           {"stride", std::vector<std::int64_t>{2}},
                           {"padding", std::vector<std::int64_t>{1}},
                           {"dilation", std::vector<std::int64_t>{1, 2}},
                           {"bias", false}},
                 .inputs = {{{DType::f32, {kBatch, 2, 6, 7}}}}}};
  return s;
}

std::unique_ptr<Op> conv2d_factory(const Attrs& attrs) { return std::make_unique<Conv2dOp>(attrs); }

}  // namespace keel::nn
