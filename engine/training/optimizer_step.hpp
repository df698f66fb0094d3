// One optimizer op per trained parameter (an op declaring Role::optimizer,
// driven by the contract of keel/optimizer.hpp: inputs param, grad, hyper =
// [lr, gradient scale]; output updated, written over the parameter in place;
// state in the op's own parameters), plus global gradient-norm clipping
// across all of them.
#pragma once

#include <vector>

#include "executor/executor.hpp"
#include "graph/train_def.hpp"
#include "graph/validate.hpp"
#include "keel/optimizer.hpp"
#include "planner/autodiff.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "training/checkpoint.hpp"

namespace keel {

class OptimizerSteps {
 public:
  OptimizerSteps(Plan& plan, const Registry& registry, const OptimizerDef& def,
                 const GradientPlan& gradients);

  // The optimizer op named by `def` and its typed attributes; keel::Error
  // (usage) for an unknown optimizer or attribute. Needs no data.
  static std::pair<const OpEntry*, Attrs> resolve(const Registry& registry, const OptimizerDef& def,
                                                  const ValidatedGraph& graph);

  // Optimizer state tensors, named optim.<parameter>.<state>, for checkpoints.
  std::vector<OptimizerState>& state() { return state_refs_; }

  // One L2 norm over every trained parameter's gradient (NaN when one is
  // not finite): what clip_grad_norm limits, and what steps.csv records.
  // One pass over the gradients, which the update reads anyway.
  double grad_norm(Executor& exec) const;

  // Updates every trained parameter from the executor's gradients.
  // `updates` is how many updates were applied before this one; `norm` is
  // grad_norm(exec) of these gradients, for clip_grad_norm.
  void apply(Executor& exec, double lr, std::uint64_t updates, double norm);

 private:
  struct Slot {
    int param = 0;
    OpInstance op;
    std::vector<Tensor> state;
  };
  Plan& plan_;
  const OptimizerDef& def_;
  const OpEntry* entry_ = nullptr;
  std::vector<Slot> slots_;
  std::vector<OptimizerState> state_refs_;
  Tensor hyper_{DType::f32, {Dim(optimizer::kHyperSize)}};
};

}  // namespace keel
