#include "serve/served_model.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/error.hpp"
#include "executor/scheduler.hpp"

namespace keel::serve {

namespace {

// Whether every input and output starts with the same named dimension.
bool rows_first(const ValidatedGraph& graph, const Plan& plan) {
  if (graph.input_specs.empty()) return false;
  const auto& first = graph.input_specs.front().shape;
  if (first.empty() || is_static(first.front())) return false;
  const Dim rows = first.front();
  for (const TensorSpec& in : graph.input_specs)
    if (in.shape.empty() || in.shape.front() != rows) return false;
  for (int slot : plan.output_slots()) {
    const TensorSpec& out = plan.values()[std::size_t(slot)];
    if (out.shape.empty() || out.shape.front() != rows) return false;
  }
  return true;
}

template <class T>
void check_finite(const Tensor& t, const std::string& name, const SourceLoc& where) {
  const T* v = t.as<T>();
  const std::int64_t n = t.numel();
  const std::int64_t per_row = t.shape().empty() || t.shape()[0] == 0 ? 1 : n / t.shape()[0];
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::isfinite(v[i])) continue;
    throw usage_error("input '" + name + "' holds " + (std::isnan(v[i]) ? "NaN" : "an infinite value") +
                          " in row " + std::to_string(i / std::max<std::int64_t>(per_row, 1)) +
                          "; every value must be finite",
                      where);
  }
}

}  // namespace

ServedModel::ServedModel(std::string name, std::unique_ptr<ValidatedGraph> graph, const Registry& registry)
    : name_(std::move(name)),
      graph_(std::move(graph)),
      plan_(*graph_, registry),
      guards_(std::make_unique<Guards>(plan_, registry, nullptr)),
      exec_(std::make_unique<Executor>(plan_, make_scheduler(1))) {
  plan_.infer_symbolic();
  batchable_ = rows_first(*graph_, plan_);
  for (int slot : plan_.output_slots())
    output_types_.push_back(plan_.describe(plan_.values()[std::size_t(slot)]));
}

void ServedModel::check(const std::vector<Tensor>& inputs) const {
  std::vector<TensorSpec> specs;
  for (const Tensor& t : inputs) specs.push_back(t.spec());
  plan_.check_inputs(specs);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& decl = graph_->def.inputs[i];
    const SourceLoc where = graph_->loc(decl.loc);
    if (inputs[i].dtype() == DType::f32) check_finite<float>(inputs[i], decl.name, where);
    if (inputs[i].dtype() == DType::f64) check_finite<double>(inputs[i], decl.name, where);
  }
}

void ServedModel::optimize(const Registry& registry) {
  optimized_ = optimize_for_inference(*graph_, plan_, registry);
  if (!optimized_) return;
  guards_ = std::make_unique<Guards>(*optimized_->plan, registry, nullptr);
  exec_ = std::make_unique<Executor>(*optimized_->plan, make_scheduler(1));
}

RunOutcome ServedModel::run(const std::vector<Tensor>& inputs) {
  RunOutcome out;
  std::vector<Tensor> results = exec_->run(inputs);
  // The executor's outputs share its buffers until the next run: copied, so
  // each request keeps its rows after the worker moves on.
  for (const Tensor& t : results) out.outputs.push_back(t.clone());
  if (!guards_->empty()) out.events = guards_->check(*exec_, 0, nullptr);
  return out;
}

}  // namespace keel::serve
