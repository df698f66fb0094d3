// mse and softmax_cross_entropy: scalar objectives over a batch.
//
// Plain loops rather than oneDNN primitives: a loss sees one [N, C] or [N]
// tensor per step, far too little work for a primitive to pay off, and the
// loops let the sums run in double, so the scalar does not drift with the
// batch size. Both ops keep no state between forward and backward: backward
// recomputes what it needs (the softmax) from the inputs.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/keel_dnnl.hpp"
#include "elementwise_loss.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

class MseOp final : public ElementwiseLoss {
 public:
  explicit MseOp(Reduction reduction) : ElementwiseLoss({"mse", "prediction", "prediction is"}, reduction) {}

  Status forward(const ForwardContext& ctx) override {
    write_loss(ctx, [](float p, float t) {
      const double d = static_cast<double>(p) - t;
      return d * d;
    });
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    double scale = 0.0;
    KEEL_RETURN_IF_ERROR(grad_scale(ctx, scale));
    const auto f = static_cast<float>(2.0 * scale);
    // d/dp (p - t)^2 = 2 (p - t) and d/dt = -2 (p - t): the two gradients are
    // exact negatives, as in PyTorch.
    write_grads(
        ctx, [f](float p, float t) { return f * (p - t); }, [f](float p, float t) { return -(f * (p - t)); });
    return Status::Ok();
  }
};

// Labels arrive as i32 or i64; infer has checked which.
std::int64_t label_at(const ConstTensorView& labels, std::int64_t i) {
  return labels.dtype == DType::i32 ? labels.as<std::int32_t>()[i] : labels.as<std::int64_t>()[i];
}

class CrossEntropyOp final : public Op {
 public:
  explicit CrossEntropyOp(Reduction reduction) : reduction_(reduction) {}

  Status infer(InferContext& ctx) const override {
    constexpr const char* op = "softmax_cross_entropy";
    const TensorSpec& logits = ctx.inputs[0];
    const TensorSpec& labels = ctx.inputs[1];
    KEEL_RETURN_IF_ERROR(du::expect_f32(op, "logits", logits));
    if (labels.dtype != DType::i32 && labels.dtype != DType::i64)
      return fail(op, ": labels have dtype ", dtype_name(labels.dtype),
                  "; they must be i32 or i64 class indices");
    if (logits.shape.size() != 2)
      return fail(op, ": logits must be [batch, classes], got ", shape_str(logits.shape));
    if (labels.shape.size() != 1) return fail(op, ": labels must be [batch], got ", shape_str(labels.shape));
    if (logits.shape[0] != labels.shape[0])
      return fail(op, ": logits are ", shape_str(logits.shape), " but labels are ", shape_str(labels.shape),
                  "; both need the same batch size");
    if (logits.shape[1] == 0)
      return fail(op, ": logits have no classes (shape ", shape_str(logits.shape), ")");
    ctx.outputs = {TensorSpec{DType::f32, {}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    rows_ = ctx.inputs[0].shape[0];
    classes_ = ctx.inputs[0].shape[1];
    if (rows_ == 0 && reduction_ == Reduction::mean)
      return fail("softmax_cross_entropy: the batch is empty, and the mean over no rows is undefined");
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const float* logits = ctx.inputs[0].as<float>();
    double total = 0.0;
    for (std::int64_t r = 0; r < rows_; ++r) {
      std::int64_t label = 0;
      KEEL_RETURN_IF_ERROR(checked_label(ctx.inputs[1], r, label));
      const float* row = logits + r * classes_;
      // -log softmax(row)[label] = logsumexp(row) - row[label].
      total += row_log_sum_exp(row) - row[label];
    }
    *ctx.outputs[0].as<float>() = reduce_sum(reduction_, total, rows_);
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    KEEL_RETURN_IF_ERROR(expect_scalar_grad("softmax_cross_entropy", ctx));
    du::zero_fill(ctx.grad_inputs[1]);  // labels are not differentiable
    float* grad = ctx.grad_inputs[0].as<float>();
    if (grad == nullptr) return Status::Ok();
    const double scale = term_scale(reduction_, ctx, rows_);
    const float* logits = ctx.inputs[0].as<float>();
    for (std::int64_t r = 0; r < rows_; ++r) {
      std::int64_t label = 0;
      KEEL_RETURN_IF_ERROR(checked_label(ctx.inputs[1], r, label));
      const float* row = logits + r * classes_;
      float* out = grad + r * classes_;
      const double lse = row_log_sum_exp(row);
      for (std::int64_t c = 0; c < classes_; ++c) {
        const double softmax = std::exp(static_cast<double>(row[c]) - lse);
        out[c] = static_cast<float>((softmax - (c == label ? 1.0 : 0.0)) * scale);
      }
    }
    return Status::Ok();
  }

 private:
  // Subtracting the row's maximum first keeps every exponent <= 0, so no
  // term overflows and the largest is exactly 1: logits of 1e4 are as safe
  // as logits of 1.
  double row_log_sum_exp(const float* row) const {
    const double top = *std::max_element(row, row + classes_);
    if (!std::isfinite(top)) return top;  // NaN or inf logits: let them show in the loss
    double sum = 0.0;
    for (std::int64_t c = 0; c < classes_; ++c) sum += std::exp(static_cast<double>(row[c]) - top);
    return top + std::log(sum);
  }

  Status checked_label(const ConstTensorView& labels, std::int64_t row, std::int64_t& label) const {
    label = label_at(labels, row);
    if (label < 0 || label >= classes_)
      return fail("softmax_cross_entropy: the label of row ", row, " is ", label, ", outside the ", classes_,
                  " classes [0, ", classes_, ")");
    return Status::Ok();
  }

  Reduction reduction_;
  std::int64_t rows_ = 0;
  std::int64_t classes_ = 0;
};

}  // namespace

OpSchema mse_schema() {
  OpSchema s = plugin_util::schema(
      "mse", "Mean squared error between a prediction and a target of the same shape.",
      {{"prediction", "f32 tensor of any shape"},
       {"target", "f32 tensor of the prediction's shape; gradients flow into it too"}},
      {{"loss", "f32 scalar: the mean (or sum) over all elements of (prediction - target)^2"}});
  declare_reduced_loss(s);
  s.metric = Metric::r2;
  return s;
}

std::unique_ptr<Op> mse_factory(const Attrs& attrs) { return std::make_unique<MseOp>(reduction_of(attrs)); }

OpSchema softmax_cross_entropy_schema() {
  OpSchema s = plugin_util::schema(
      "softmax_cross_entropy",
      "Cross entropy of softmax(logits) against integer class labels, computed stably.",
      {{"logits", "f32 [batch, classes]: unnormalized class scores"},
       {"labels", "i32 or i64 [batch]: the true class of each row, in [0, classes)", false}},
      {{"loss", "f32 scalar: the mean (or sum) over rows of -log softmax(logits)[label]"}});
  declare_reduced_loss(s);
  s.metric = Metric::accuracy;
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 4}}, -2.0, 2.0}, {{DType::i32, {kBatch}}, 0.0, 3.0}}}};
  return s;
}

std::unique_ptr<Op> softmax_cross_entropy_factory(const Attrs& attrs) {
  return std::make_unique<CrossEntropyOp>(reduction_of(attrs));
}

}  // namespace keel::nn
