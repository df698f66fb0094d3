// The objectives of one training step. A train: section with `loss:` and
// `optimizer:` has one; with `phases:` (a GAN's discriminator, then its
// generator) each phase names its loss, the parameters it updates and its
// optimizer, and they run in order on each batch. Here the phases are
// resolved against the plan: loss slots, and which parameters each may
// train. No data is needed, so `keel validate` runs this too.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "graph/train_def.hpp"
#include "planner/autodiff.hpp"
#include "planner/plan.hpp"

namespace keel {

struct PhaseSpec {
  std::string name;  // empty for the single objective of `loss:`
  const ValueRef* loss = nullptr;
  int loss_slot = -1;
  // Names (nodes and parameters) the phase does not train: train.freeze,
  // and with phases every trainable parameter its `params:` did not select.
  std::set<std::string> frozen;
  const OptimizerDef* optimizer = nullptr;
  std::int64_t repeat = 1;
};

// Throws keel::Error (usage, with the line:column of the name at fault) for
// a loss that is not a node output, a params entry that selects nothing, a
// parameter selected by two phases, or a phase whose loss reaches none of
// its parameters.
std::vector<PhaseSpec> resolve_phases(const Plan& plan, const TrainDef& def);

// The plan's value slot of `ref`, a node output; keel::Error (usage) at
// `what` (train.loss) when it names none.
int output_slot(const Plan& plan, const ValueRef& ref, const std::string& what);

// The phase's backward pass (planner/autodiff.hpp); its errors name the phase.
GradientPlan phase_gradients(const Plan& plan, const PhaseSpec& phase);

// "phase 'generator': " or "" for a single objective, to prefix messages.
std::string phase_prefix(const PhaseSpec& phase);

}  // namespace keel
