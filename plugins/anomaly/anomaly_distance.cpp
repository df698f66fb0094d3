// anomaly_distance: the brief's is_anomaly as a guard. Per row, the L2
// distance between a prediction and a reference (a target, a
// reconstruction); rows farther than threshold are flagged.
#include <cmath>
#include <limits>

#include "anomaly_ops.hpp"
#include "scans.hpp"

namespace keel::anomaly {
namespace {

class DistanceOp final : public Op {
 public:
  explicit DistanceOp(const Attrs& a) : threshold_(a.f("threshold")) {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& p = ctx.inputs[0];
    const TensorSpec& r = ctx.inputs[1];
    if (p.dtype != DType::f32 || r.dtype != DType::f32)
      return fail("anomaly_distance: prediction and reference must be f32");
    if (p.shape != r.shape)
      return fail("anomaly_distance: prediction is ", shape_str(p.shape), " but reference is ",
                  shape_str(r.shape), "; they must have the same shape");
    const Dim rows = p.shape.empty() ? 1 : p.shape[0];
    ctx.outputs = {{DType::f32, {}}, {DType::f32, {}}, {DType::f32, {}}, {DType::f32, {rows}}};
    ctx.param_shapes.clear();
    return {};
  }

  Status prepare(const PrepareContext& ctx) override {
    const auto& shape = ctx.inputs[0].shape;
    rows_ = shape.empty() ? 1 : shape[0];
    cols_ = rows_ ? numel(shape) / rows_ : 0;
    dist_.assign(std::size_t(rows_), 0.0f);
    return {};
  }

  Status forward(const ForwardContext& ctx) override {
    distance_rows(ctx.inputs[0].as<float>(), ctx.inputs[1].as<float>(), rows_, cols_, dist_.data());
    float* mask = ctx.outputs[3].as<float>();
    double score = 0;
    bool fired = false;
    for (std::int64_t r = 0; r < rows_; ++r) {
      const float d = dist_[std::size_t(r)];
      const bool bad = !(d <= threshold_);
      mask[r] = bad ? 1.0f : 0.0f;
      fired = fired || bad;
      score = std::isnan(d) || std::isnan(score) ? std::numeric_limits<double>::quiet_NaN()
                                                 : std::max(score, double(d));
    }
    *ctx.outputs[0].as<float>() = fired ? 1.0f : 0.0f;
    *ctx.outputs[1].as<float>() = float(score);
    *ctx.outputs[2].as<float>() = float(threshold_);
    return {};
  }

 private:
  double threshold_;
  std::int64_t rows_ = 0, cols_ = 0;
  std::vector<float> dist_;
};

}  // namespace

OpSchema distance_schema() {
  OpSchema s = plugin_util::schema(
      "anomaly_distance",
      "Guard: per-row L2 distance between a prediction and a reference, flagged above threshold "
      "(score: the largest distance).",
      {{"prediction", "f32 [rows, ...]", false}, {"reference", "f32, the prediction's shape", false}},
      guard_outputs());
  s.attrs = {AttrSpec{.name = "check",
                      .type = AttrType::String,
                      .doc = "distance: a row is flagged when ||prediction - reference||_2 > threshold",
                      .default_value = AttrValue{std::string("distance")},
                      .choices = {"distance"}},
             AttrSpec{.name = "threshold",
                      .type = AttrType::Float,
                      .doc = "largest accepted per-row distance",
                      .min = 0.0}};
  for (auto& a : guard_attrs()) s.attrs.push_back(std::move(a));
  s.role = Role::guard;
  s.examples = {
      {.attrs = {{"threshold", 1.0}}, .inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {kBatch, 4}}}}}};
  return s;
}

std::unique_ptr<Op> distance_factory(const Attrs& attrs) { return std::make_unique<DistanceOp>(attrs); }

}  // namespace keel::anomaly
