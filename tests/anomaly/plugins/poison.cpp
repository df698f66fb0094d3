// A test-only data transform for fault injection: `poison` passes its input
// through, except on training steps where step % every == offset, where it
// replaces the whole batch by NaN (mode nan) or multiplies it by factor
// (mode scale). In a data-parallel run, `rank` limits it to that rank's
// share of the batch (the distributed tests' one-rank fault). It lives in its own plugin, loaded only by the
// tests with
// --plugin-path, so no production path carries a test hook.
#include <cmath>
#include <cstring>
#include <limits>

#include "keel/keel.hpp"

namespace {

class Poison final : public keel::Op {
 public:
  explicit Poison(const keel::Attrs& a)
      : nan_(a.s("mode") == "nan"),
        every_(a.i("every")),
        offset_(a.i("offset")),
        factor_(float(a.f("factor"))),
        rank_(a.i("rank")) {}

  keel::Status infer(keel::InferContext& ctx) const override {
    if (ctx.inputs[0].dtype != keel::DType::f32) return keel::fail("poison: x must be f32");
    ctx.outputs = {ctx.inputs[0]};
    return {};
  }

  keel::Status forward(const keel::ForwardContext& ctx) override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const std::int64_t n = ctx.inputs[0].numel();
    const bool on_rank = rank_ < 0 || (ctx.collective && ctx.collective->rank() == rank_);
    const bool hit =
        on_rank && ctx.training && every_ > 0 && std::int64_t(ctx.step % std::uint64_t(every_)) == offset_;
    for (std::int64_t i = 0; i < n; ++i)
      y[i] = !hit ? x[i] : nan_ ? std::numeric_limits<float>::quiet_NaN() : x[i] * factor_;
    return {};
  }

 private:
  bool nan_;
  std::int64_t every_, offset_;
  float factor_;
  std::int64_t rank_;
};

keel::OpSchema poison_schema() {
  keel::OpSchema s;
  s.name = "poison";
  s.doc = "test only: poisons the whole batch on training steps where step % every == offset";
  s.inputs = {{"x", "f32 tensor", false}};
  s.outputs = {{"y", "x, or x poisoned"}};
  s.attrs = {
      {"mode", keel::AttrType::String, "nan or scale", std::string("nan"), {}, {}, {"nan", "scale"}},
      {"every", keel::AttrType::Int, "period in steps; 0: never", std::int64_t{20}, 0.0, {}, {}},
      {"offset", keel::AttrType::Int, "the poisoned step within each period", std::int64_t{3}, 0.0, {}, {}},
      {"factor", keel::AttrType::Float, "mode scale: the multiplier", 1e6, {}, {}, {}},
      {"rank",
       keel::AttrType::Int,
       "only this rank of a data-parallel run; -1: every process",
       std::int64_t{-1},
       -1.0,
       {},
       {}}};
  return s;
}

void register_ops(keel::Registrar& r) { r.add(poison_schema(), keel::make_op<Poison>); }

}  // namespace

KEEL_PLUGIN("poison", "1.0.0", register_ops)
