// Data-parallel training's share of a step (docs/distributed.md). Every
// rank holds the whole model and trains on its slice of each global batch;
// gradients are summed across ranks in buckets that start as soon as the
// backward pass has finished them, so the sums travel while the rest of
// backward runs; every decision a step takes (a guard's action, a stop) is
// agreed on by all ranks in the step's collectives, so they never diverge.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "distributed/transport.hpp"
#include "executor/executor.hpp"
#include "keel/abi.h"
#include "keel/schema.hpp"
#include "planner/autodiff.hpp"
#include "planner/plan.hpp"
#include "training/metrics.hpp"

namespace keel {

// The rows of a global batch that rank `rank` of `ranks` trains on: the
// rank's contiguous share, in rank order, sizes differing by at most one.
std::vector<std::size_t> rank_rows(const std::vector<std::size_t>& rows, int rank, int ranks);

// The smallest batch of an epoch of `train_rows` rows in batches of `batch`
// (the last one may be short): each rank needs at least one of its rows.
std::size_t smallest_batch(std::size_t train_rows, std::size_t batch);

// Sums one phase's trained gradients across ranks. Buckets hold the
// parameters in the order the backward pass finishes them, each about
// `bucket_bytes` of gradients; a bucket's sum starts when its last
// parameter's backward step is done.
class GradientBuckets {
 public:
  GradientBuckets(const Plan& plan, const GradientPlan& gradients, dist::Transport& transport,
                  std::size_t bucket_bytes);

  // Hooks `exec`'s next backward pass (Executor::set_backward_hook).
  void attach(Executor& exec);
  // Waits for every bucket's sum and writes it over the gradients.
  void finish(Executor& exec);

  std::size_t buckets() const { return buckets_.size(); }
  std::size_t bytes() const { return bytes_; }
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Bucket {
    std::vector<int> params;  // parameter slots, in backward order
    int ready_step = 0;       // the backward step after which all are final
    std::vector<float> flat;  // the gradients, end to end
    int handle = -1;
  };
  void backward_step_done(Executor& exec, int step);

  dist::Transport& transport_;
  std::vector<Bucket> buckets_;
  std::size_t bytes_ = 0;
  double wait_seconds_ = 0;
};

// What ops see of the run (keel/abi.h): sums across ranks through
// `transport`, and whether the graph asked for global batch statistics.
keel_collective op_collective(dist::Transport& transport, bool sync_batch_statistics);

// What every rank does after a step's guards: the most severe action any
// rank's guards asked for, the smallest learning-rate factor of the
// rollbacks asked for, and whether any rank was asked to stop.
struct StepAgreement {
  GuardAction action = GuardAction::report;
  int action_rank = 0;  // a rank whose guards asked for `action`
  double lr_factor = 1.0;
  bool stop = false;
  bool fired = false;  // a guard fired on some rank (the step is not a good one to roll back to)
};
StepAgreement agree_on_step(dist::Transport& transport, GuardAction action, double lr_factor, bool stop,
                            bool fired);

// Whether node `node` of `plan` writes value `slot`.
bool produces(const Plan& plan, int node, int slot);

// Replaces this rank's loss (a mean over its rows, its share `weight` of
// the global batch's rows) by the global batch's, in place, on every rank.
void make_loss_global(dist::Transport& transport, Tensor& loss, double weight);

// Rank 0's non-trainable parameters (batch normalization's running
// statistics, which per-rank statistics make differ) copied to every rank,
// so that an evaluation split across ranks is the evaluation of rank 0's
// model, the one its checkpoint holds.
void share_leader_state(dist::Transport& transport, Plan& plan);

// Evaluation split across ranks: each runs `inputs` (its share of the rows)
// and the sums are added, so the result is the evaluation of all the rows.
// `other_losses` (other phases' loss slots, read after the same run) get
// their mean over all rows in `other_means`.
Evaluation evaluate_shared(dist::Transport& transport, Executor& exec, const Plan& plan, int loss_slot,
                           MetricKind kind, const std::vector<Tensor>& inputs,
                           const std::vector<int>& other_losses = {},
                           std::vector<double>* other_means = nullptr);

}  // namespace keel
