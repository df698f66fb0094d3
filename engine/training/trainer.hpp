// The training loop of a graph with a `train:` section: the Trainer drives
// batches, steps, guards and checkpoints; observers report on it
// (train_observer.hpp).
//
// One step: forward in training mode on a batch, backward from the loss
// (planner/autodiff.hpp), optional global-norm clipping, then one optimizer
// op per trained parameter updating it in place. The position in training
// (step, epoch, next batch) is all the state there is besides parameters and
// optimizer state, because shuffling and dropout draw from the counter-based
// generator; so a checkpoint resumes bit for bit.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "graph/train_def.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "training/train_observer.hpp"

namespace keel {

class Executor;
class Profiler;
namespace dist {
class Group;
}

struct TrainOptions {
  std::filesystem::path output_dir = "out";
  std::filesystem::path resume;  // a checkpoint to continue from; empty: start fresh
  KeySource resume_key;          // opens an encrypted `resume` (default: train.checkpoint.encrypt)
  bool quiet = false;
  bool allow_plaintext = false;                    // a plaintext `resume` although a key is in effect
  bool allow_resume_mismatch = false;              // `resume` with another seed or batch size
  int inter_op = 1;                                // threads running independent nodes at once
  Profiler* profiler = nullptr;                    // --profile: spans per step, node, update, I/O
  bool time_nodes = false;                         // --stats: per-node times
  std::function<void(const Executor&)> on_finish;  // called with the executor after training
  // For DIR/run.json (training/run_record.hpp): the cores used and the
  // --profile trace file, which only the command line knows.
  int threads = 0;
  std::filesystem::path profile;
  // Up to `threads` OpenMP threads per op, the count chosen by the step
  // times (thread_tuner.hpp): when the user gave no --threads.
  bool tune_threads = false;
  // Data-parallel training (docs/distributed.md): this process's group, or
  // null for a single process. Only rank 0 writes into output_dir.
  dist::Group* group = nullptr;
};

// What the ranks of a data-parallel run spent on summing gradients.
struct DistributedStats {
  int ranks = 1;
  std::size_t buckets = 0;
  std::size_t gradient_bytes = 0;  // per step, all phases
  double wait_seconds = 0;         // waiting for sums backward did not hide
  double step_seconds = 0;         // the steps' wall time
};

struct TrainSummary {
  std::uint64_t steps = 0;
  double train_loss = 0;      // mean over the last epoch's batches
  double holdout_loss = 0;    // NaN without a hold-out split
  double holdout_metric = 0;  // accuracy (classification) or R^2 (regression); NaN if neither
  std::string metric_name;    // "accuracy", "r2" or ""
  // SIGINT/SIGTERM/SIGHUP stopped the run at a step boundary (0: it ran to
  // the end): the checkpoint was written, the hold-out outputs were not.
  int stopped_by_signal = 0;
  bool stopped = false;  // by a signal or by Trainer::request_stop()
  DistributedStats distributed;
};

// Every check of the train: section that needs no data (the loss resolves
// to a node output, frozen names exist, the loss depends on a trainable
// parameter through ops with a backward, the optimizer and its attributes,
// calibrated nodes exist): what `keel validate` runs. keel::Error (usage).
void check_train(const Plan& plan, const Registry& registry, const TrainDef& def);

class TrainObserver;

// One training run of a plan, in pieces: the constructor prepares
// everything that needs no step (data, calibration, gradients, optimizer,
// guards, --resume, the output folder, locked); run() trains, telling its
// observers (training/train_observer.hpp) what happens. Both throw
// keel::Error; a guard's abort is one (exit code 3). The plan, registry,
// train section and options must outlive the Trainer.
class Trainer {
 public:
  Trainer(Plan& plan, const Registry& registry, const TrainDef& def, const TrainOptions& options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // What the observers are told before the first step.
  const RunInfo& info() const;
  // Observers are called in the order they were added; each must outlive run().
  void add_observer(TrainObserver& observer);

  TrainSummary run();

  // Ends the run after the step in progress (or before the first), as a
  // signal does: the checkpoint is written, the hold-out outputs are not.
  // Safe from any thread, and from an observer.
  void request_stop();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Trains the plan's parameters in place: a Trainer with the command line's
// observers (console, metrics file, run.json and steps.csv, profiler).
// Throws keel::Error (usage) for a train: section that does not fit the
// graph, before any step runs. The first SIGINT, SIGTERM or SIGHUP during
// the steps stops the run after the step in progress: the checkpoint is
// written (when one is configured), a line on stderr says so, and the
// summary names the signal. A second signal ends the process at once; the
// last checkpoint stays intact, since checkpoints are written atomically
// (runtime/signals.hpp).
TrainSummary train(Plan& plan, const Registry& registry, const TrainDef& def, const TrainOptions& options);

}  // namespace keel
