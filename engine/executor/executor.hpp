// Runs a bound plan through a Scheduler: calls each op's forward (and, when
// training, backward) as tasks of a dependency graph, so independent nodes
// may run at once. Every failure inside an op, returned or thrown, becomes a
// keel::Error (exit code 1) naming the node, op and plugin; the first one
// stops the step.
//
// Memory: the values and gradients of a step live in one arena per shape
// binding, laid out by planner/memory_plan from their lifetimes, so buffers
// whose lives do not overlap share memory. The arenas of a few recent
// bindings are kept, so steady-state steps allocate nothing (freshly mapped
// memory is slow to touch).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "executor/profiler.hpp"
#include "executor/scheduler.hpp"
#include "planner/autodiff.hpp"
#include "planner/memory_plan.hpp"
#include "planner/plan.hpp"
#include "runtime/tensor.hpp"

namespace keel {

// What `keel run --stats` prints: the memory of the largest step layout and
// the time spent in each node.
struct ExecutorStats {
  std::size_t peak_bytes = 0;            // the arena: values and gradients alive at once
  std::size_t naive_bytes = 0;           // every value and gradient in its own buffer
  std::vector<double> forward_seconds;   // per plan node, summed over runs
  std::vector<double> backward_seconds;  // per plan node
  std::vector<std::uint64_t> forward_calls, backward_calls;
};

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

  // A value after a run. Only graph inputs and outputs, values nothing reads
  // (such as a loss), guard outputs and slots passed to keep() stay valid
  // after the run:
  // the memory of the others is reused within the step.
  const Tensor& value(int slot) const { return values_[std::size_t(slot)]; }
  void keep(int slot);
  Tensor& param_grad(int param) { return param_grads_[std::size_t(param)]; }
  // Training steps run so far; ops see it as ForwardContext::step, so
  // stochastic ops (dropout) differ from step to step. Forward-only runs
  // (evaluation) do not advance it, so evaluating never changes training.
  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t step) { step_ = step; }

  // Data-parallel training (training/data_parallel.hpp). The backward pass
  // starts from d loss / d loss = `scale` instead of 1: a rank's share of
  // the global batch, so that the ranks' gradients add up to the global
  // batch's. `hook(j)` is called after backward step j, when the parameter
  // gradients it wrote are final, on the thread that ran it.
  void set_loss_scale(float scale) { loss_scale_ = scale; }
  void set_backward_hook(std::function<void(int step)> hook) { backward_hook_ = std::move(hook); }
  // `hook(i)` is called after node i's forward (null: none), before any
  // node that reads its outputs: the loss made global before guards read it.
  void set_forward_hook(std::function<void(int node)> hook) { forward_hook_ = std::move(hook); }
  // A value to overwrite after a run: a rank's loss replaced by the global one.
  Tensor& mutable_value(int slot) { return values_[std::size_t(slot)]; }

  // Spans per node for --profile (null: none); must outlive the executor.
  void set_profiler(Profiler* profiler);
  // Per-node times for --stats (a clock read before and after each op).
  void time_nodes(bool on) { time_nodes_ = on; }
  const ExecutorStats& stats() const { return stats_; }

 private:
  // Everything that depends on the shape binding and on whether a backward
  // pass follows: the arena, tensors into it and the task graphs, whose
  // edges include the orderings that memory reuse needs.
  struct Layout {
    std::vector<TensorSpec> specs;
    const GradientPlan* gradients = nullptr;
    Tensor arena;
    std::vector<Tensor> values, grads;
    std::vector<std::vector<Tensor>> scratch;  // per backward step, per input port
    TaskGraph forward, backward;
    std::size_t peak = 0, naive = 0;
  };
  // Per backward step, fixed once per gradient plan: which input gradients
  // are written in place (the first contribution to a value, in step order)
  // and which output gradients start at zero (nothing downstream added to
  // them). Later contributions go to scratch and are added after the call,
  // in step order, so sums never depend on the schedule.
  struct BackwardRoute {
    std::vector<bool> direct;       // per input port
    std::vector<bool> zero_output;  // per output
  };

  void use_layout(const GradientPlan* gradients);
  Layout make_layout(const GradientPlan* gradients) const;
  void route(const GradientPlan& g);
  void forward(const std::vector<Tensor>& inputs, bool training, const GradientPlan* gradients);
  void run_node(int index, bool training);
  void backward(const GradientPlan& gradients);
  void run_backward_step(const GradientPlan& g, int step);

  Plan& plan_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::vector<int>> consumers_;  // per value slot: nodes reading it, ascending
  std::vector<int> producer_;                // per value slot: its node, or -1 for inputs
  std::vector<bool> kept_;                   // per value slot
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;        // per value slot, for slots that get a gradient
  std::vector<Tensor> param_grads_;  // per parameter slot
  std::vector<std::vector<Tensor>>* scratch_ = nullptr;
  const GradientPlan* routed_ = nullptr;
  std::vector<BackwardRoute> routes_;  // per step of routed_
  std::vector<Layout> layouts_;
  int active_ = -1;  // its tensors live in values_ and grads_
  static constexpr std::size_t kMaxLayouts = 4;
  std::uint64_t step_ = 0;
  float loss_scale_ = 1.0f;
  std::function<void(int)> backward_hook_;
  std::function<void(int)> forward_hook_;

  Profiler* profiler_ = nullptr;
  std::vector<int> node_names_;  // per plan node: its profiler name id
  bool time_nodes_ = false;
  ExecutorStats stats_;
};

}  // namespace keel
