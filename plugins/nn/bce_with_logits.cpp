// bce_with_logits: binary cross entropy of sigmoid(logits) against targets
// in [0, 1], the loss of a GAN's discriminator and of a VAE's Bernoulli
// decoder.
//
// Each term is written as max(x, 0) - x t + log1p(exp(-|x|)), which equals
// -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) but never takes the log
// of a sigmoid that rounded to 0 or 1: exp(-|x|) <= 1, so logits of +-1e4
// give finite terms and gradients. Sums run in double (elementwise_loss.hpp).
#include <algorithm>
#include <cmath>

#include "elementwise_loss.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

constexpr const char* kOp = "bce_with_logits";

// 1 / (1 + exp(-x)) without overflow: the exponent is never positive.
double stable_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

class BceWithLogitsOp final : public ElementwiseLoss {
 public:
  explicit BceWithLogitsOp(Reduction reduction) : ElementwiseLoss({kOp, "logits", "logits are"}, reduction) {}

  Status forward(const ForwardContext& ctx) override {
    write_loss(ctx, [](float x, float t) {
      const double xi = x;
      return std::max(xi, 0.0) - xi * t + std::log1p(std::exp(-std::abs(xi)));
    });
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    double scale = 0.0;
    KEEL_RETURN_IF_ERROR(grad_scale(ctx, scale));
    // d/dx = sigmoid(x) - t; d/dt = -x (as PyTorch's target gradient).
    write_grads(
        ctx, [scale](float x, float t) { return static_cast<float>((stable_sigmoid(x) - t) * scale); },
        [scale](float x, float) { return static_cast<float>(-static_cast<double>(x) * scale); });
    return Status::Ok();
  }
};

}  // namespace

OpSchema bce_with_logits_schema() {
  OpSchema s = plugin_util::schema(
      "bce_with_logits",
      "Binary cross entropy of sigmoid(logits) against targets, computed stably from the logits.",
      {{"logits", "f32 tensor of any shape: unnormalized scores, log(p / (1 - p))"},
       {"target", "f32 tensor of the logits' shape, usually in [0, 1]; gradients flow into it too"}},
      {{"loss", "f32 scalar: the mean (or sum) over all elements of max(x, 0) - x t + log(1 + exp(-|x|))"}});
  declare_reduced_loss(s);
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 4}}, -4.0, 4.0}, {{DType::f32, {kBatch, 4}}, 0.0, 1.0}}}};
  return s;
}

std::unique_ptr<Op> bce_with_logits_factory(const Attrs& attrs) {
  return std::make_unique<BceWithLogitsOp>(reduction_of(attrs));
}

}  // namespace keel::nn
