// Runs a bound plan: allocates the value buffers (kept from one run to the
// next when shapes do not change, so steady-state runs allocate nothing),
// and calls each op's forward through a Scheduler. Every failure inside an
// op, returned or thrown, becomes a keel::Error (exit code 1) naming the
// node, op and plugin.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "executor/scheduler.hpp"
#include "planner/autodiff.hpp"
#include "planner/plan.hpp"
#include "runtime/tensor.hpp"

namespace keel {

class Executor {
 public:
  explicit Executor(Plan& plan, std::unique_ptr<Scheduler> scheduler = nullptr);

  // Binds `inputs` (one per graph input), runs forward and returns the graph
  // outputs in declaration order. The returned tensors share buffers with
  // the executor: they stay valid until the next run().
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, bool training = false);

  // Training: forward in training mode, then the backward pass `gradients`
  // describes (which must outlive the executor), seeded with d loss / d loss
  // = 1. Afterwards param_grad(p) holds the gradient of every trained
  // parameter. Returns the loss (summed if the loss tensor is not a scalar).
  double train_step(const std::vector<Tensor>& inputs, const GradientPlan& gradients);

  const Tensor& value(int slot) const { return values_[std::size_t(slot)]; }
  Tensor& param_grad(int param) { return param_grads_[std::size_t(param)]; }
  // Training steps run so far; ops see it as ForwardContext::step, so
  // stochastic ops (dropout) differ from step to step. Forward-only runs
  // (evaluation) do not advance it, so evaluating never changes training.
  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t step) { step_ = step; }

 private:
  void allocate();
  void run_node(int index, bool training);
  void backward(const GradientPlan& gradients);
  void run_backward_step(const BackwardStep& step, std::vector<bool>& grad_ready);

  Plan& plan_;
  std::unique_ptr<Scheduler> scheduler_;
  TaskGraph tasks_;  // task i = plan.nodes()[i]
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;                      // per value slot, for slots that get a gradient
  std::vector<Tensor> param_grads_;                // per parameter slot
  std::map<std::pair<int, int>, Tensor> scratch_;  // per (node, input port): a later contribution
  // Value and gradient buffers of recent shape bindings: alternating between
  // a few (training batches, the last partial batch, evaluation) allocates
  // nothing, which matters because freshly mapped memory is slow to touch.
  struct Buffers {
    std::vector<TensorSpec> specs;
    std::vector<Tensor> values;
    std::vector<Tensor> grads;
  };
  std::vector<Buffers> pools_;
  int active_pool_ = -1;  // its buffers live in values_ and grads_
  static constexpr std::size_t kMaxPools = 4;
  std::uint64_t step_ = 0;
};

}  // namespace keel
