// dropout: in training, zeroes each element with probability p and scales
// the survivors by 1 / (1 - p) so the expected output equals the input; in
// inference, the identity.
//
// Whether element i is dropped is a pure function of (seed, step, i)
// (common/keel_rng.hpp). So a run is reproducible bit for bit, independent
// of threads, and backward recomputes the mask from the same key instead of
// keeping a buffer of it alive between forward and backward.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/keel_dnnl.hpp"
#include "common/keel_rng.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

class DropoutOp final : public Op {
 public:
  explicit DropoutOp(double p) : p_(p) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("dropout", "x", ctx.inputs[0]));
    // The schema's bounds already say this to the graph validator; an op
    // built directly (tests, other front ends) gets the same answer here.
    if (!(p_ >= 0.0 && p_ < 1.0))
      return fail("dropout: p is ", p_, "; it must be in [0, 1) (p = 1 would drop everything)");
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    if (!(p_ >= 0.0 && p_ < 1.0)) return fail("dropout: p is ", p_, "; it must be in [0, 1)");
    count_ = numel(ctx.inputs[0].shape);
    threshold_ = rng::threshold_53(p_);
    // PyTorch scales by the f32 value of 1 / (1 - p); so does this.
    scale_ = static_cast<float>(1.0 / (1.0 - p_));
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    if (!ctx.training || threshold_ == 0) {
      // memmove: the engine may run this op in place.
      if (count_ != 0 && x != y) std::memmove(y, x, static_cast<std::size_t>(count_) * sizeof(float));
      return Status::Ok();
    }
    apply_mask(x, y, rng::stream_key(ctx.seed, ctx.step));
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    float* gx = ctx.grad_inputs[0].as<float>();
    if (gx == nullptr) return Status::Ok();
    const float* gy = ctx.grad_outputs[0].as<float>();
    if (threshold_ == 0) {
      if (count_ != 0 && gx != gy) std::memmove(gx, gy, static_cast<std::size_t>(count_) * sizeof(float));
      return Status::Ok();
    }
    // y = x * mask * scale is linear in x: its gradient is the same map on
    // grad_y, with the mask forward drew at this (seed, step).
    apply_mask(gy, gx, rng::stream_key(ctx.seed, ctx.step));
    return Status::Ok();
  }

 private:
  void apply_mask(const float* in, float* out, std::uint64_t key) const {
    for (std::int64_t i = 0; i < count_; ++i) {
      const bool dropped = (rng::bits_at(key, static_cast<std::uint64_t>(i)) >> 11) < threshold_;
      out[i] = dropped ? 0.0f : in[i] * scale_;
    }
  }

  double p_;
  std::int64_t count_ = 0;
  std::uint64_t threshold_ = 0;
  float scale_ = 1.0f;
};

}  // namespace

OpSchema dropout_schema() {
  OpSchema s = plugin_util::schema(
      "dropout",
      "Training: zeroes elements with probability p and scales the rest by 1/(1-p); inference: identity.",
      {{"x", "f32 tensor of any shape"}}, {{"y", "f32 tensor of x's shape"}});
  s.attrs = {AttrSpec{.name = "p",
                      .type = AttrType::Float,
                      .doc = "probability that an element is zeroed while training, in [0, 1); the mask is "
                             "drawn from the graph seed, the node and the training step",
                      .default_value = AttrValue{0.5},
                      .min = 0.0,
                      // Bounds are inclusive; the largest double below 1 excludes exactly p = 1.
                      .max = std::nextafter(1.0, 0.0)}};
  s.has_backward = true;
  return s;
}

std::unique_ptr<Op> dropout_factory(const Attrs& attrs) { return std::make_unique<DropoutOp>(attrs.f("p")); }

}  // namespace keel::nn
