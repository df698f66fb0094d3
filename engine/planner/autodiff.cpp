#include "planner/autodiff.hpp"

#include "base/error.hpp"
#include "base/suggest.hpp"

namespace keel {

GradientPlan plan_gradients(const Plan& plan, int loss_slot, const std::set<std::string>& frozen) {
  const auto& nodes = plan.nodes();
  const auto& graph = plan.graph();
  GradientPlan g;
  g.loss_slot = loss_slot;

  // Which parameters train: trainable in the schema, and neither they nor
  // their node are frozen.
  std::set<std::string> unused_frozen = frozen;
  std::vector<bool> trains(plan.params().size(), false);
  for (const auto& n : nodes) {
    const std::string& node_name = graph.def.nodes[std::size_t(n.node)].name;
    const bool node_frozen = frozen.count(node_name) != 0;
    if (node_frozen) unused_frozen.erase(node_name);
    for (int p : n.params) {
      const Parameter& param = plan.params()[std::size_t(p)];
      const bool param_frozen = frozen.count(param.name) != 0;
      if (param_frozen) unused_frozen.erase(param.name);
      trains[std::size_t(p)] = param.spec.trainable && !node_frozen && !param_frozen;
    }
  }
  if (!unused_frozen.empty()) {
    std::vector<std::string> names;
    for (const auto& p : plan.params()) names.push_back(p.name);
    for (const auto& n : graph.def.nodes) names.push_back(n.name);
    const std::string& bad = *unused_frozen.begin();
    throw usage_error("freeze: '" + bad + "' is neither a node nor a parameter" + did_you_mean(bad, names),
                      {graph.def.file, 0, 0});
  }

  // Forward sweep: which values depend on a trained parameter.
  std::vector<bool> depends(plan.values().size(), false);
  for (const auto& n : nodes) {
    const auto& schema = graph.nodes[std::size_t(n.node)].entry->schema;
    bool d = false;
    for (int p : n.params) d = d || trains[std::size_t(p)];
    for (std::size_t k = 0; k < n.inputs.size(); ++k)
      d = d || (schema.inputs[k].differentiable && depends[std::size_t(n.inputs[k])]);
    for (int s : n.outputs) depends[std::size_t(s)] = d;
  }

  // Backward sweep from the loss: which values the loss needs gradients of.
  g.value_grads.assign(plan.values().size(), false);
  g.value_grads[std::size_t(loss_slot)] = depends[std::size_t(loss_slot)];
  if (!g.value_grads[std::size_t(loss_slot)])
    throw usage_error("the loss does not depend on any trainable parameter", {graph.def.file, 0, 0});
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const auto& n = *it;
    bool needed = false;
    for (int s : n.outputs) needed = needed || g.value_grads[std::size_t(s)];
    if (!needed) continue;
    const auto& vnode = graph.nodes[std::size_t(n.node)];
    const auto& schema = vnode.entry->schema;
    if (!schema.has_backward)
      throw usage_error("the loss depends on trainable parameters through this node, but op '" + schema.name +
                            "' has no backward",
                        graph.loc(graph.def.nodes[std::size_t(n.node)].loc), graph.subject(n.node));
    BackwardStep step{int(it - nodes.rbegin()), {}, {}};
    step.node = int(nodes.size()) - 1 - step.node;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      const bool want = schema.inputs[k].differentiable && depends[std::size_t(n.inputs[k])];
      step.input_grads.push_back(want);
      if (want) g.value_grads[std::size_t(n.inputs[k])] = true;
    }
    for (int p : n.params) {
      step.param_grads.push_back(trains[std::size_t(p)]);
      if (trains[std::size_t(p)]) g.trained_params.push_back(p);
    }
    g.steps.push_back(std::move(step));
  }
  return g;
}

}  // namespace keel
