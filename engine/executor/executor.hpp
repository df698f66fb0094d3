// Runs a bound plan: allocates the value buffers (kept from one run to the
// next when shapes do not change, so steady-state runs allocate nothing),
// and calls each op's forward through a Scheduler. Every failure inside an
// op, returned or thrown, becomes a keel::Error (exit code 1) naming the
// node, op and plugin.
#pragma once

#include <memory>
#include <vector>

#include "executor/scheduler.hpp"
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

 private:
  void allocate();
  void run_node(int index, bool training);

  Plan& plan_;
  std::unique_ptr<Scheduler> scheduler_;
  TaskGraph tasks_;  // task i = plan.nodes()[i]
  std::vector<Tensor> values_;
  std::uint64_t step_ = 0;
};

}  // namespace keel
