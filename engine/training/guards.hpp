// Guards: ops whose schema says `guard` (the anomaly plugin's checks, or a
// third party's). After every run the engine reads each guard's outputs
// (flag, score, limit, mask) and, when one fired, records an event and
// acts on the guard's `action` attribute:
//   report, mask   log the event; the run goes on
//   skip_step      training: the step's optimizer updates are not applied and
//                  what forward changed (batch-norm running statistics) is
//                  restored, so the step leaves no trace
//   rollback       training: restore the last good parameters and optimizer
//                  state, and multiply the learning rate by lr_factor
//   abort          stop with exit code 3; no checkpoint is written after it
// A guard whose check is grad_norm watches gradients: after the backward
// pass the engine runs a second instance of its op on the vector of
// per-parameter gradient L2 norms (trained parameters in plan order) and
// reports the parameters with the largest norms.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "executor/executor.hpp"
#include "planner/autodiff.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "runtime/line_file.hpp"

namespace keel {

// keel::GuardAction (keel/schema.hpp) lists actions in increasing severity:
// when several guards fire, the most severe acts.

struct GuardEvent {
  std::uint64_t step = 0;
  std::string node, op, check, action;
  GuardAction act = GuardAction::report;
  double lr_factor = 1.0;
  double score = 0, threshold = 0;
  std::vector<std::int64_t> rows;                      // flagged rows, when the guard watches rows
  std::vector<std::pair<std::string, double>> params;  // grad_norm: largest per-parameter norms
  int node_index = 0;                                  // into the graph's nodes
};

class Guards {
 public:
  // `gradients` is null outside training: then gradient guards and the
  // skip_step and rollback actions are usage errors. With several training
  // phases, a guard whose input is another phase's loss (a slot in
  // `other_losses`) belongs to that phase and is left out here; so are the
  // guards named in `left_out`.
  Guards(Plan& plan, const Registry& registry, const GradientPlan* gradients,
         const std::vector<int>& other_losses = {}, const std::vector<std::string>& left_out = {});

  bool empty() const { return guards_.empty(); }
  bool uses(GuardAction a) const;

  // After a run (and, in training, its backward pass): the guards that
  // fired. `rows` maps batch rows to data rows (training); null: the input's
  // own row numbers.
  std::vector<GuardEvent> check(Executor& exec, std::uint64_t step, const std::vector<std::size_t>* rows);

 private:
  struct Guard {
    int plan_node = 0;  // index into plan.nodes()
    std::string name, op, check;
    GuardAction action = GuardAction::report;
    double lr_factor = 1.0;
    bool rows = false;  // its input has rows (rank >= 1)
    bool gradient = false;
    std::optional<OpInstance> grad_op;  // gradient guards: the instance fed gradient norms
    std::vector<Tensor> grad_outputs;
  };
  void run_gradient_guard(Guard& g, Executor& exec);

  Plan& plan_;
  const GradientPlan* gradients_;
  std::vector<Guard> guards_;
  Tensor norms_;  // per trained parameter
};

// The most severe action among `events` (report when there are none).
GuardAction most_severe(const std::vector<GuardEvent>& events);

// Every event as one JSON line in `file` (appended to when `append`),
// counted for the end-of-run summary.
class GuardReport {
 public:
  GuardReport(const std::filesystem::path& file, bool append);
  void add(const std::vector<GuardEvent>& events);
  // "guards: N events" and one line per (node, check, action) with its count.
  void print_summary(std::FILE* out) const;
  const std::filesystem::path& file() const { return file_; }
  std::size_t events() const { return total_; }

 private:
  std::filesystem::path file_;
  LineFile out_;
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> counts_;
  std::size_t total_ = 0;
};

// The error that stops a run for an abort guard (exit code 3).
Error guard_abort(const Plan& plan, const GuardEvent& event, const std::string& detail);

}  // namespace keel
