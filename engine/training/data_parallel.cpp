#include "training/data_parallel.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

namespace keel {

std::vector<std::size_t> rank_rows(const std::vector<std::size_t>& rows, int rank, int ranks) {
  const std::size_t n = rows.size(), lo = n * std::size_t(rank) / std::size_t(ranks),
                    hi = n * std::size_t(rank + 1) / std::size_t(ranks);
  return {rows.begin() + std::ptrdiff_t(lo), rows.begin() + std::ptrdiff_t(hi)};
}

std::size_t smallest_batch(std::size_t train_rows, std::size_t batch) {
  if (train_rows == 0 || batch == 0) return 0;
  const std::size_t last = train_rows % batch;
  return std::min(train_rows, last ? last : batch);
}

GradientBuckets::GradientBuckets(const Plan& plan, const GradientPlan& gradients, dist::Transport& transport,
                                 std::size_t bucket_bytes)
    : transport_(transport) {
  const std::set<int> trained(gradients.trained_params.begin(), gradients.trained_params.end());
  Bucket open;
  std::size_t open_bytes = 0;
  for (std::size_t j = 0; j < gradients.steps.size(); ++j) {
    const BackwardStep& step = gradients.steps[j];
    const PlannedNode& node = plan.nodes()[std::size_t(step.node)];
    for (std::size_t k = 0; k < node.params.size(); ++k) {
      const int p = node.params[k];
      if (!step.param_grads[k] || !trained.count(p)) continue;
      open.params.push_back(p);
      const std::size_t bytes = std::size_t(plan.params()[std::size_t(p)].value.numel()) * sizeof(float);
      open_bytes += bytes;
      bytes_ += bytes;
    }
    // A bucket closes after a whole step, so every parameter of that step
    // is final when its sum starts.
    if (!open.params.empty() && (open_bytes >= bucket_bytes || j + 1 == gradients.steps.size())) {
      open.ready_step = int(j);
      open.flat.resize(open_bytes / sizeof(float));
      buckets_.push_back(std::move(open));
      open = Bucket();
      open_bytes = 0;
    }
  }
}

void GradientBuckets::attach(Executor& exec) {
  for (Bucket& b : buckets_) b.handle = -1;
  exec.set_backward_hook([this, &exec](int step) { backward_step_done(exec, step); });
}

void GradientBuckets::backward_step_done(Executor& exec, int step) {
  for (Bucket& b : buckets_) {
    if (b.ready_step != step) continue;
    float* out = b.flat.data();
    for (int p : b.params) {
      const Tensor& g = exec.param_grad(p);
      std::memcpy(out, g.data(), g.nbytes());
      out += g.numel();
    }
    b.handle = transport_.start_sum(b.flat.data(), b.flat.size());
  }
  // Lets the sums already started move on while backward goes on.
  for (const Bucket& b : buckets_)
    if (b.handle >= 0) {
      transport_.poll(b.handle);
      break;
    }
}

void GradientBuckets::finish(Executor& exec) {
  exec.set_backward_hook(nullptr);
  const auto start = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) transport_.finish(b.handle);
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (Bucket& b : buckets_) {
    const float* in = b.flat.data();
    for (int p : b.params) {
      Tensor& g = exec.param_grad(p);
      std::memcpy(g.data(), in, g.nbytes());
      in += g.numel();
    }
  }
}

keel_collective op_collective(dist::Transport& transport, bool sync_batch_statistics) {
  keel_collective c{};
  c.ctx = &transport;
  c.rank = transport.rank();
  c.ranks = transport.size();
  c.sync_batch_statistics = sync_batch_statistics ? 1 : 0;
  // A lost rank ends the process inside the transport, so this returns.
  c.sum_f64 = [](void* ctx, double* data, std::size_t count) {
    static_cast<dist::Transport*>(ctx)->sum(data, count);
    return 0;
  };
  return c;
}

StepAgreement agree_on_step(dist::Transport& transport, GuardAction action, double lr_factor, bool stop,
                            bool fired) {
  // Maxima are exact in any order. The action and the rank asking for it
  // travel as one number, so the most severe action names one of its ranks.
  constexpr double kRanks = 1 << 20;
  double v[4] = {double(action) * kRanks + transport.rank(), -lr_factor, stop ? 1.0 : 0.0, fired ? 1.0 : 0.0};
  transport.max(v, 4);
  StepAgreement a;
  a.action = GuardAction(int(v[0] / kRanks));
  a.action_rank = int(v[0] - double(int(v[0] / kRanks)) * kRanks);
  a.lr_factor = -v[1];
  a.stop = v[2] > 0;
  a.fired = v[3] > 0;
  return a;
}

bool produces(const Plan& plan, int node, int slot) {
  const auto& outputs = plan.nodes()[std::size_t(node)].outputs;
  return std::find(outputs.begin(), outputs.end(), slot) != outputs.end();
}

void make_loss_global(dist::Transport& transport, Tensor& loss, double weight) {
  // Every rank's loss tensor has the same shape (the bundled losses are
  // scalar means), so the weighted sum is elementwise.
  std::vector<double> v(std::size_t(loss.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(loss.as<float>()[i]) * weight;
  transport.sum(v.data(), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) loss.as<float>()[i] = float(v[i]);
}

void share_leader_state(dist::Transport& transport, Plan& plan) {
  for (Parameter& p : plan.params())
    if (!p.spec.trainable && !p.value.empty()) transport.broadcast(p.value.data(), p.value.nbytes(), 0);
}

Evaluation evaluate_shared(dist::Transport& transport, Executor& exec, const Plan& plan, int loss_slot,
                           MetricKind kind, const std::vector<Tensor>& inputs,
                           const std::vector<int>& other_losses, std::vector<double>* other_means) {
  const std::int64_t rows = inputs.empty() || inputs[0].shape().empty() ? 0 : inputs[0].shape()[0];
  EvaluationSums s;
  if (rows > 0) {
    exec.run(inputs, false);
    s = evaluation_sums(exec, plan, loss_slot, kind, rows);
  }
  std::vector<double> v{s.rows, s.loss, s.right, s.values, s.target, s.target_sq, s.residual};
  for (int slot : other_losses) {
    double sum = 0;
    if (rows > 0) {
      const Tensor& t = exec.value(slot);
      for (std::int64_t i = 0; i < t.numel(); ++i) sum += t.as<float>()[i];
    }
    v.push_back(sum * double(rows));
  }
  transport.sum(v.data(), v.size());
  s = {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
  if (other_means) {
    other_means->clear();
    for (std::size_t i = 7; i < v.size(); ++i) other_means->push_back(v[0] > 0 ? v[i] / v[0] : NAN);
  }
  return evaluation_from(s, kind);
}

}  // namespace keel
