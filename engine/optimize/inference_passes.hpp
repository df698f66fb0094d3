// Plan-time optimization of inference runs (docs/graph-format.md,
// "Inference optimizations"; keel run --no-optimize turns it off). Three
// rewrites of the graph, in this order:
//
// - A batchnorm whose input is a linear (2-D output) or conv2d layer used by
//   nothing else is folded into that layer: in inference, batchnorm is the
//   per-channel affine map y = s * (x - mean) + beta with s = gamma /
//   sqrt(var + epsilon), so the layer's weight rows (filters) are scaled by
//   s and its bias becomes s * (bias - mean) + beta.
// - An add of a conv2d (used by nothing else, no activation) and a tensor of
//   the sum's shape becomes conv2d_add, the sum a oneDNN post-op.
// - A relu whose input is a linear, conv2d or conv2d_add layer used by
//   nothing else becomes the layer's `activation: relu`, a oneDNN post-op
//   in the same pass.
//
// The removed node's readers read the layer (a layer without a bias gets
// one for the fold's shift). A removed node that would be a graph output and
// layers read by other nodes are left as they are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/validate.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"

namespace keel {

struct OptimizedPlan {
  std::unique_ptr<ValidatedGraph> graph;  // the plan refers to it
  std::unique_ptr<Plan> plan;             // parameters set, shapes inferred
  std::vector<std::string> changes;       // "folded bn1 into fc1", "fused act1 into fc1"
};

// `plan` has its parameters loaded. Returns null when nothing changes (the
// caller keeps its plan). The graph must have no train: section.
std::unique_ptr<OptimizedPlan> optimize_for_inference(const ValidatedGraph& graph, const Plan& plan,
                                                      const Registry& registry);

}  // namespace keel
