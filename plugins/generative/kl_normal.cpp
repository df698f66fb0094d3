// kl_normal: KL(N(mean, exp(logvar)) || N(0, I)), a VAE's regulariser,
//   -0.5 * sum(1 + logvar - mean^2 - exp(logvar))
// summed over every dimension but the first and averaged over the first
// (the batch). Sums run in double, as the nn plugin's losses do, so the
// scalar does not drift with the batch size.
//
// The schema declares no Role::loss: that role means inputs 0 and 1 are a
// prediction and its target (for metrics), which mean and logvar are not.
// A training graph's train.loss may name any scalar, so this term (usually
// added to a reconstruction loss) needs no role to be trained on.
#include <cmath>
#include <cstdint>

#include "generative_ops.hpp"

namespace keel::generative {
namespace {

class KlNormalOp final : public Op {
 public:
  explicit KlNormalOp(const Attrs&) {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& mean = ctx.inputs[0];
    const TensorSpec& logvar = ctx.inputs[1];
    if (mean.dtype != DType::f32 || logvar.dtype != DType::f32)
      return fail("kl_normal: mean is ", dtype_name(mean.dtype), " and logvar is ", dtype_name(logvar.dtype),
                  "; both must be f32");
    if (mean.shape != logvar.shape)
      return fail("kl_normal: mean is ", shape_str(mean.shape), " but logvar is ", shape_str(logvar.shape),
                  "; they must have the same shape");
    if (mean.shape.empty())
      return fail("kl_normal: mean is a scalar; it must be [batch, ...] (the KL is averaged over the batch)");
    ctx.outputs = {TensorSpec{DType::f32, {}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    rows_ = ctx.inputs[0].shape[0];
    count_ = numel(ctx.inputs[0].shape);
    if (rows_ == 0) return fail("kl_normal: the batch is empty, and the mean over no rows is undefined");
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const float* mean = ctx.inputs[0].as<float>();
    const float* logvar = ctx.inputs[1].as<float>();
    double total = 0.0;
    for (std::int64_t i = 0; i < count_; ++i) {
      const double m = mean[i], lv = logvar[i];
      total += 1.0 + lv - m * m - std::exp(lv);
    }
    *ctx.outputs[0].as<float>() = static_cast<float>(-0.5 * total / static_cast<double>(rows_));
    return Status::Ok();
  }

  // d/dmean = mean / N and d/dlogvar = (exp(logvar) - 1) / (2 N), times the
  // loss's gradient.
  Status backward(const BackwardContext& ctx) override {
    const ConstTensorView& g = ctx.grad_outputs[0];
    if (g.numel() != 1 || g.data == nullptr)
      return fail("kl_normal: the gradient of the loss must be one number");
    const double scale = static_cast<double>(*g.as<float>()) / static_cast<double>(rows_);
    const float* mean = ctx.inputs[0].as<float>();
    const float* logvar = ctx.inputs[1].as<float>();
    if (float* gmean = ctx.grad_inputs[0].as<float>())
      for (std::int64_t i = 0; i < count_; ++i) gmean[i] = static_cast<float>(scale * mean[i]);
    if (float* glogvar = ctx.grad_inputs[1].as<float>())
      for (std::int64_t i = 0; i < count_; ++i)
        glogvar[i] = static_cast<float>(0.5 * scale * std::expm1(static_cast<double>(logvar[i])));
    return Status::Ok();
  }

 private:
  std::int64_t rows_ = 0, count_ = 0;
};

}  // namespace

OpSchema kl_normal_schema() {
  OpSchema s = plugin_util::schema(
      "kl_normal",
      "KL(N(mean, exp(logvar)) || N(0, I)): -0.5 * sum(1 + logvar - mean^2 - exp(logvar)) per row, "
      "averaged over the batch.",
      {{"mean", "f32 [batch, ...]: the posterior's mean"},
       {"logvar", "f32 of mean's shape: the log of the posterior's (diagonal) variance"}},
      {{"loss", "f32 scalar: the KL divergence summed over each row's elements, averaged over the rows"}});
  s.has_backward = true;
  s.examples = {{.doc = "a batch of 4-dimensional latents",
                 .inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {kBatch, 4}}, -2.0, 1.0}}},
                {.doc = "image-shaped latents: every dimension but the first is summed",
                 .inputs = {{{DType::f32, {kBatch, 2, 3}}}, {{DType::f32, {kBatch, 2, 3}}}}}};
  return s;
}

std::unique_ptr<Op> kl_normal_factory(const Attrs& attrs) { return std::make_unique<KlNormalOp>(attrs); }

}  // namespace keel::generative
