#include "training/metrics.hpp"

#include <cmath>

namespace keel {

namespace {

const PlannedNode* producer(const Plan& plan, int slot) {
  for (const auto& n : plan.nodes())
    for (int s : n.outputs)
      if (s == slot) return &n;
  return nullptr;
}

std::int64_t label_at(const Tensor& labels, std::int64_t i) {
  switch (labels.dtype()) {
    case DType::i32:
      return labels.as<std::int32_t>()[i];
    case DType::i64:
      return labels.as<std::int64_t>()[i];
    case DType::u8:
      return labels.as<std::uint8_t>()[i];
    default:
      return std::int64_t(labels.as<float>()[i]);
  }
}

}  // namespace

MetricKind metric_for(const Plan& plan, int loss_slot) {
  const PlannedNode* n = producer(plan, loss_slot);
  if (!n) return MetricKind::none;
  // What the loss's schema declares (Role::loss with a Metric), whatever
  // the op is called.
  const OpSchema& schema = plan.graph().nodes[std::size_t(n->node)].entry->schema;
  if (schema.role != Role::loss || n->inputs.size() < 2) return MetricKind::none;
  return schema.metric;
}

std::string metric_label(MetricKind kind) { return kind == Metric::none ? "" : metric_name(kind); }

double accuracy(const Tensor& logits, const Tensor& labels) {
  const std::int64_t rows = logits.shape()[0], classes = logits.numel() / std::max<std::int64_t>(1, rows);
  std::int64_t right = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = logits.as<float>() + r * classes;
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    right += best == label_at(labels, r);
  }
  return rows ? double(right) / double(rows) : NAN;
}

double r_squared(const Tensor& prediction, const Tensor& target) {
  const std::int64_t n = target.numel();
  double mean = 0;
  for (std::int64_t i = 0; i < n; ++i) mean += target.as<float>()[i];
  mean /= double(n);
  double res = 0, tot = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = target.as<float>()[i], p = prediction.as<float>()[i];
    res += (p - t) * (p - t);
    tot += (t - mean) * (t - mean);
  }
  return tot > 0 ? 1.0 - res / tot : NAN;
}

EvaluationSums evaluation_sums(const Executor& exec, const Plan& plan, int loss_slot, MetricKind kind,
                               std::int64_t rows) {
  EvaluationSums s;
  s.rows = double(rows);
  const Tensor& loss = exec.value(loss_slot);
  for (std::int64_t i = 0; i < loss.numel(); ++i) s.loss += loss.as<float>()[i];
  s.loss *= s.rows;
  const PlannedNode* n = producer(plan, loss_slot);
  if (kind == MetricKind::accuracy)
    s.right = std::round(accuracy(exec.value(n->inputs[0]), exec.value(n->inputs[1])) * s.rows);
  if (kind == MetricKind::r2) {
    const Tensor& p = exec.value(n->inputs[0]);
    const Tensor& t = exec.value(n->inputs[1]);
    s.values = double(t.numel());
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      const double tv = t.as<float>()[i], pv = p.as<float>()[i];
      s.target += tv;
      s.target_sq += tv * tv;
      s.residual += (pv - tv) * (pv - tv);
    }
  }
  return s;
}

Evaluation evaluation_from(const EvaluationSums& s, MetricKind kind) {
  Evaluation e;
  e.loss = s.rows > 0 ? s.loss / s.rows : NAN;
  if (kind == MetricKind::accuracy) e.metric = s.rows > 0 ? s.right / s.rows : NAN;
  if (kind == MetricKind::r2) {
    const double total = s.values > 0 ? s.target_sq - s.target * s.target / s.values : 0;
    e.metric = total > 0 ? 1.0 - s.residual / total : NAN;
  }
  return e;
}

Evaluation evaluate(Executor& exec, const Plan& plan, int loss_slot, MetricKind kind,
                    const std::vector<Tensor>& inputs) {
  exec.run(inputs, false);
  Evaluation e;
  const Tensor& loss = exec.value(loss_slot);
  e.loss = 0;
  for (std::int64_t i = 0; i < loss.numel(); ++i) e.loss += loss.as<float>()[i];
  const PlannedNode* n = producer(plan, loss_slot);
  if (kind == MetricKind::accuracy) e.metric = accuracy(exec.value(n->inputs[0]), exec.value(n->inputs[1]));
  if (kind == MetricKind::r2) e.metric = r_squared(exec.value(n->inputs[0]), exec.value(n->inputs[1]));
  return e;
}

}  // namespace keel
