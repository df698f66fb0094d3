// conv2d: y = conv(x, weight) + bias over NCHW images, PyTorch's Conv2d
// arithmetic (zero padding, dilation, floor division for Ho/Wo), with
// ONNX's per-side padding besides PyTorch's symmetric one. conv2d_add adds
// a second input of y's shape (a residual's skip) in the same pass, before
// the activation: what inference's plan-time optimization makes of a
// conv2d whose only reader is an add.
#include "common/keel_conv.hpp"
#include "conv_layer.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
namespace cl = conv_layer;

class Conv2dOp final : public cl::LayerOp<du::Conv2d> {
 public:
  Conv2dOp(const Attrs& attrs, bool add) : LayerOp(add ? "conv2d_add" : "conv2d") {
    add_ = add;
    attr_status_ = read(attrs);
  }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(check_input(ctx));
    KEEL_RETURN_IF_ERROR(infer_conv(ctx));
    if (add_) {
      KEEL_RETURN_IF_ERROR(du::expect_f32(name(), "addend", ctx.inputs[1]));
      if (ctx.inputs[1].shape != ctx.outputs[0].shape)
        return fail(name(), ": addend is ", shape_str(ctx.inputs[1].shape), "; it must have y's shape ",
                    shape_str(ctx.outputs[0].shape));
    }
    return Status::Ok();
  }

 private:
  Status infer_conv(InferContext& ctx) const {
    const Shape& x = ctx.inputs[0].shape;
    const du::Conv2dGeometry g = geometry(x);
    if (!g.fits())
      return fail("conv2d: a ", g.kh, "x", g.kw, " kernel with dilation ", g.dil_h, "x", g.dil_w,
                  " does not fit the ", g.h, "x", g.w, " input padded by ", attrs_.pad.str());
    ctx.outputs = {TensorSpec{DType::f32, {x[0], attrs_.filters, g.out_h(), g.out_w()}}};
    ctx.param_shapes = {{attrs_.filters, x[1], g.kh, g.kw}, {attrs_.filters}};
    return Status::Ok();
  }

  Status build(const PrepareContext& ctx) override {
    return prepare_kernel(geometry(ctx.inputs[0].shape), ctx.training);
  }

  Status read(const Attrs& attrs) {
    KEEL_RETURN_IF_ERROR(attrs_.read("conv2d", attrs));
    relu_ = attrs.s("activation") == "relu";
    return cl::read_pair("conv2d", attrs, "dilation", 1, dh_, dw_);
  }

  du::Conv2dGeometry geometry(const Shape& x) const {
    du::Conv2dGeometry g;
    attrs_.fill(g, x);
    g.dil_h = dh_, g.dil_w = dw_;
    g.pad_b_delta = attrs_.pad.bottom - attrs_.pad.top;
    g.pad_r_delta = attrs_.pad.right - attrs_.pad.left;
    g.relu = relu_;
    g.add = add_;
    return g;
  }

  std::int64_t dh_ = 1, dw_ = 1;
};

}  // namespace

namespace {

std::vector<AttrSpec> conv2d_attrs() {
  return {
      cl::filters_attr(),
      cl::kernel_attr(),
      cl::pair_attr("stride", "step between windows [height, width], or [s] for both", 1, 1.0),
      cl::padding_attr("zeros added on each side [height, width], or [p] for both, or [top, left, bottom, "
                       "right] per side (ONNX's pads)"),
      cl::pair_attr("dilation", "spacing between kernel taps [height, width], or [d] for both", 1, 1.0),
      cl::bias_attr(),
      AttrSpec{
          .name = "activation",
          .type = AttrType::String,
          .doc = "relu: y = max(0, ...) in the same pass (inference folds a following relu node into this); "
                 "none: no activation",
          .default_value = AttrValue{std::string("none")},
          .choices = {"none", "relu"}},
  };
}

}  // namespace

OpSchema conv2d_add_schema() {
  OpSchema s = plugin_util::schema(
      "conv2d_add",
      "conv2d with a second input added in the same pass: y = conv(x, weight) + bias + addend, then the "
      "activation; a residual block's last convolution and sum as one node (inference fuses them).",
      {{"x", "f32 [N, C, H, W]; C, H and W must be fixed sizes"}, {"addend", "f32, y's shape"}},
      {{"y", "f32 [N, filters, Ho, Wo], as conv2d"}});
  s.attrs = conv2d_attrs();
  s.params = {{"weight", "[filters, C, kh, kw], He-uniform initialized", Init::HeUniform, true},
              cl::bias_param()};
  s.has_backward = true;
  s.examples = {{.attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"padding", std::vector<std::int64_t>{1}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4, 4}}, {DType::f32, {kBatch, 2, 4, 4}}}}},
                {.doc = "with relu",
                 .attrs = {{"filters", std::int64_t{3}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"padding", std::vector<std::int64_t>{1}},
                           {"activation", std::string("relu")}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4, 4}}, {DType::f32, {kBatch, 3, 4, 4}}}}}};
  return s;
}

std::unique_ptr<Op> conv2d_add_factory(const Attrs& attrs) { return std::make_unique<Conv2dOp>(attrs, true); }

OpSchema conv2d_schema() {
  OpSchema s = plugin_util::schema(
      "conv2d",
      "2-D convolution over NCHW images: y = conv(x, weight) + bias, with stride, padding and dilation.",
      {{"x", "f32 [N, C, H, W]; C, H and W must be fixed sizes"}},
      {{"y",
        "f32 [N, filters, Ho, Wo], Ho = floor((H + top + bottom - dilation*(kernel-1) - 1) / stride) + 1 "
        "(top = bottom = padding unless it has 4 values), likewise Wo"}});
  s.attrs = conv2d_attrs();
  s.params = {{"weight", "[filters, C, kh, kw], He-uniform initialized", Init::HeUniform, true},
              cl::bias_param()};
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
                 .inputs = {{{DType::f32, {kBatch, 2, 6, 7}}}}},
                {.doc = "per-side padding [top, left, bottom, right]",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"padding", std::vector<std::int64_t>{0, 1, 2, 0}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4, 5}}}}},
                {.doc = "fused relu",
                 .attrs = {{"filters", std::int64_t{3}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"padding", std::vector<std::int64_t>{1}},
                           {"activation", std::string("relu")}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4, 4}}}}}};
  return s;
}

std::unique_ptr<Op> conv2d_factory(const Attrs& attrs) { return std::make_unique<Conv2dOp>(attrs, false); }

}  // namespace keel::nn
