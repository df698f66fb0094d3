// An operator plugin built out of tree against the installed SDK:
// clip(x) = min(max(x, low), high), elementwise, with its gradient
// (1 where low < x < high, else 0). See docs/sdk.md.
#include <algorithm>
#include <cstdint>

#include "keel/keel.hpp"

namespace {

class Clip final : public keel::Op {
 public:
  explicit Clip(const keel::Attrs& a) : low_(float(a.f("low"))), high_(float(a.f("high"))) {}

  keel::Status infer(keel::InferContext& ctx) const override {
    // The schema cannot say "low <= high": check it here, where the runner
    // reports it before anything runs (`keel validate`).
    if (low_ > high_) return keel::fail("clip: low (", low_, ") must not exceed high (", high_, ")");
    if (ctx.inputs[0].dtype != keel::DType::f32)
      return keel::fail("clip: x must be f32, got ", keel::dtype_name(ctx.inputs[0].dtype));
    ctx.outputs = {ctx.inputs[0]};
    return {};
  }

  keel::Status forward(const keel::ForwardContext& ctx) override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    for (std::int64_t i = 0, n = ctx.inputs[0].numel(); i < n; ++i) y[i] = std::clamp(x[i], low_, high_);
    return {};
  }

  keel::Status backward(const keel::BackwardContext& ctx) override {
    if (!ctx.grad_inputs[0].data) return {};  // nobody needs it
    const float* x = ctx.inputs[0].as<float>();
    const float* gy = ctx.grad_outputs[0].as<float>();
    float* gx = ctx.grad_inputs[0].as<float>();
    for (std::int64_t i = 0, n = ctx.inputs[0].numel(); i < n; ++i)
      gx[i] = x[i] > low_ && x[i] < high_ ? gy[i] : 0.0f;
    return {};
  }

 private:
  float low_, high_;
};

keel::OpSchema clip_schema() {
  keel::OpSchema s;
  s.name = "clip";
  s.doc = "y = min(max(x, low), high), elementwise";
  s.inputs = {{"x", "f32, any shape"}};
  s.outputs = {{"y", "f32, x's shape"}};
  s.attrs = {{"low", keel::AttrType::Float, "smallest value kept", -1.0, {}, {}, {}},
             {"high", keel::AttrType::Float, "largest value kept", 1.0, {}, {}, {}}};
  s.has_backward = true;
  // What `keel check-op clip` runs: values beyond both bounds, and a pair of
  // bounds the op must refuse.
  s.examples = {{.attrs = {{"low", -0.5}, {"high", 0.5}},
                 .inputs = {{{keel::DType::f32, {keel::kBatch, 4}}, -2.0, 2.0}}},
                {.doc = "low above high",
                 .attrs = {{"low", 1.0}, {"high", 0.0}},
                 .inputs = {{{keel::DType::f32, {keel::kBatch, 4}}}},
                 .rejects = "must not exceed high"}};
  return s;
}

void register_ops(keel::Registrar& r) { r.add(clip_schema(), keel::make_op<Clip>); }

}  // namespace

KEEL_PLUGIN("clip", "0.1.0", register_ops)
