// What a training run reports besides the loss: what the loss op's schema
// declares (Role::loss and Metric, keel/schema.hpp): accuracy (argmax of
// input 0's logits against input 1's labels) or R^2 (of input 0 against
// input 1), or nothing.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "executor/executor.hpp"
#include "planner/plan.hpp"

namespace keel {

// What the loss's schema declares (keel::Metric), by another name here.
using MetricKind = Metric;

MetricKind metric_for(const Plan& plan, int loss_slot);
// The metric's name in run files and metrics lines: "accuracy", "r2", or ""
// when there is none.
std::string metric_label(MetricKind kind);

struct Evaluation {
  double loss = NAN;
  double metric = NAN;
};

// Runs the graph in inference mode on `inputs` and measures.
Evaluation evaluate(Executor& exec, const Plan& plan, int loss_slot, MetricKind kind,
                    const std::vector<Tensor>& inputs);

// What an evaluation is made of, as sums over rows, so that the
// evaluations of parts of the rows (data-parallel ranks) add up to the
// evaluation of all of them. The loss op's value is taken to be a mean over
// the rows, as every bundled loss is.
struct EvaluationSums {
  double rows = 0, loss = 0;                                   // loss: mean loss * rows
  double right = 0;                                            // accuracy: rows whose argmax is the label
  double values = 0, target = 0, target_sq = 0, residual = 0;  // R^2: count and sums of t, t^2, (p - t)^2
};
// After exec.run(inputs of `rows` rows): the sums of that run.
EvaluationSums evaluation_sums(const Executor& exec, const Plan& plan, int loss_slot, MetricKind kind,
                               std::int64_t rows);
Evaluation evaluation_from(const EvaluationSums& sums, MetricKind kind);

// The metrics on their own, for tests and tools.
double accuracy(const Tensor& logits, const Tensor& labels);
double r_squared(const Tensor& prediction, const Tensor& target);

}  // namespace keel
