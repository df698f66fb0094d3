// gaussian_sample: the reparameterisation z = mean + exp(logvar / 2) * eps,
// eps ~ N(0, 1) per element, through which a VAE's encoder is trained.
//
// eps is a pure function of (seed, step, element index) (common/keel_rng.hpp),
// as dropout's mask is: fresh every training step, the same bytes on every
// run and thread count, and recomputed by backward from the same key rather
// than kept in a buffer between forward and backward.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/keel_rng.hpp"
#include "generative_ops.hpp"

namespace keel::generative {
namespace {

class GaussianSampleOp final : public Op {
 public:
  explicit GaussianSampleOp(const Attrs& attrs) : sample_in_inference_(attrs.s("inference") == "sample") {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& mean = ctx.inputs[0];
    const TensorSpec& logvar = ctx.inputs[1];
    if (mean.dtype != DType::f32 || logvar.dtype != DType::f32)
      return fail("gaussian_sample: mean is ", dtype_name(mean.dtype), " and logvar is ",
                  dtype_name(logvar.dtype), "; both must be f32");
    if (mean.shape != logvar.shape)
      return fail("gaussian_sample: mean is ", shape_str(mean.shape), " but logvar is ",
                  shape_str(logvar.shape), "; they must have the same shape");
    ctx.outputs = {mean};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    count_ = numel(ctx.inputs[0].shape);
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const float* mean = ctx.inputs[0].as<float>();
    const float* logvar = ctx.inputs[1].as<float>();
    float* z = ctx.outputs[0].as<float>();
    if (!ctx.training && !sample_in_inference_) {
      if (count_ != 0) std::memcpy(z, mean, static_cast<std::size_t>(count_) * sizeof(float));
      return Status::Ok();
    }
    const std::uint64_t key = rng::stream_key(ctx.seed, ctx.step);
    for (std::int64_t i = 0; i < count_; ++i) z[i] = mean[i] + std::exp(0.5f * logvar[i]) * eps(key, i);
    return Status::Ok();
  }

  // dz/dmean = 1; dz/dlogvar = eps * exp(logvar / 2) / 2, with the eps
  // forward drew at this (seed, step). Backward only follows a training
  // forward, which always draws.
  Status backward(const BackwardContext& ctx) override {
    const float* g = ctx.grad_outputs[0].as<float>();
    if (float* gmean = ctx.grad_inputs[0].as<float>(); gmean != nullptr && count_ != 0)
      std::memcpy(gmean, g, static_cast<std::size_t>(count_) * sizeof(float));
    if (float* glogvar = ctx.grad_inputs[1].as<float>()) {
      const float* logvar = ctx.inputs[1].as<float>();
      const std::uint64_t key = rng::stream_key(ctx.seed, ctx.step);
      for (std::int64_t i = 0; i < count_; ++i)
        glogvar[i] = g[i] * eps(key, i) * 0.5f * std::exp(0.5f * logvar[i]);
    }
    return Status::Ok();
  }

 private:
  static float eps(std::uint64_t key, std::int64_t i) {
    return static_cast<float>(rng::normal_at(key, static_cast<std::uint64_t>(i)));
  }

  bool sample_in_inference_;
  std::int64_t count_ = 0;
};

}  // namespace

OpSchema gaussian_sample_schema() {
  OpSchema s = plugin_util::schema(
      "gaussian_sample",
      "Reparameterised Gaussian draw z = mean + exp(0.5 * logvar) * eps, eps ~ N(0, 1) per element.",
      {{"mean", "f32 tensor of any shape: the Gaussian's mean"},
       {"logvar", "f32 tensor of mean's shape: the log of its variance"}},
      {{"z", "f32 tensor of mean's shape"}});
  s.attrs = {AttrSpec{
      .name = "inference",
      .type = AttrType::String,
      .doc = "what inference computes: mean (z = mean, deterministic) or sample (draw as in training, "
             "at the step the executor passes, 0 for keel run). Training always draws: eps comes from "
             "the graph seed, the node and the training step (Box-Muller over the counter-based "
             "generator), and backward recomputes it",
      .default_value = AttrValue{std::string("mean")},
      .choices = {"mean", "sample"}}};
  s.has_backward = true;
  s.examples = {{.doc = "a batch of 5-dimensional latents",
                 .inputs = {{{DType::f32, {kBatch, 5}}}, {{DType::f32, {kBatch, 5}}, -2.0, 1.0}}}};
  return s;
}

std::unique_ptr<Op> gaussian_sample_factory(const Attrs& attrs) {
  return std::make_unique<GaussianSampleOp>(attrs);
}

}  // namespace keel::generative
