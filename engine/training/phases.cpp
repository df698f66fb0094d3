#include "training/phases.hpp"

#include <fnmatch.h>

#include <map>

#include "base/error.hpp"
#include "base/suggest.hpp"

namespace keel {

namespace {

bool matches(const std::string& pattern, const std::string& name) {
  // A name is matched exactly, so a parameter name's dot is not a wildcard
  // question; a pattern uses shell globbing (fnmatch without FNM_PATHNAME).
  return pattern == name || ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// The trainable parameters `pattern` selects: all of a matching node's, and
// each matching parameter.
std::set<std::string> select(const Plan& plan, const std::string& pattern) {
  const auto& graph = plan.graph();
  std::set<std::string> out;
  for (const auto& n : plan.nodes()) {
    const bool node_matches = matches(pattern, graph.def.nodes[std::size_t(n.node)].name);
    for (int p : n.params) {
      const Parameter& param = plan.params()[std::size_t(p)];
      if (param.spec.trainable && (node_matches || matches(pattern, param.name))) out.insert(param.name);
    }
  }
  return out;
}

std::vector<std::string> trainable_names(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan.params())
    if (p.spec.trainable) out.push_back(p.name);
  return out;
}

}  // namespace

int output_slot(const Plan& plan, const ValueRef& ref, const std::string& what) {
  const auto& g = plan.graph();
  for (std::size_t n = 0; n < g.def.nodes.size(); ++n) {
    if (g.def.nodes[n].name != ref.name) continue;
    const auto& outs = g.nodes[n].entry->schema.outputs;
    for (std::size_t o = 0; o < outs.size(); ++o)
      if (ref.port.empty() ? o == 0 : outs[o].name == ref.port) return plan.value_slot({int(n), int(o)});
  }
  throw usage_error(what + ": '" + ref.text() + "' is not a node output", g.loc(ref.loc));
}

std::string phase_prefix(const PhaseSpec& phase) {
  return phase.name.empty() ? std::string() : "phase '" + phase.name + "': ";
}

std::vector<PhaseSpec> resolve_phases(const Plan& plan, const TrainDef& def) {
  const std::set<std::string> freeze(def.freeze.begin(), def.freeze.end());
  if (def.phases.empty()) {
    PhaseSpec one;
    one.loss = &def.loss;
    one.loss_slot = output_slot(plan, def.loss, "train.loss");
    one.frozen = freeze;
    one.optimizer = &def.optimizer;
    return {one};
  }
  const auto& graph = plan.graph();
  std::map<std::string, std::string> owner;  // parameter -> the phase that trains it
  std::vector<PhaseSpec> out;
  for (const PhaseDef& d : def.phases) {
    PhaseSpec p;
    p.name = d.name;
    p.loss = &d.loss;
    p.loss_slot = output_slot(plan, d.loss, "phase '" + d.name + "': loss");
    p.optimizer = &d.optimizer;
    p.repeat = d.repeat;
    std::set<std::string> chosen;
    for (const ParamPattern& pattern : d.params) {
      const std::set<std::string> found = select(plan, pattern.text);
      if (found.empty()) {
        std::vector<std::string> names = trainable_names(plan);
        for (const auto& n : graph.def.nodes) names.push_back(n.name);
        throw usage_error(
            "phase '" + d.name + "': params: '" + pattern.text +
                "' selects no trainable parameter (a node, a parameter such as fc1.weight, or a "
                "pattern such as g_*)" +
                did_you_mean(pattern.text, names),
            graph.loc(pattern.loc));
      }
      for (const std::string& name : found) {
        auto [it, fresh] = owner.emplace(name, d.name);
        if (!fresh && it->second != d.name)
          throw usage_error("phase '" + d.name + "': params: '" + pattern.text + "' selects '" + name +
                                "', which phase '" + it->second +
                                "' already trains (each parameter has one optimizer)",
                            graph.loc(pattern.loc));
        chosen.insert(name);
      }
    }
    p.frozen = freeze;
    for (const std::string& name : trainable_names(plan))
      if (!chosen.count(name)) p.frozen.insert(name);
    out.push_back(std::move(p));
  }
  return out;
}

GradientPlan phase_gradients(const Plan& plan, const PhaseSpec& phase) {
  try {
    return plan_gradients(plan, phase.loss_slot, phase.frozen);
  } catch (const Error& e) {
    if (phase.name.empty()) throw;
    // The planner's reason and place (a node without backward) when it has
    // one; otherwise the phase's loss says where.
    throw Error(e.code(), phase_prefix(phase) + e.message(),
                e.loc().line > 0 ? e.loc() : plan.graph().loc(phase.loss->loc), e.subject());
  }
}

}  // namespace keel
