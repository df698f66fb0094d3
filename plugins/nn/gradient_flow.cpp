// stop_gradient and full_like: values that training must treat as
// constants. A GAN's discriminator step trains on stop_gradient(fake) so
// the generator's parameters are left alone, and compares its logits with
// full_like(logits, 1) or full_like(logits, 0).
//
// Both declare their input non-differentiable (PortSpec::differentiable)
// and have no backward. The planner's autodiff (engine/planner/autodiff.cpp)
// then counts their outputs as depending on no trained parameter: no
// gradient is ever asked of them, nothing flows into their input, and a
// loss that reaches parameters through other paths still trains them,
// while a loss that reaches parameters only through these ops is refused as
// depending on none, as PyTorch's detach() would leave it without a grad.
#include <cstring>

#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

class StopGradientOp final : public Op {
 public:
  Status infer(InferContext& ctx) const override {
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const std::size_t bytes = ctx.inputs[0].nbytes();
    // memmove: the engine may run this op in place (OpSchema::inplace).
    if (bytes != 0 && ctx.inputs[0].data != ctx.outputs[0].data)
      std::memmove(ctx.outputs[0].data, ctx.inputs[0].data, bytes);
    return Status::Ok();
  }
};

class FullLikeOp final : public Op {
 public:
  explicit FullLikeOp(double value) : value_(static_cast<float>(value)) {}

  Status infer(InferContext& ctx) const override {
    ctx.outputs = {TensorSpec{DType::f32, ctx.inputs[0].shape}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    float* y = ctx.outputs[0].as<float>();
    const std::int64_t n = ctx.outputs[0].numel();
    for (std::int64_t i = 0; i < n; ++i) y[i] = value_;
    return Status::Ok();
  }

 private:
  float value_;
};

}  // namespace

OpSchema stop_gradient_schema() {
  OpSchema s = plugin_util::schema(
      "stop_gradient",
      "The identity in the forward pass; no gradient flows back into x, as torch's x.detach().",
      {{"x", "tensor of any dtype and shape; training treats it as a constant here", false}},
      {{"y", "x's values, dtype and shape"}});
  s.inplace = true;  // a byte copy, harmless when y is x's own memory
  s.examples = {
      {.doc = "a batch of generated rows", .inputs = {{{DType::f32, {kBatch, 4}}}}},
      {.doc = "integer values pass through unchanged", .inputs = {{{DType::i64, {kBatch, 3}}, -5, 5}}}};
  return s;
}

std::unique_ptr<Op> stop_gradient_factory(const Attrs&) { return std::make_unique<StopGradientOp>(); }

OpSchema full_like_schema() {
  OpSchema s = plugin_util::schema(
      "full_like", "An f32 tensor of x's shape with every element `value`, as torch.full_like(x, value).",
      {{"x", "tensor of any dtype and shape; only its shape is read", false}},
      {{"y", "f32 tensor of x's shape, every element `value`"}});
  s.attrs = {AttrSpec{.name = "value",
                      .type = AttrType::Float,
                      .doc = "the value of every element, rounded to f32 (1 and 0: a GAN's real and fake "
                             "targets)",
                      .default_value = AttrValue{0.0}}};
  s.examples = {
      {.doc = "ones like a batch of logits",
       .attrs = {{"value", 1.0}},
       .inputs = {{{DType::f32, {kBatch, 1}}}}},
      {.doc = "from integer labels", .attrs = {{"value", -2.5}}, .inputs = {{{DType::i32, {kBatch}}, 0, 9}}}};
  return s;
}

std::unique_ptr<Op> full_like_factory(const Attrs& attrs) {
  return std::make_unique<FullLikeOp>(attrs.f("value"));
}

}  // namespace keel::nn
