// The backward pass, derived from the forward plan: which nodes run
// backward (only those between a trainable parameter and the loss), which
// input and parameter gradients each must produce, in reverse topological
// order so every gradient is final before it is used.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "planner/plan.hpp"

namespace keel {

struct BackwardStep {
  int node = 0;                   // index into Plan::nodes()
  std::vector<bool> input_grads;  // per input port: compute its gradient
  std::vector<bool> param_grads;  // per parameter of the node: compute it
};

struct GradientPlan {
  int loss_slot = -1;
  std::vector<BackwardStep> steps;  // reverse topological order
  std::vector<bool> value_grads;    // per value slot: a gradient flows into it
  std::vector<int> trained_params;  // parameter slots the optimizer updates
};

// `frozen` holds parameter names (fc1.weight) or node names (fc1: all its
// parameters). Throws keel::Error (usage) when a node on the path has no
// backward, when nothing is trainable, or when a frozen name matches nothing.
GradientPlan plan_gradients(const Plan& plan, int loss_slot, const std::set<std::string>& frozen);

}  // namespace keel
