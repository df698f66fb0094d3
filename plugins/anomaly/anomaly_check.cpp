// anomaly_check: a guard on one tensor. The check decides the statistic;
// the engine reads the outputs (flag, score, limit, mask) after the run and
// acts on the `action` attribute.
//
// Rows are the first axis (a scalar is one row); features are the rest,
// flattened. Per-feature statistics (mean, std, min, max) are parameters,
// not trainable, so calibrated values travel with the checkpoint; they are
// sized only for the checks that use them ([0] otherwise), and so is the
// loss history of loss_spike.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "anomaly_ops.hpp"
#include "scans.hpp"

namespace keel::anomaly {
namespace {

enum class Check { nonfinite, zscore, range, loss_spike, grad_norm };

Check check_from(const std::string& s) {
  if (s == "zscore") return Check::zscore;
  if (s == "range") return Check::range;
  if (s == "loss_spike") return Check::loss_spike;
  if (s == "grad_norm") return Check::grad_norm;
  return Check::nonfinite;
}

// Loss spikes are judged against at least this many earlier losses (or the
// whole window, if it is shorter).
constexpr std::int64_t kMinHistory = 5;

class CheckOp final : public Op {
 public:
  explicit CheckOp(const Attrs& a)
      : check_(check_from(a.s("check"))),
        threshold_(a.f("threshold")),
        use_max_(a.s("reduce") == "max"),
        lo_attr_(a.f("min")),
        hi_attr_(a.f("max")),
        calibrated_(a.s("bounds") == "calibrated"),
        margin_(a.f("margin")),
        min_std_(a.f("min_std")),
        window_(a.i("window")) {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& x = ctx.inputs[0];
    if (x.dtype != DType::f32) return fail("anomaly_check: x must be f32, got ", dtype_name(x.dtype));
    const Dim rows = x.shape.empty() ? 1 : x.shape[0];
    Dim features = 1;
    for (std::size_t k = 1; k < x.shape.size(); ++k) {
      if (!is_static(x.shape[k]) && uses_stats())
        return fail("anomaly_check: check ", name(), " keeps per-feature statistics, so every axis of x ",
                    shape_str(x.shape), " after the first must have a fixed size");
      features = is_static(x.shape[k]) && is_static(features) ? features * x.shape[k] : -1;
    }
    if (check_ == Check::loss_spike && is_static(std::span<const Dim>(x.shape)) && numel(x.shape) != 1)
      return fail("anomaly_check: loss_spike watches a scalar loss; x is ", shape_str(x.shape));
    if (check_ == Check::grad_norm && lo_attr_ > hi_attr_)
      return fail("anomaly_check: grad_norm needs min <= max, got min ", lo_attr_, " and max ", hi_attr_);
    ctx.outputs = {{DType::f32, {}}, {DType::f32, {}}, {DType::f32, {}}, {DType::f32, {rows}}};
    const Shape stats{uses_stats() ? features : 0};
    ctx.param_shapes = {stats, stats, stats, stats, Shape{check_ == Check::loss_spike ? window_ + 1 : 0}};
    return {};
  }

  Status prepare(const PrepareContext& ctx) override {
    const auto& shape = ctx.inputs[0].shape;
    rows_ = shape.empty() ? 1 : shape[0];
    cols_ = rows_ ? numel(shape) / rows_ : 0;
    if (uses_stats()) {
      a_.assign(std::size_t(cols_), 0.0f);
      b_.assign(std::size_t(cols_), 0.0f);
    }
    stat_.assign(std::size_t(rows_), 0.0f);
    return {};
  }

  Status forward(const ForwardContext& ctx) override {
    const float* x = ctx.inputs[0].as<float>();
    float* mask = ctx.outputs[3].as<float>();
    double score = 0, limit = 0;
    bool fired = false;
    switch (check_) {
      case Check::nonfinite:
        score = double(nonfinite_rows(x, rows_, cols_, mask));
        fired = score > 0;
        break;
      case Check::range: {
        const float* mn = ctx.params[2].as<float>();
        const float* mx = ctx.params[3].as<float>();
        for (std::int64_t k = 0; k < cols_; ++k) {
          const double span = double(mx[k]) - double(mn[k]);
          a_[std::size_t(k)] = calibrated_ ? float(mn[k] - margin_ * span) : float(lo_attr_);
          b_[std::size_t(k)] = calibrated_ ? float(mx[k] + margin_ * span) : float(hi_attr_);
        }
        score = double(range_rows(x, rows_, cols_, a_.data(), b_.data(), mask));
        fired = score > 0;
        break;
      }
      case Check::zscore: {
        const float* mean = ctx.params[0].as<float>();
        const float* sd = ctx.params[1].as<float>();
        for (std::int64_t k = 0; k < cols_; ++k) {
          a_[std::size_t(k)] = mean[k];
          b_[std::size_t(k)] = float(1.0 / std::max(double(sd[k]), min_std_));
        }
        zscore_rows(x, rows_, cols_, a_.data(), b_.data(), use_max_, stat_.data());
        limit = threshold_;
        for (std::int64_t r = 0; r < rows_; ++r) {
          const float s = stat_[std::size_t(r)];
          const bool bad = !(s <= threshold_);
          mask[r] = bad ? 1.0f : 0.0f;
          fired = fired || bad;
          score = std::isnan(s) || std::isnan(score) ? std::numeric_limits<double>::quiet_NaN()
                                                     : std::max(score, double(s));
        }
        break;
      }
      case Check::loss_spike:
        fired = loss_spike(x[0], ctx.params[4].as<float>(), ctx.training, score);
        limit = threshold_;
        break;
      case Check::grad_norm: {
        score = std::sqrt(sum_of_squares(x, rows_ * cols_));
        const bool low = score < lo_attr_;
        fired = low || !(score <= hi_attr_);
        limit = low ? lo_attr_ : hi_attr_;
        break;
      }
    }
    if (check_ == Check::loss_spike || check_ == Check::grad_norm)
      for (std::int64_t r = 0; r < rows_; ++r) mask[r] = fired ? 1.0f : 0.0f;
    *ctx.outputs[0].as<float>() = fired ? 1.0f : 0.0f;
    *ctx.outputs[1].as<float>() = float(score);
    *ctx.outputs[2].as<float>() = float(limit);
    return {};
  }

 private:
  bool uses_stats() const { return check_ == Check::zscore || check_ == Check::range; }
  const char* name() const { return check_ == Check::zscore ? "zscore" : "range"; }

  // history[0..window) is a ring of accepted losses, history[window] how
  // many were accepted so far. A loss that fires is not recorded, so a run
  // of bad steps cannot raise the median it is judged against. Only
  // training runs judge and record: an evaluation loss over a whole split is
  // not comparable with batch losses.
  bool loss_spike(float v, float* history, bool training, double& score) const {
    if (!training) return false;
    const auto seen = static_cast<std::int64_t>(history[window_]);
    const std::int64_t past = std::min(seen, window_);
    bool fired = !std::isfinite(v);
    score = v;
    if (past >= std::min(kMinHistory, window_)) {
      std::vector<double> values(history, history + past);
      const double med = median(values);
      score = med > 0 ? double(v) / med : (v > 0 ? std::numeric_limits<double>::infinity() : 0.0);
      fired = fired || !(double(v) <= threshold_ * med);
    }
    if (!fired) {
      history[seen % window_] = v;
      history[window_] = float(seen + 1);
    }
    return fired;
  }

  Check check_;
  double threshold_;
  bool use_max_;
  double lo_attr_, hi_attr_;
  bool calibrated_;
  double margin_, min_std_;
  std::int64_t window_;
  std::int64_t rows_ = 0, cols_ = 0;
  std::vector<float> a_, b_, stat_;  // per-feature bounds or mean / 1/std; per-row statistic
};

}  // namespace

OpSchema check_schema() {
  // No bound by default: the largest f32 (an infinite default would not
  // survive JSON, as `keel plugins --json` prints it).
  const double unbounded = double(std::numeric_limits<float>::max());
  OpSchema s = plugin_util::schema(
      "anomaly_check",
      "Guard on one tensor: non-finite values, z-scores or ranges against training statistics, loss "
      "spikes, gradient norms; the engine acts on `action` when it fires.",
      {{"x",
        "f32 tensor watched: rows are the first axis, features the rest (grad_norm: the loss "
        "whose gradients are watched; the engine feeds the per-parameter gradient norms)",
        false}},
      guard_outputs());
  s.attrs = {
      AttrSpec{.name = "check",
               .type = AttrType::String,
               .doc =
                   "nonfinite: fires on any NaN or infinity (score: their count; rows holding one are "
                   "masked). zscore: z = (x - mean) / max(std, min_std) per feature, a row is flagged "
                   "when its max (reduce: max) or mean (reduce: mean) |z| exceeds threshold (score: the "
                   "largest row statistic). range: values outside [min, max] (bounds: given) or the "
                   "calibrated per-feature [min, max] widened by margin * (max - min) (bounds: "
                   "calibrated) flag their row (score: their count). loss_spike: training only; fires when "
                   "the loss exceeds threshold times the median of the last `window` accepted losses (at "
                   "least 5 first) or is not finite (score: loss / median). grad_norm: the global "
                   "gradient L2 norm (score) above max (explosion) or below min (vanishing)",
               .choices = {"nonfinite", "zscore", "range", "loss_spike", "grad_norm"}},
      AttrSpec{.name = "threshold",
               .type = AttrType::Float,
               .doc = "zscore: largest accepted |z| statistic; loss_spike: largest accepted ratio to the "
                      "running median",
               .default_value = AttrValue{4.0},
               .min = 0.0},
      AttrSpec{.name = "reduce",
               .type = AttrType::String,
               .doc = "zscore: a row's statistic is the max or the mean of its features' |z|",
               .default_value = AttrValue{std::string("max")},
               .choices = {"max", "mean"}},
      AttrSpec{.name = "bounds",
               .type = AttrType::String,
               .doc = "range: calibrated (the min/max parameters, from train.calibrate or a checkpoint) or "
                      "given (the min and max attributes)",
               .default_value = AttrValue{std::string("calibrated")},
               .choices = {"calibrated", "given"}},
      AttrSpec{.name = "min",
               .type = AttrType::Float,
               .doc = "range (bounds: given): smallest accepted value; grad_norm: smallest accepted norm "
                      "(default: no bound)",
               .default_value = AttrValue{-unbounded}},
      AttrSpec{.name = "max",
               .type = AttrType::Float,
               .doc = "range (bounds: given): largest accepted value; grad_norm: largest accepted norm "
                      "(default: no bound)",
               .default_value = AttrValue{unbounded}},
      AttrSpec{.name = "margin",
               .type = AttrType::Float,
               .doc = "range (bounds: calibrated): widen each feature's range by this fraction of its width "
                      "on both sides",
               .default_value = AttrValue{0.0},
               .min = 0.0},
      AttrSpec{.name = "min_std",
               .type = AttrType::Float,
               .doc = "zscore: floor under each feature's std, so a feature constant in training does not "
                      "divide by zero",
               .default_value = AttrValue{1e-6},
               .min = 1e-30},
      AttrSpec{.name = "window",
               .type = AttrType::Int,
               .doc = "loss_spike: how many accepted losses the running median covers",
               .default_value = AttrValue{std::int64_t{20}},
               .min = 1.0,
               .max = 100000.0},
  };
  for (auto& a : guard_attrs()) s.attrs.push_back(std::move(a));
  const char* sized = " [features] for zscore and range, [0] otherwise; set by train.calibrate";
  s.params = {{"mean", std::string("per-feature mean of the training data") + sized, Init::Zeros, false,
               Statistic::mean},
              {"std", std::string("per-feature standard deviation (population)") + sized, Init::Ones, false,
               Statistic::std},
              {"min", std::string("per-feature minimum") + sized, Init::Zeros, false, Statistic::min},
              {"max", std::string("per-feature maximum") + sized, Init::Zeros, false, Statistic::max},
              {"history", "loss_spike: the last accepted losses and their count [window + 1], [0] otherwise",
               Init::Zeros, false}};
  s.role = Role::guard;
  // `check` has no default: one example per check, for keel check-op.
  auto str = [](const char* v) { return AttrValue{std::string(v)}; };
  const ExampleInput rows{{DType::f32, {kBatch, 4}}};
  s.examples = {
      {.doc = "nonfinite", .attrs = {{"check", str("nonfinite")}}, .inputs = {rows}},
      {.doc = "zscore",
       .attrs = {{"check", str("zscore")}, {"reduce", str("mean")}, {"threshold", 0.5}},
       .inputs = {rows}},
      {.doc = "range, given bounds",
       .attrs = {{"check", str("range")}, {"bounds", str("given")}, {"min", -0.5}, {"max", 0.5}},
       .inputs = {rows}},
      {.doc = "loss_spike",
       .attrs = {{"check", str("loss_spike")}, {"window", std::int64_t{3}}},
       .inputs = {{{DType::f32, {}}, 0.0, 1.0}}},
      {.doc = "grad_norm",
       .attrs = {{"check", str("grad_norm")}, {"max", 1.0}},
       .inputs = {{{DType::f32, {kBatch}}, 0.0, 1.0}}},
      {.doc = "loss_spike on a tensor",
       .attrs = {{"check", str("loss_spike")}},
       .inputs = {rows},
       .rejects = "loss_spike watches a scalar loss"},
  };
  return s;
}

std::unique_ptr<Op> check_factory(const Attrs& attrs) { return std::make_unique<CheckOp>(attrs); }

}  // namespace keel::anomaly
