// standardize: y = (x - mean) / (std + epsilon) per feature (the last axis),
// the input normalization a model applies to raw data before its first
// layer.
//
// mean and std are parameters, not trainable, so that the values a model
// was trained with travel in its checkpoint. The attributes of the same
// names fix them in the graph file instead; when given, forward also copies
// them into the parameters, so a checkpoint always holds the statistics
// that were applied.
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

class StandardizeOp final : public Op {
 public:
  StandardizeOp(std::vector<double> mean, std::vector<double> std, double epsilon)
      : mean_attr_(std::move(mean)), std_attr_(std::move(std)), epsilon_(epsilon) {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& x = ctx.inputs[0];
    KEEL_RETURN_IF_ERROR(du::expect_f32("standardize", "x", x));
    if (x.shape.empty()) return fail("standardize: x is a scalar; it needs a feature axis (the last axis)");
    const Dim features = x.shape.back();
    // The parameters are sized by the feature count, so it must be known
    // before any data arrives.
    if (!is_static(features))
      return fail("standardize: the feature axis (last axis) of x ", shape_str(x.shape),
                  " must have a fixed size");
    if (!(std::isfinite(epsilon_) && epsilon_ >= 0.0))
      return fail("standardize: epsilon is ", epsilon_, "; it must be finite and >= 0");
    KEEL_RETURN_IF_ERROR(check_attr("mean", mean_attr_, x.shape));
    KEEL_RETURN_IF_ERROR(check_attr("std", std_attr_, x.shape));
    for (std::size_t f = 0; f < std_attr_.size(); ++f)
      if (!(std_attr_[f] + epsilon_ > 0.0))
        return fail("standardize: std[", f, "] + epsilon is ", std_attr_[f] + epsilon_,
                    "; it must be positive");
    ctx.outputs = {x};
    ctx.param_shapes = {Shape{features}, Shape{features}};
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    features_ = ctx.inputs[0].shape.back();
    rows_ = features_ == 0 ? 0 : numel(ctx.inputs[0].shape) / features_;
    const auto n = static_cast<std::size_t>(features_);
    mean_.assign(n, 0.0f);
    denom_.assign(n, 1.0f);
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    mirror_attrs(ctx.params[0].as<float>(), ctx.params[1].as<float>());
    KEEL_RETURN_IF_ERROR(load_statistics(ctx.params[0].as<float>(), ctx.params[1].as<float>()));
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    for (std::int64_t r = 0; r < rows_; ++r)
      for (std::int64_t f = 0; f < features_; ++f) {
        const std::int64_t i = r * features_ + f;
        y[i] = (x[i] - mean_[static_cast<std::size_t>(f)]) / denom_[static_cast<std::size_t>(f)];
      }
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    // The statistics are constants of the model, not something it learns.
    for (const TensorView& g : ctx.grad_params) du::zero_fill(g);
    float* gx = ctx.grad_inputs[0].as<float>();
    if (gx == nullptr) return Status::Ok();
    KEEL_RETURN_IF_ERROR(load_statistics(ctx.params[0].as<float>(), ctx.params[1].as<float>()));
    const float* gy = ctx.grad_outputs[0].as<float>();
    for (std::int64_t r = 0; r < rows_; ++r)
      for (std::int64_t f = 0; f < features_; ++f) {
        const std::int64_t i = r * features_ + f;
        gx[i] = gy[i] / denom_[static_cast<std::size_t>(f)];
      }
    return Status::Ok();
  }

 private:
  static Status check_attr(const char* name, const std::vector<double>& values, const Shape& x_shape) {
    if (!values.empty() && static_cast<Dim>(values.size()) != x_shape.back())
      return fail("standardize: attribute ", name, " has ", values.size(), " values but x ",
                  shape_str(x_shape), " has ", x_shape.back(), " features (its last axis)");
    for (std::size_t f = 0; f < values.size(); ++f)
      if (!std::isfinite(values[f])) return fail("standardize: attribute ", name, "[", f, "] is not finite");
    return Status::Ok();
  }

  void mirror_attrs(float* mean_param, float* std_param) const {
    for (std::size_t f = 0; f < mean_attr_.size(); ++f) mean_param[f] = static_cast<float>(mean_attr_[f]);
    for (std::size_t f = 0; f < std_attr_.size(); ++f) std_param[f] = static_cast<float>(std_attr_[f]);
  }

  // The statistics in effect: the attributes where given, else the
  // parameters. A parameter std that is not positive (a constant feature
  // calibrated without epsilon, an unset checkpoint) would turn the output
  // into inf or NaN silently, so it is an error naming the feature.
  Status load_statistics(const float* mean_param, const float* std_param) {
    for (std::size_t f = 0; f < mean_.size(); ++f) {
      mean_[f] = mean_attr_.empty() ? mean_param[f] : static_cast<float>(mean_attr_[f]);
      const float s = std_attr_.empty() ? std_param[f] : static_cast<float>(std_attr_[f]);
      denom_[f] = s + static_cast<float>(epsilon_);
      if (!(denom_[f] > 0.0f && std::isfinite(denom_[f])))
        return fail("standardize: std[", f, "] + epsilon is ", denom_[f], "; it must be positive and finite");
      if (!std::isfinite(mean_[f]))
        return fail("standardize: mean[", f, "] is ", mean_[f], "; it must be finite");
    }
    return Status::Ok();
  }

  std::vector<double> mean_attr_, std_attr_;
  double epsilon_;
  std::int64_t rows_ = 0;
  std::int64_t features_ = 0;
  std::vector<float> mean_, denom_;  // per feature, refreshed every call from attrs or params
};

}  // namespace

OpSchema standardize_schema() {
  OpSchema s;
  s.name = "standardize";
  s.doc =
      "Input normalization per feature (last axis): y = (x - mean) / (std + epsilon), with mean and std from "
      "attributes, a checkpoint, or measured on the training rows before the first step (train.calibrate).";
  s.inputs = {{"x", "f32 tensor [..., features]"}};
  s.outputs = {{"y", "f32 tensor of x's shape"}};
  s.attrs = {
      AttrSpec{.name = "mean",
               .type = AttrType::Floats,
               .doc = "per-feature mean; empty: use the mean parameter as it is (from a checkpoint, or "
                      "measured on the training rows when the node is listed in train.calibrate)",
               .default_value = AttrValue{std::vector<double>{}}},
      AttrSpec{.name = "std",
               .type = AttrType::Floats,
               .doc = "per-feature standard deviation; empty: use the std parameter as it is",
               .default_value = AttrValue{std::vector<double>{}}},
      AttrSpec{.name = "epsilon",
               .type = AttrType::Float,
               .doc = "added to std before dividing, so a constant feature need not divide by zero",
               .default_value = AttrValue{0.0},
               .min = 0.0}};
  s.params = {
      {"mean", "per-feature mean [features]; overwritten by the mean attribute when that is given",
       Init::Zeros, false, Statistic::mean},
      {"std", "per-feature standard deviation [features]; overwritten by the std attribute when given",
       Init::Ones, false, Statistic::std}};
  s.has_backward = true;
  s.examples = {{.attrs = {{"mean", std::vector<double>{0.0, 0.5, -0.5, 1.0}},
                           {"std", std::vector<double>{1.0, 2.0, 0.5, 4.0}}},
                 .inputs = {{{DType::f32, {kBatch, 4}}}}}};
  return s;
}

std::unique_ptr<Op> standardize_factory(const Attrs& attrs) {
  return std::make_unique<StandardizeOp>(attrs.floats("mean"), attrs.floats("std"), attrs.f("epsilon"));
}

}  // namespace keel::nn
