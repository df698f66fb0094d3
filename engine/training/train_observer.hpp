// What a training run tells the world, and who listens. The Trainer
// (training/trainer.hpp) drives batches, guards, rollback and checkpoints;
// everything a person or a tool sees of the run (the console's progress and
// epoch lines, metrics.jsonl, run.json and steps.csv, profiler spans) is an
// observer of these events, in the manner of Taskflow's ObserverInterface,
// so each can be left out (a test records them instead) and none of them
// changes how the run trains.
//
// Observers are called in the order they were added, on the training
// thread. An observer may throw keel::Error (a file it cannot write); the
// run then ends with that error.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "training/guards.hpp"
#include "training/metrics.hpp"

namespace keel {

class Executor;

// Known before the first step.
struct RunInfo {
  std::uint64_t first_step = 0;  // > 0 on --resume
  std::int64_t total_steps = 0;
  std::int64_t batches_per_epoch = 0;
  MetricKind metric = MetricKind::none;
  bool holdout = false;                 // the run evaluates a hold-out split
  std::filesystem::path checkpoint;     // empty: none configured
  const GuardReport* guards = nullptr;  // null: the graph has no guards
};

// One phase of a step with several objectives (train.phases).
struct PhaseStep {
  std::string name;
  double loss = 0;       // the phase's batch loss (its last repeat), training mode
  double lr = 0;         // its schedule times any rollback factor
  double grad_norm = 0;  // of the parameters it trains, before clipping
  GuardAction action = GuardAction::report;
};

// The losses of one phase over an epoch.
struct PhaseEpoch {
  std::string name;
  double train_loss = 0;      // mean over the epoch's applied updates
  double holdout_loss = NAN;  // inference mode; NaN without a hold-out split
};

// One training step, after its forward and backward passes and its guards,
// before the engine acts on them (the update, a skip, a rollback or an
// abort, as `action` says). With several phases, after the last phase that
// ran; loss, lr and grad_norm are the first phase's and `phases` has each.
struct StepInfo {
  std::uint64_t step = 0;                           // counted from 0, as anomalies.jsonl counts
  std::int64_t epoch = 0;                           // counted from 0
  double loss = 0;                                  // the batch loss, training mode
  double lr = 0;                                    // schedule times any rollback factor
  double grad_norm = 0;                             // before clipping; NaN when a gradient was not finite
  const std::vector<GuardEvent>* events = nullptr;  // the guards that fired
  GuardAction action = GuardAction::report;         // the most severe among them
  std::uint64_t steps_this_run = 0;                 // including this one
  bool last = false;                                // the run's last step
  const std::vector<PhaseStep>* phases = nullptr;   // null: a single objective
};

// After an epoch's evaluation (not reached when a stop was requested).
struct EpochInfo {
  std::int64_t epoch = 0;          // counted from 0
  std::uint64_t step = 0;          // steps done
  double train_loss = 0;           // mean training-mode loss of the epoch's applied steps
  Evaluation holdout;              // NaN without a hold-out split
  double train_metric = 0;         // inference mode on the whole train split; NaN without a metric
  bool last = false;               // no step follows
  std::vector<PhaseEpoch> phases;  // empty: a single objective
};

enum class RunStatus { completed, stopped, aborted };

struct RunEnd {
  RunStatus status = RunStatus::completed;
  std::uint64_t step = 0;  // the position reached
  std::uint64_t steps_this_run = 0;
  double seconds = 0;
  int signal = 0;  // stopped by this signal (0: a stop requested in-process)
  const Executor* executor = nullptr;
};

// Stretches of work, for profiler spans. Nested: a step contains its guards,
// update and checkpoint.
enum class Phase { step, guards, update, checkpoint, evaluate, write_metrics, write_outputs };

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_run_begin(const RunInfo&) {}
  virtual void on_step(const StepInfo&) {}
  virtual void on_epoch(const EpochInfo&) {}
  virtual void on_run_end(const RunEnd&) {}
  // `step` is the training step the phase belongs to, -1 for none. Must
  // not throw: on_phase_end also runs while an error unwinds.
  virtual void on_phase_begin(Phase, std::int64_t /*step*/) noexcept {}
  virtual void on_phase_end(Phase) noexcept {}
};

// The observers of one run, called in order.
class Observers {
 public:
  void add(TrainObserver& o) { list_.push_back(&o); }
  void run_begin(const RunInfo& e) const {
    for (TrainObserver* o : list_) o->on_run_begin(e);
  }
  void step(const StepInfo& e) const {
    for (TrainObserver* o : list_) o->on_step(e);
  }
  void epoch(const EpochInfo& e) const {
    for (TrainObserver* o : list_) o->on_epoch(e);
  }
  void run_end(const RunEnd& e) const {
    for (TrainObserver* o : list_) o->on_run_end(e);
  }

  // A phase for as long as the scope lives, ended even when it throws.
  class Scope {
   public:
    Scope(const Observers& obs, Phase phase, std::int64_t step = -1) : obs_(obs), phase_(phase) {
      for (TrainObserver* o : obs_.list_) o->on_phase_begin(phase_, step);
    }
    ~Scope() {
      for (auto it = obs_.list_.rbegin(); it != obs_.list_.rend(); ++it) (*it)->on_phase_end(phase_);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const Observers& obs_;
    Phase phase_;
  };

 private:
  std::vector<TrainObserver*> list_;
};

}  // namespace keel
