// bce_with_logits: binary cross entropy of sigmoid(logits) against targets
// in [0, 1], the loss of a GAN's discriminator and of a VAE's Bernoulli
// decoder.
//
// Each term is written as max(x, 0) - x t + log1p(exp(-|x|)), which equals
// -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) but never takes the log
// of a sigmoid that rounded to 0 or 1: exp(-|x|) <= 1, so logits of +-1e4
// give finite terms and gradients. Sums run in double, as in losses.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"
#include "reduction.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

constexpr const char* kOp = "bce_with_logits";

// 1 / (1 + exp(-x)) without overflow: the exponent is never positive.
double stable_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

class BceWithLogitsOp final : public Op {
 public:
  explicit BceWithLogitsOp(Reduction reduction) : reduction_(reduction) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32(kOp, "logits", ctx.inputs[0]));
    KEEL_RETURN_IF_ERROR(du::expect_f32(kOp, "target", ctx.inputs[1]));
    if (ctx.inputs[0].shape != ctx.inputs[1].shape)
      return fail(kOp, ": logits are ", shape_str(ctx.inputs[0].shape), " but target is ",
                  shape_str(ctx.inputs[1].shape), "; they must have the same shape");
    ctx.outputs = {TensorSpec{DType::f32, {}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    count_ = numel(ctx.inputs[0].shape);
    if (count_ == 0 && reduction_ == Reduction::mean)
      return fail(kOp, ": logits are empty, and the mean of no elements is undefined");
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const float* x = ctx.inputs[0].as<float>();
    const float* t = ctx.inputs[1].as<float>();
    double total = 0.0;
    for (std::int64_t i = 0; i < count_; ++i) {
      const double xi = x[i];
      total += std::max(xi, 0.0) - xi * t[i] + std::log1p(std::exp(-std::abs(xi)));
    }
    if (reduction_ == Reduction::mean) total /= static_cast<double>(count_);
    *ctx.outputs[0].as<float>() = static_cast<float>(total);
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    KEEL_RETURN_IF_ERROR(expect_scalar_grad(kOp, ctx));
    double scale = *ctx.grad_outputs[0].as<float>();
    if (reduction_ == Reduction::mean) scale /= static_cast<double>(count_);
    const float* x = ctx.inputs[0].as<float>();
    const float* t = ctx.inputs[1].as<float>();
    // d/dx = sigmoid(x) - t; d/dt = -x (as PyTorch's target gradient).
    if (float* gx = ctx.grad_inputs[0].as<float>())
      for (std::int64_t i = 0; i < count_; ++i)
        gx[i] = static_cast<float>((stable_sigmoid(x[i]) - t[i]) * scale);
    if (float* gt = ctx.grad_inputs[1].as<float>())
      for (std::int64_t i = 0; i < count_; ++i)
        gt[i] = static_cast<float>(-static_cast<double>(x[i]) * scale);
    return Status::Ok();
  }

 private:
  Reduction reduction_;
  std::int64_t count_ = 0;
};

}  // namespace

OpSchema bce_with_logits_schema() {
  OpSchema s = plugin_util::schema(
      "bce_with_logits",
      "Binary cross entropy of sigmoid(logits) against targets, computed stably from the logits.",
      {{"logits", "f32 tensor of any shape: unnormalized scores, log(p / (1 - p))"},
       {"target", "f32 tensor of the logits' shape, usually in [0, 1]; gradients flow into it too"}},
      {{"loss", "f32 scalar: the mean (or sum) over all elements of max(x, 0) - x t + log(1 + exp(-|x|))"}});
  s.attrs = {reduction_attr()};
  s.has_backward = true;
  s.role = Role::loss;
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 4}}, -4.0, 4.0}, {{DType::f32, {kBatch, 4}}, 0.0, 1.0}}}};
  return s;
}

std::unique_ptr<Op> bce_with_logits_factory(const Attrs& attrs) {
  return std::make_unique<BceWithLogitsOp>(reduction_of(attrs));
}

}  // namespace keel::nn
