// The Trainer: one training run's loop. What it prints and writes besides
// checkpoints, anomalies.jsonl and the hold-out outputs is its observers'
// job (train_observer.hpp).
#include "training/trainer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <system_error>

#include "base/error.hpp"
#include "base/log_prefix.hpp"
#include "distributed/group.hpp"
#include "executor/executor.hpp"
#include "planner/autodiff.hpp"
#include "runtime/folder_lock.hpp"
#include "runtime/npy.hpp"
#include "runtime/signals.hpp"
#include "training/calibration.hpp"
#include "training/checkpoint.hpp"
#include "training/data_parallel.hpp"
#include "training/guards.hpp"
#include "training/metrics.hpp"
#include "training/optimizer_step.hpp"
#include "training/output_paths.hpp"
#include "training/phases.hpp"
#include "training/resume_check.hpp"
#include "training/schedule.hpp"
#include "training/step_undo.hpp"
#include "training/thread_tuner.hpp"
#include "training/training_data.hpp"
#include "trust/detached.hpp"
#include "trust/secret_key.hpp"
#include "trust/verify.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Gradients per bucket of a data-parallel step: large enough that a sum's
// fixed cost is small beside its bytes, small enough that the first sums
// start early in backward (PyTorch DDP's first bucket is 1 MiB too).
constexpr std::size_t kBucketBytes = std::size_t(1) << 20;

double tensor_sum(const Tensor& t) {
  double sum = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) sum += t.as<float>()[i];
  return sum;
}

void make_folder(const fs::path& dir) {
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) throw runtime_error("cannot create folder '" + dir.string() + "': " + ec.message());
}

}  // namespace

// One objective of the step (training/phases.hpp) and what it needs to run.
// Held by pointer: the optimizer and guards point into `gradients`.
struct PhaseRun {
  PhaseSpec spec;
  GradientPlan gradients;
  std::optional<OptimizerSteps> optimizer;
  std::optional<Guards> guards;
  std::optional<GradientBuckets> buckets;  // data-parallel runs only
  // The epoch's applied updates, for its mean loss.
  double loss_sum = 0;
  std::int64_t loss_batches = 0;
};

// Everything a run holds, in the order it is made.
struct Trainer::State {
  Plan& plan;
  const TrainDef& def;
  const TrainOptions& options;
  const ValidatedGraph& graph;
  std::vector<std::unique_ptr<PhaseRun>> phases;
  int loss_slot;  // the first phase's: the run's loss and metric
  TrainingData prepared;
  std::int64_t total_steps = 0;
  std::vector<OptimizerState> optimizer_state;  // every phase's, for checkpoints and rollback
  std::vector<std::string> calibrate_at_end;    // train.calibrate nodes measured on the trained model
  // The product of the rollbacks' lr_factor. A rollback undoes the whole
  // step, every phase's update, so it slows every phase alike: in a GAN,
  // slowing only the player whose loss looked bad would hand the game to
  // the other.
  double lr_scale = 1.0;
  bool has_guards = false;
  CheckpointSeal seal;
  // train.checkpoint.sign: read once, before training, so a wrong key or
  // passphrase is refused before any step.
  std::unique_ptr<trust::SecretKey> signing_key;
  TrainingPosition pos;
  std::optional<StepUndo> undo;
  std::optional<Executor> exec;
  MetricKind metric = MetricKind::none;
  std::optional<FolderLock> lock;
  fs::path ckpt;
  std::optional<GuardReport> guard_report;
  RunInfo info;
  Observers observers;
  std::atomic<bool> stop{false};
  // The last checkpoint this run wrote, for an abort's message.
  bool saved = false;
  std::uint64_t saved_step = 0;
  // Data-parallel runs (data_parallel.hpp): the group, whether this
  // process writes files (rank 0, or a single process), whether some rank
  // asked to stop in this step, and the time the steps took.
  dist::Group* group = nullptr;
  keel_collective collective{};  // what the ops see of the group
  bool writes = true;
  bool agreed_stop = false;
  double step_seconds = 0;
  ThreadTuner tuner;

  State(Plan& p, const TrainDef& d, const TrainOptions& o)
      : plan(p),
        def(d),
        options(o),
        graph(p.graph()),
        group(o.group),
        writes(!o.group || o.group->leader()),
        tuner(o.tune_threads && !o.group && o.inter_op <= 1 ? o.threads : 1) {
    for (PhaseSpec& spec : resolve_phases(p, d)) {
      phases.push_back(std::make_unique<PhaseRun>());
      phases.back()->spec = std::move(spec);
    }
    loss_slot = phases.front()->spec.loss_slot;
  }

  bool several() const { return phases.size() > 1 || !phases.front()->spec.name.empty(); }

  std::vector<Tensor> inputs(const Dataset& data, const std::vector<std::size_t>& rows) const {
    return batch_inputs(graph, data, rows, def.data.loc);
  }
  // This rank's share of `rows` (all of them in a single process).
  std::vector<std::size_t> mine(const std::vector<std::size_t>& rows) const {
    return group ? rank_rows(rows, group->rank(), group->size()) : rows;
  }

  void checkpoint() {
    if (!writes) return;
    Observers::Scope span(observers, Phase::checkpoint);
    save_checkpoint(ckpt, plan, optimizer_state, pos, def.data.batch, seal);
    // Written after the checkpoint: a crash between the two leaves a
    // signature of the previous checkpoint, which verification refuses.
    if (signing_key)
      trust::write_detached_signature(
          ckpt, *signing_key, trust::default_trusted_comment(ckpt) + "\tstep:" + std::to_string(pos.step));
    saved = true;
    saved_step = pos.step;
  }

  // One step on `rows`: for each phase in order (each `repeat` times),
  // forward, backward, guards, then the update or what the guards ask
  // instead. A rollback ends the step. A guard's abort is thrown
  // (keel::Error, exit code 3) after the observers heard of the step.
  void step(const std::vector<std::size_t>& rows, std::int64_t epoch, std::uint64_t steps_this_run);
  // One pass of one phase; returns false when a rollback ends the step.
  bool run_phase(PhaseRun& phase, std::int64_t repeat, const std::vector<Tensor>& batch,
                 const std::vector<std::size_t>& rows, std::size_t global_rows, PhaseStep& facts,
                 std::vector<GuardEvent>& events);
  // A rank other than 0 writes no anomalies.jsonl: its guards' events go to
  // its stderr, one line each.
  void print_rank_events(const std::vector<GuardEvent>& fired) const;
  int aborted_by_rank = -1;     // another rank's guard aborted this step
  bool fired_anywhere = false;  // a guard fired on some rank in this step
  [[noreturn]] void abort(const std::vector<GuardEvent>& events) const;
  // The epoch's evaluations, each rank running its share of the rows.
  void evaluate_split(EpochInfo& epoch);
  void write_holdout_outputs();
};

Trainer::Trainer(Plan& plan, const Registry& registry, const TrainDef& def, const TrainOptions& options) {
  check_train(plan, registry, def);
  s_ = std::make_unique<State>(plan, def, options);
  State& s = *s_;
  s.prepared = load_training_data(plan, def.data, s.loss_slot);
  const Split& split = s.prepared.split;
  const auto batch = std::size_t(def.data.batch);
  s.total_steps = def.steps > 0 ? def.steps : def.epochs * s.prepared.batches_per_epoch;
  if (s.group) {
    const std::size_t smallest = smallest_batch(split.train.size(), batch);
    if (smallest < std::size_t(s.group->size()))
      throw usage_error("train.data.batch: the smallest batch of an epoch has " + std::to_string(smallest) +
                            " rows, fewer than the " + std::to_string(s.group->size()) +
                            " ranks it is split across (docs/distributed.md)",
                        s.graph.loc(def.data.loc));
  }

  // Shapes and parameters from the first batch, then everything that needs
  // them: calibration, gradients, optimizer state.
  const std::vector<std::size_t> first(
      split.train.begin(), split.train.begin() + std::ptrdiff_t(std::min(batch, split.train.size())));
  if (s.group) {
    s.collective = op_collective(s.group->transport(), def.sync_batchnorm);
    plan.set_collective(&s.collective);
  }
  plan.bind(s.inputs(s.prepared.data, s.mine(first)), true);
  for (const auto& node : def.calibrate) {
    if (calibrated_after_training(plan, node, def))
      s.calibrate_at_end.push_back(node);
    else
      calibrate(plan, s.prepared.data, split.train, node, def);
  }
  std::vector<int> losses;
  for (const auto& phase : s.phases) losses.push_back(phase->spec.loss_slot);
  bool may_skip = false, may_roll_back = false;
  for (const auto& phase : s.phases) {
    PhaseRun& p = *phase;
    p.gradients = phase_gradients(plan, p.spec);
    p.optimizer.emplace(plan, registry, *p.spec.optimizer, p.gradients);
    for (OptimizerState& st : p.optimizer->state()) s.optimizer_state.push_back(st);
    std::vector<int> others;
    for (int slot : losses)
      if (slot != p.spec.loss_slot) others.push_back(slot);
    // A guard whose limits are measured after training has none yet.
    p.guards.emplace(plan, registry, &p.gradients, others, s.calibrate_at_end);
    if (s.group) p.buckets.emplace(plan, p.gradients, s.group->transport(), kBucketBytes);
    s.has_guards |= !p.guards->empty();
    may_skip |= p.guards->uses(GuardAction::skip_step);
    may_roll_back |= p.guards->uses(GuardAction::rollback);
  }

  // Checked now: a bad key must not surface only at the first checkpoint.
  // A run resumed with a key seals its own checkpoints with it when the
  // graph names none: continuing a sealed run must not write it out plain.
  const bool seal_with_resume_key = def.checkpoint.encrypt.empty() && !options.resume.empty();
  s.seal = checkpoint_seal(registry, seal_with_resume_key ? options.resume_key : def.checkpoint.encrypt);
  if (!def.checkpoint.sign_key.empty() && s.writes)
    s.signing_key = trust::read_secret_key_file(
        def.checkpoint.sign_key, def.checkpoint.sign_passphrase_env.empty()
                                     ? std::string_view{}
                                     : trust::passphrase_from_env(def.checkpoint.sign_passphrase_env));
  if (!options.resume.empty()) {
    CheckpointSeal resume_seal =
        options.resume_key.empty() ? s.seal : checkpoint_seal(registry, options.resume_key);
    resume_seal.allow_plaintext = options.allow_plaintext;
    const CheckpointInfo info = load_checkpoint(options.resume, plan, &s.optimizer_state, resume_seal);
    check_resume(info, s.graph, def, s.prepared.batches_per_epoch, options);
    s.pos = info.position;
  }
  // Several passes per step restore what forward changed after every pass
  // but the first (below), so the copy is needed then too.
  const bool several_passes = s.phases.size() > 1 || s.phases.front()->spec.repeat > 1;
  s.undo.emplace(plan, s.optimizer_state, may_skip || several_passes, may_roll_back);

  // Ranks must call their collectives (batch statistics summed across
  // ranks, gradient buckets) in the same order: one node at a time.
  s.exec.emplace(plan, make_scheduler(s.group ? 1 : options.inter_op));
  s.exec->set_step(s.pos.step);
  s.exec->set_profiler(options.profiler);
  s.exec->time_nodes(options.time_nodes);
  // The loss is read after the backward pass, which would otherwise reuse
  // its memory once a consumer (a guard on the loss) has run; the metrics
  // read the loss node's inputs after each evaluation run.
  for (int loss : losses) s.exec->keep(loss);
  for (const auto& n : plan.nodes())
    if (std::find(s.calibrate_at_end.begin(), s.calibrate_at_end.end(),
                  s.graph.def.nodes[std::size_t(n.node)].name) != s.calibrate_at_end.end())
      s.exec->keep(n.inputs.at(0));
  for (const auto& n : plan.nodes())
    if (std::find(n.outputs.begin(), n.outputs.end(), s.loss_slot) != n.outputs.end())
      for (int slot : n.inputs) s.exec->keep(slot);
  s.metric = metric_for(plan, s.loss_slot);

  // Fail on an unusable output location now, not after the training; no
  // other run may write into the folder while this one does.
  check_output_locations(s.graph, &def, options.output_dir);
  s.ckpt = def.checkpoint.path.empty() ? fs::path() : options.output_dir / def.checkpoint.path;
  if (s.writes) {
    make_folder(options.output_dir);
    s.lock.emplace(options.output_dir);
    if (!s.ckpt.empty()) make_folder(s.ckpt.parent_path());
    if (s.has_guards) s.guard_report.emplace(options.output_dir / "anomalies.jsonl", s.pos.step > 0);
  }

  s.info.first_step = s.pos.step;
  s.info.total_steps = s.total_steps;
  s.info.batches_per_epoch = s.prepared.batches_per_epoch;
  s.info.metric = s.metric;
  s.info.holdout = !split.holdout.empty();
  s.info.checkpoint = s.ckpt;
  s.info.guards = s.guard_report ? &*s.guard_report : nullptr;
}

Trainer::~Trainer() = default;

const RunInfo& Trainer::info() const { return s_->info; }

void Trainer::add_observer(TrainObserver& observer) { s_->observers.add(observer); }

void Trainer::request_stop() { s_->stop.store(true, std::memory_order_relaxed); }

void Trainer::State::print_rank_events(const std::vector<GuardEvent>& fired) const {
  for (const GuardEvent& e : fired)
    std::fprintf(stderr, "%s: guard '%s' (%s) fired at step %llu: score %g, threshold %g; %s\n",
                 log_prefix().c_str(), e.node.c_str(), e.check.c_str(),
                 static_cast<unsigned long long>(e.step), e.score, e.threshold, e.action.c_str());
}

bool Trainer::State::run_phase(PhaseRun& phase, std::int64_t repeat, const std::vector<Tensor>& batch,
                               const std::vector<std::size_t>& rows, std::size_t global_rows,
                               PhaseStep& facts, std::vector<GuardEvent>& events) {
  undo->before_step();
  // Every phase of a step sees the same step number, so stochastic ops
  // (noise, dropout) draw the same values in each: a GAN's generator phase
  // sees the fakes its discriminator phase judged.
  exec->set_step(pos.step);
  facts.name = phase.spec.name;
  // A rank's gradients are weighted by its share of the global batch, so
  // that their sum is the global batch's (every bundled loss is a mean).
  const double weight = group ? double(rows.size()) / double(global_rows) : 1.0;
  if (group) {
    exec->set_loss_scale(float(weight));
    phase.buckets->attach(*exec);
    // Guards on the loss (nonfinite, loss_spike) run after the loss node and
    // must see the global batch's loss, as every rank then does.
    exec->set_forward_hook([&](int node) {
      if (produces(plan, node, phase.spec.loss_slot))
        make_loss_global(group->transport(), exec->mutable_value(phase.spec.loss_slot), weight);
    });
  }
  facts.loss = exec->train_step(batch, phase.gradients);
  if (group) {
    exec->set_forward_hook(nullptr);
    phase.buckets->finish(*exec);
  }
  // One batch, one update of what forward changes (batch normalization's
  // running statistics): the step's first pass makes it; later passes (the
  // next phase, a repeat) see the same batch and must not count it again.
  if (&phase != phases.front().get() || repeat > 0) undo->skip();
  const OptimizerDef& opt = *phase.spec.optimizer;
  const double lr = learning_rate(opt.schedule, opt.lr, std::int64_t(pos.step), total_steps) * lr_scale;
  facts.lr = lr;
  facts.grad_norm = phase.optimizer->grad_norm(*exec);
  // Guards are read after the whole forward and backward pass and before
  // any optimizer op runs: every update depends on every guard.
  std::vector<GuardEvent> fired;
  if (!phase.guards->empty()) {
    Observers::Scope guard_span(observers, Phase::guards, std::int64_t(pos.step));
    fired = phase.guards->check(*exec, pos.step, &rows);
  }
  facts.action = most_severe(fired);
  if (guard_report) guard_report->add(fired);
  if (!writes) print_rank_events(fired);
  events.insert(events.end(), fired.begin(), fired.end());
  double lr_factor = 1.0;
  for (const auto& e : fired)
    if (e.act == GuardAction::rollback) lr_factor *= e.lr_factor;
  if (group) {
    // Every rank takes the most severe action any rank's guards asked for.
    const bool stop_now = signals::GracefulStop::requested() != 0 || stop.load(std::memory_order_relaxed);
    const StepAgreement a =
        agree_on_step(group->transport(), facts.action, lr_factor, stop_now, !fired.empty());
    agreed_stop = agreed_stop || a.stop;
    fired_anywhere = fired_anywhere || a.fired;
    // The same factor on every rank, or their learning rates would part.
    lr_factor = a.lr_factor;
    if (a.action > facts.action && a.action == GuardAction::abort) aborted_by_rank = a.action_rank;
    facts.action = a.action;
  }
  if (facts.action == GuardAction::abort) return false;
  if (facts.action == GuardAction::rollback) {
    undo->roll_back();
    lr_scale *= lr_factor;
    return false;
  }
  if (facts.action == GuardAction::skip_step) {
    undo->skip();
    return true;
  }
  {
    Observers::Scope update(observers, Phase::update, std::int64_t(pos.step));
    // The updates before this one, as the optimizer contract counts them
    // (keel/optimizer.hpp): each step makes `repeat` of them. A function of
    // the position alone, so a resumed run counts as the original did.
    const auto r = std::uint64_t(phase.spec.repeat);
    phase.optimizer->apply(*exec, lr, pos.step * r + std::uint64_t(repeat), facts.grad_norm);
  }
  phase.loss_sum += facts.loss;
  ++phase.loss_batches;
  return true;
}

void Trainer::State::abort(const std::vector<GuardEvent>& events) const {
  const std::string detail =
      ckpt.empty() ? "no checkpoint is configured"
      : saved ? "the checkpoint '" + ckpt.string() + "' (step " + std::to_string(saved_step) + ") is intact"
              : "this run wrote no checkpoint";
  const auto e = std::find_if(events.begin(), events.end(),
                              [](const GuardEvent& ev) { return ev.act == GuardAction::abort; });
  if (e != events.end()) throw guard_abort(plan, *e, detail);
  // Only another rank's guard fired: every rank stops on the same step.
  throw Error(ExitCode::anomaly, "a guard on rank " + std::to_string(aborted_by_rank) + " aborted at step " +
                                     std::to_string(pos.step) + "; stopped (action abort); " + detail);
}

void Trainer::State::step(const std::vector<std::size_t>& rows, std::int64_t epoch,
                          std::uint64_t steps_this_run) {
  Observers::Scope span(observers, Phase::step, std::int64_t(pos.step));
  tuner.tick();
  const auto started = Clock::now();
  const std::vector<std::size_t> local = mine(rows);
  const std::vector<Tensor> batch = inputs(prepared.data, local);
  fired_anywhere = false;
  std::vector<GuardEvent> events;
  std::vector<PhaseStep> facts;
  bool go_on = true;
  for (auto it = phases.begin(); it != phases.end() && go_on; ++it)
    for (std::int64_t r = 0; r < (*it)->spec.repeat && go_on; ++r) {
      if (r == 0) facts.emplace_back();
      go_on = run_phase(**it, r, batch, local, rows.size(), facts.back(), events);
    }
  // Good means no guard fired at all: a step let through by a report
  // guard is suspect, so a later rollback goes back before it.
  // With several ranks, on every rank alike: rollbacks must all go back to
  // the same step.
  if (events.empty() && !fired_anywhere) undo->good_step();
  GuardAction action = most_severe(events);
  for (const PhaseStep& f : facts) action = std::max(action, f.action);
  const PhaseStep& first = facts.front();
  const StepInfo step_info{pos.step,
                           epoch,
                           first.loss,
                           first.lr,
                           first.grad_norm,
                           &events,
                           action,
                           steps_this_run,
                           pos.step + 1 >= std::uint64_t(total_steps),
                           several() ? &facts : nullptr};
  step_seconds += std::chrono::duration<double>(Clock::now() - started).count();
  observers.step(step_info);
  if (step_info.action == GuardAction::abort) abort(events);
}

TrainSummary Trainer::run() {
  State& s = *s_;
  const Split& split = s.prepared.split;
  const Dataset& data = s.prepared.data;
  const auto batch = std::size_t(s.def.data.batch);
  const std::int64_t batches_per_epoch = s.prepared.batches_per_epoch;
  s.observers.run_begin(s.info);

  TrainSummary summary;
  summary.metric_name = metric_name(s.metric);
  const auto start = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto end = [&](RunStatus status, std::uint64_t steps_this_run, int signal) {
    s.observers.run_end({status, s.pos.step, steps_this_run, seconds(), signal, &*s.exec});
  };
  std::uint64_t steps_this_run = 0;
  TrainingPosition& pos = s.pos;
  bool done = pos.step >= std::uint64_t(s.total_steps);
  // From here on a signal asks for a stop at the next step boundary.
  const signals::GracefulStop graceful;
  int stop_signal = 0;
  bool stopped = s.stop.load();
  auto stop_requested = [&] {
    stop_signal = signals::GracefulStop::requested();
    return stop_signal != 0 || s.stop.load(std::memory_order_relaxed);
  };
  for (std::int64_t epoch = pos.epoch; !done && !stopped; ++epoch) {
    std::vector<std::size_t> order = s.def.data.shuffle ? std::vector<std::size_t>() : split.train;
    if (s.def.data.shuffle) {
      for (std::size_t i : permutation(split.train.size(), s.graph.def.seed, std::uint64_t(epoch) + 1))
        order.push_back(split.train[i]);
    }
    for (auto& phase : s.phases) phase->loss_sum = 0, phase->loss_batches = 0;
    for (std::int64_t b = epoch == pos.epoch ? pos.batch : 0; b < batches_per_epoch && !done && !stopped;
         ++b) {
      const auto lo = std::size_t(b) * batch, hi = std::min(order.size(), lo + batch);
      const std::vector<std::size_t> rows(order.begin() + std::ptrdiff_t(lo),
                                          order.begin() + std::ptrdiff_t(hi));
      ++steps_this_run;
      try {
        s.step(rows, epoch, steps_this_run);
      } catch (const Error& e) {
        if (e.code() == ExitCode::anomaly) end(RunStatus::aborted, steps_this_run, 0);
        throw;
      }
      ++pos.step;
      pos.epoch = epoch;
      pos.batch = b + 1;
      done = pos.step >= std::uint64_t(s.total_steps);
      stopped = stop_requested();
      // Ranks stop on the step they agreed on (data_parallel.hpp).
      if (s.group) stopped = s.agreed_stop;
      if (!s.ckpt.empty() && s.def.checkpoint.every > 0 &&
          pos.step % std::uint64_t(s.def.checkpoint.every) == 0)
        s.checkpoint();
    }
    if (pos.batch >= batches_per_epoch) {  // the epoch is complete
      pos.epoch = epoch + 1;
      pos.batch = 0;
    }
    if (stopped) break;  // no evaluation: the user asked to stop now
    auto mean_loss = [](const PhaseRun& p) {
      return p.loss_batches ? p.loss_sum / double(p.loss_batches) : NAN;
    };
    summary.train_loss = mean_loss(*s.phases.front());
    EpochInfo info;
    info.epoch = epoch;
    info.train_loss = summary.train_loss;
    if (s.several())
      for (const auto& p : s.phases) info.phases.push_back({p->spec.name, mean_loss(*p), NAN});
    {
      Observers::Scope span(s.observers, Phase::evaluate);
      s.tuner.tick();
      if (s.group) {
        s.evaluate_split(info);
      } else {
        if (!split.holdout.empty()) {
          info.holdout = evaluate(*s.exec, s.plan, s.loss_slot, s.metric,
                                  s.inputs(s.prepared.holdout_data(), split.holdout));
          // The same inference run computed every phase's loss.
          for (std::size_t i = 0; i < info.phases.size(); ++i)
            info.phases[i].holdout_loss = tensor_sum(s.exec->value(s.phases[i]->spec.loss_slot));
        }
        // The train split's metric, measured like the hold-out's (inference
        // mode, all rows at once), so the two are comparable.
        s.tuner.tick();
        info.train_metric =
            s.metric == MetricKind::none
                ? NAN
                : evaluate(*s.exec, s.plan, s.loss_slot, s.metric, s.inputs(data, split.train)).metric;
      }
    }
    summary.holdout_loss = info.holdout.loss;
    summary.holdout_metric = info.holdout.metric;
    info.step = pos.step;
    info.last = done;
    {
      Observers::Scope span(s.observers, Phase::write_metrics);
      s.observers.epoch(info);
    }
    if (!s.ckpt.empty() && s.def.checkpoint.every == 0) s.checkpoint();
  }
  // A stop requested during the last epoch's evaluation still counts
  // (a rank's own: nothing collective follows).
  if (!stopped) stopped = stop_requested();
  // The finished model's limits, before its checkpoint; a stopped run's are
  // measured when it is resumed and finishes.
  if (!stopped && done && !s.calibrate_at_end.empty()) {
    Observers::Scope span(s.observers, Phase::evaluate);
    calibrate_trained(s.plan, *s.exec, s.inputs(data, split.train), s.calibrate_at_end, s.def);
  }
  if (!s.ckpt.empty()) s.checkpoint();
  summary.steps = pos.step;
  if (s.group) {
    DistributedStats& d = summary.distributed;
    d.ranks = s.group->size();
    for (const auto& p : s.phases) {
      d.buckets += p->buckets->buckets();
      d.gradient_bytes += p->buckets->bytes();
      d.wait_seconds += p->buckets->wait_seconds();
    }
    d.step_seconds = s.step_seconds;
  }
  if (stopped) {
    end(RunStatus::stopped, steps_this_run, stop_signal);
    summary.stopped_by_signal = stop_signal;
    summary.stopped = true;
    return summary;
  }
  if (s.options.on_finish && s.writes) s.options.on_finish(*s.exec);
  s.write_holdout_outputs();
  end(RunStatus::completed, steps_this_run, 0);
  return summary;
}

void Trainer::State::evaluate_split(EpochInfo& epoch) {
  const Split& split = prepared.split;
  dist::Transport& t = group->transport();
  share_leader_state(t, plan);
  if (!split.holdout.empty()) {
    std::vector<int> losses;
    for (std::size_t i = 0; i < epoch.phases.size(); ++i) losses.push_back(phases[i]->spec.loss_slot);
    std::vector<double> means;
    epoch.holdout = evaluate_shared(t, *exec, plan, loss_slot, metric,
                                    inputs(prepared.holdout_data(), mine(split.holdout)), losses, &means);
    for (std::size_t i = 0; i < epoch.phases.size(); ++i) epoch.phases[i].holdout_loss = means[i];
  }
  epoch.train_metric = metric == MetricKind::none ? NAN
                                                  : evaluate_shared(t, *exec, plan, loss_slot, metric,
                                                                    inputs(prepared.data, mine(split.train)))
                                                        .metric;
}

// The hold-out rows and the graph's outputs on them, for inference checks.
void Trainer::State::write_holdout_outputs() {
  const Split& split = prepared.split;
  if (split.holdout.empty() || !writes) return;
  Observers::Scope span(observers, Phase::write_outputs);
  const auto in = inputs(prepared.holdout_data(), split.holdout);
  const fs::path& dir = options.output_dir;
  make_folder(dir / "holdout");
  if (prepared.holdout_is_fraction()) write_holdout_rows(dir / "holdout" / "rows.npy", split.holdout);
  for (std::size_t i = 0; i < in.size(); ++i)
    write_npy(dir / "holdout" / (graph.def.inputs[i].name + ".npy"), in[i]);
  const auto outputs = exec->run(in, false);
  for (std::size_t i = 0; i < outputs.size(); ++i)
    write_npy(dir / (graph.def.outputs[i].text() + ".npy"), outputs[i]);
}

}  // namespace keel
