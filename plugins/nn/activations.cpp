// scale, relu, leaky_relu, gelu, tanh and sigmoid: elementwise ops on
// oneDNN's eltwise primitives (scale is eltwise_linear with beta 0). Where
// oneDNN has a `_use_dst_for_bwd` variant the backward pass reads the
// forward output instead of recomputing the function from x
// (tanh' = 1 - y², sigmoid' = y(1 - y)).
#include <string>

#include "nn_ops.hpp"
#include "unary_op.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

struct Activation {
  const char* name;
  dnnl::algorithm algo;
  float alpha = 0.0f;
  bool use_dst = false;
};

class ActivationOp final : public UnaryDnnlOp<dnnl::eltwise_forward, dnnl::eltwise_backward> {
 public:
  // `invalid` is an attribute error found by the factory, reported by infer.
  ActivationOp(Activation act, std::string invalid)
      : UnaryDnnlOp(act.name, act.use_dst), act_(act), invalid_(std::move(invalid)) {}

  Status infer(InferContext& ctx) const override {
    if (!invalid_.empty()) return fail(act_.name, ": ", invalid_);
    KEEL_RETURN_IF_ERROR(du::expect_f32(act_.name, "x", ctx.inputs[0]));
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

 private:
  Status build(const PrepareContext& ctx) override {
    // Elementwise: any rank runs as one vector.
    const std::int64_t n = numel(ctx.inputs[0].shape);
    empty_ = n == 0;
    if (empty_) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    const auto md = du::f32_desc({n});
    const auto prop = ctx.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::eltwise_forward::primitive_desc fwd_pd({prop, act_.algo, md, act_.alpha, 0.0f}, eng);
    forward_ = dnnl::eltwise_forward(fwd_pd);
    if (ctx.training)
      backward_ = dnnl::eltwise_backward({{act_.algo, md, md, act_.alpha, 0.0f}, eng, fwd_pd});
    make_memory(md, ctx.training);
    return Status::Ok();
  }

  Activation act_;
  std::string invalid_;
};

OpSchema activation_schema(const char* name, const char* doc, const char* y_doc = "same shape as x") {
  OpSchema s = plugin_util::schema(name, doc, {{"x", "f32 tensor of any shape"}}, {{"y", y_doc}});
  s.has_backward = true;
  s.inplace = true;  // oneDNN eltwise runs in place (src = dst, diff_dst = diff_src)
  return s;
}

}  // namespace

OpSchema scale_schema() {
  OpSchema s = activation_schema("scale", "Multiplies every element by a constant: y = factor * x.",
                                 "factor * x, same shape as x");
  s.attrs = {AttrSpec{.name = "factor",
                      .type = AttrType::Float,
                      .doc = "the constant every element is multiplied by",
                      .default_value = AttrValue{1.0}}};
  return s;
}

std::unique_ptr<Op> scale_factory(const Attrs& attrs) {
  return std::make_unique<ActivationOp>(
      Activation{"scale", dnnl::algorithm::eltwise_linear, static_cast<float>(attrs.f("factor"))}, "");
}

OpSchema relu_schema() {
  return activation_schema("relu", "Rectified linear unit: y = max(x, 0).", "max(x, 0), same shape as x");
}

std::unique_ptr<Op> relu_factory(const Attrs&) {
  return std::make_unique<ActivationOp>(Activation{"relu", dnnl::algorithm::eltwise_relu}, "");
}

OpSchema leaky_relu_schema() {
  OpSchema s =
      activation_schema("leaky_relu", "Leaky rectifier: y = x for x > 0, negative_slope * x otherwise.");
  s.attrs = {AttrSpec{.name = "negative_slope",
                      .type = AttrType::Float,
                      .doc = "slope for x <= 0 (the gradient at 0 is this slope, as in PyTorch)",
                      .default_value = AttrValue{0.01},
                      .min = 0.0}};
  return s;
}

std::unique_ptr<Op> leaky_relu_factory(const Attrs& attrs) {
  const double slope = attrs.f("negative_slope");
  // relu's use_dst gradient tests y > 0, which is x > 0 only for a slope >= 0.
  std::string invalid;
  if (!(slope >= 0.0)) invalid = fail("negative_slope must be >= 0, got ", slope).message();
  return std::make_unique<ActivationOp>(
      Activation{"leaky_relu", dnnl::algorithm::eltwise_relu_use_dst_for_bwd, static_cast<float>(slope),
                 true},
      std::move(invalid));
}

OpSchema gelu_schema() {
  OpSchema s =
      activation_schema("gelu", "Gaussian error linear unit: y = x * Phi(x), as torch.nn.functional.gelu.");
  s.attrs = {AttrSpec{.name = "approximate",
                      .type = AttrType::String,
                      .doc = "none: the exact erf form; tanh: the tanh approximation",
                      .default_value = AttrValue{std::string("none")},
                      .choices = {"none", "tanh"}}};
  return s;
}

std::unique_ptr<Op> gelu_factory(const Attrs& attrs) {
  const std::string mode = attrs.s("approximate");
  std::string invalid =
      mode == "none" || mode == "tanh" ? "" : "approximate must be 'none' or 'tanh', got '" + mode + "'";
  const auto algo = mode == "tanh" ? dnnl::algorithm::eltwise_gelu_tanh : dnnl::algorithm::eltwise_gelu_erf;
  return std::make_unique<ActivationOp>(Activation{"gelu", algo}, std::move(invalid));
}

OpSchema tanh_schema() { return activation_schema("tanh", "Hyperbolic tangent, elementwise."); }

std::unique_ptr<Op> tanh_factory(const Attrs&) {
  return std::make_unique<ActivationOp>(
      Activation{"tanh", dnnl::algorithm::eltwise_tanh_use_dst_for_bwd, 0.0f, true}, "");
}

OpSchema sigmoid_schema() { return activation_schema("sigmoid", "Logistic sigmoid: y = 1 / (1 + exp(-x))."); }

std::unique_ptr<Op> sigmoid_factory(const Attrs&) {
  return std::make_unique<ActivationOp>(
      Activation{"sigmoid", dnnl::algorithm::eltwise_logistic_use_dst_for_bwd, 0.0f, true}, "");
}

}  // namespace keel::nn
