// One model behind `keel serve`: a validated inference graph with its
// parameters loaded once, its plan, guards and executor. Requests are
// checked here before they are queued (the same checks and messages as
// `keel run`); runs happen on the model's one worker thread (serve/batcher).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "executor/executor.hpp"
#include "graph/validate.hpp"
#include "optimize/inference_passes.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "runtime/tensor.hpp"
#include "training/guards.hpp"

namespace keel::serve {

// What one run produced: the graph's outputs in declaration order and the
// guards that fired.
struct RunOutcome {
  std::vector<Tensor> outputs;
  std::vector<GuardEvent> events;
};

class ServedModel {
 public:
  // `graph` is an inference graph (no train: section). Its parameters are
  // loaded by the caller into plan() (load_checkpoint), then optimize() is
  // called, before serving. The registry must outlive the model.
  ServedModel(std::string name, std::unique_ptr<ValidatedGraph> graph, const Registry& registry);

  const std::string& name() const { return name_; }
  const ValidatedGraph& graph() const { return *graph_; }
  Plan& plan() { return plan_; }
  const Plan& plan() const { return plan_; }

  // keel::Error (usage) with the message `keel run` would print when
  // `inputs` (one per graph input, in declaration order) do not fit the
  // graph, or when a floating-point value is NaN or infinite.
  void check(const std::vector<Tensor>& inputs) const;

  // Whether requests may share a run: every input and output has the same
  // named dimension first (rows), so each row's result depends on that row
  // alone (inference-mode ops) and a batch splits back into requests.
  bool batchable() const { return batchable_; }

  // Each output's dtype and shape as the graph declares them ("f32 [batch,
  // 10]"), for GET /v1/models.
  const std::vector<std::string>& output_types() const { return output_types_; }

  // Runs from now on use the graph as `keel run` optimizes inference
  // (optimize/inference_passes.hpp), so both answer alike.
  void optimize(const Registry& registry);

  // One forward run on the model's worker thread.
  RunOutcome run(const std::vector<Tensor>& inputs);

 private:
  std::string name_;
  std::unique_ptr<ValidatedGraph> graph_;
  Plan plan_;
  std::unique_ptr<OptimizedPlan> optimized_;  // what runs, when optimize() changed something
  std::unique_ptr<Guards> guards_;
  std::unique_ptr<Executor> exec_;
  bool batchable_ = false;
  std::vector<std::string> output_types_;
};

}  // namespace keel::serve
