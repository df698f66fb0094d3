#include "training/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/error.hpp"
#include "training/training_data.hpp"

namespace keel {

namespace {

const PlannedNode* find_node(const Plan& plan, const std::string& node) {
  const auto& g = plan.graph();
  for (const auto& n : plan.nodes())
    if (g.def.nodes[std::size_t(n.node)].name == node) return &n;
  return nullptr;
}

// Per-feature statistics of the rows of `x` (f32 [rows, features], or
// [rows]: one feature), written into the node's parameters whose schema
// declares one (ParamSpec::statistic): mean, std (population, as feature
// scaling uses; a constant feature's 0 is stored as 1, so dividing by it is
// safe), min, max. The op's name and its parameter names play no part.
void fill_statistics(Plan& plan, const PlannedNode& n, const Tensor& x, const std::string& what) {
  const auto& g = plan.graph();
  const auto& nd = g.def.nodes[std::size_t(n.node)];
  const std::string& node = nd.name;
  std::vector<std::pair<Statistic, Parameter*>> targets;
  for (int p : n.params) {
    auto& param = plan.params()[std::size_t(p)];
    if (param.spec.statistic != Statistic::none) targets.emplace_back(param.spec.statistic, &param);
  }
  if (targets.empty() || x.dtype() != DType::f32 || x.shape().empty() || x.shape().size() > 2)
    throw usage_error("calibrate: node '" + node +
                          "' must have parameters that declare a statistic (mean, std, min, max) and an "
                          "f32 [batch, features] " +
                          what,
                      g.loc(nd.loc));
  const auto rows_n = x.shape()[0], cols = x.shape().size() == 2 ? x.shape()[1] : 1;
  for (const auto& [stat, p] : targets)
    if (p->value.numel() != cols)
      throw usage_error("calibrate: parameter '" + p->name + "' has " + std::to_string(p->value.numel()) +
                            " values for " + std::to_string(cols) +
                            " features (the op sized it for a use that keeps no per-feature statistics, as a "
                            "guard check that needs none does)",
                        g.loc(nd.loc));
  const float* v = x.as<float>();
  for (std::int64_t c = 0; c < cols; ++c) {
    double s = 0, ss = 0;
    for (std::int64_t r = 0; r < rows_n; ++r) s += v[r * cols + c];
    const double m = s / double(rows_n);
    for (std::int64_t r = 0; r < rows_n; ++r) {
      const double d = v[r * cols + c] - m;
      ss += d * d;
    }
    const double sd = std::sqrt(ss / double(rows_n));
    float lo = INFINITY, hi = -INFINITY;
    for (std::int64_t r = 0; r < rows_n; ++r) {
      lo = std::min(lo, v[r * cols + c]);
      hi = std::max(hi, v[r * cols + c]);
    }
    for (const auto& [stat, p] : targets) {
      float& out = p->value.as<float>()[c];
      switch (stat) {
        case Statistic::mean:
          out = float(m);
          break;
        case Statistic::std:
          out = float(sd > 0 ? sd : 1.0);
          break;
        case Statistic::min:
          out = lo;
          break;
        case Statistic::max:
          out = hi;
          break;
        case Statistic::none:
          break;
      }
    }
  }
}

}  // namespace

bool calibrated_after_training(const Plan& plan, const std::string& node, const TrainDef& def) {
  const PlannedNode* n = find_node(plan, node);
  if (!n) throw usage_error("calibrate: no node named '" + node + "'", plan.graph().loc(def.loc));
  return n->inputs.empty() || n->inputs[0] >= int(plan.graph().def.inputs.size());
}

void calibrate(Plan& plan, const Dataset& data, const std::vector<std::size_t>& rows, const std::string& node,
               const TrainDef& def) {
  const auto& g = plan.graph();
  const PlannedNode* n = find_node(plan, node);
  if (!n) throw usage_error("calibrate: no node named '" + node + "'", g.loc(def.loc));
  const int in_slot = n->inputs.at(0);
  if (in_slot >= int(g.def.inputs.size()))
    throw usage_error("calibrate: node '" + node + "' must read a graph input directly",
                      g.loc(g.def.nodes[std::size_t(n->node)].loc));
  fill_statistics(plan, *n, batch_inputs(g, data, rows, def.loc)[std::size_t(in_slot)], "graph input");
}

void calibrate_trained(Plan& plan, Executor& exec, const std::vector<Tensor>& inputs,
                       const std::vector<std::string>& nodes, const TrainDef& def) {
  if (nodes.empty()) return;
  std::vector<const PlannedNode*> found;
  for (const auto& node : nodes) {
    const PlannedNode* n = find_node(plan, node);
    if (!n) throw usage_error("calibrate: no node named '" + node + "'", plan.graph().loc(def.loc));
    found.push_back(n);
  }
  exec.run(inputs, false);
  for (const PlannedNode* n : found) fill_statistics(plan, *n, exec.value(n->inputs.at(0)), "value");
}

}  // namespace keel
