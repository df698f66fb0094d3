#include "training/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>

#include "base/error.hpp"
#include "base/json.hpp"
#include "executor/executor.hpp"
#include "graph/dot.hpp"
#include "graph/validate.hpp"
#include "keel/version.hpp"
#include "planner/autodiff.hpp"
#include "runtime/dataset.hpp"
#include "runtime/folder_lock.hpp"
#include "runtime/line_file.hpp"
#include "runtime/npy.hpp"
#include "runtime/signals.hpp"
#include "training/checkpoint.hpp"
#include "training/guards.hpp"
#include "training/metrics.hpp"
#include "training/optimizer_step.hpp"
#include "training/output_paths.hpp"
#include "training/run_record.hpp"
#include "training/schedule.hpp"
#include "training/training_data.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

// Tensors for the graph's inputs, in declaration order, from a dataset whose
// inputs may be listed in another order.
std::vector<Tensor> batch_inputs(const ValidatedGraph& graph, const Dataset& data,
                                 const std::vector<std::size_t>& rows, const Loc& where) {
  std::vector<Tensor> by_data = data.gather(rows);
  std::vector<Tensor> out;
  for (const auto& in : graph.def.inputs) {
    const auto& names = data.inputs();
    auto it = std::find(names.begin(), names.end(), in.name);
    if (it == names.end())
      throw usage_error("train data does not provide graph input '" + in.name + "'", graph.loc(where));
    out.push_back(by_data[std::size_t(it - names.begin())]);
  }
  return out;
}

int slot_of(const Plan& plan, const ValueRef& ref) {
  const auto& g = plan.graph();
  for (std::size_t n = 0; n < g.def.nodes.size(); ++n) {
    if (g.def.nodes[n].name != ref.name) continue;
    const auto& outs = g.nodes[n].entry->schema.outputs;
    for (std::size_t o = 0; o < outs.size(); ++o)
      if (ref.port.empty() ? o == 0 : outs[o].name == ref.port) return plan.value_slot({int(n), int(o)});
  }
  throw usage_error("train.loss: '" + ref.text() + "' is not a node output", g.loc(ref.loc));
}

// Per-feature statistics of the training rows, written into the node's
// parameters whose schema declares one (ParamSpec::statistic): mean, std
// (population, as feature scaling uses; a constant feature's 0 is stored as
// 1, so dividing by it is safe), min, max. The op's name and its parameter
// names play no part.
void calibrate(Plan& plan, const Dataset& data, const std::vector<std::size_t>& rows, const std::string& node,
               const TrainDef& def) {
  const auto& g = plan.graph();
  for (const auto& n : plan.nodes()) {
    const auto& nd = g.def.nodes[std::size_t(n.node)];
    if (nd.name != node) continue;
    const int in_slot = n.inputs.at(0);
    if (in_slot >= int(g.def.inputs.size()))
      throw usage_error("calibrate: node '" + node + "' must read a graph input directly", g.loc(nd.loc));
    Tensor x = batch_inputs(g, data, rows, def.loc)[std::size_t(in_slot)];
    std::vector<std::pair<Statistic, Parameter*>> targets;
    for (int p : n.params) {
      auto& param = plan.params()[std::size_t(p)];
      if (param.spec.statistic != Statistic::none) targets.emplace_back(param.spec.statistic, &param);
    }
    if (targets.empty() || x.dtype() != DType::f32 || x.shape().size() != 2)
      throw usage_error("calibrate: node '" + node +
                            "' must have parameters that declare a statistic (mean, std, min, max) and an "
                            "f32 [batch, features] input",
                        g.loc(nd.loc));
    const auto rows_n = x.shape()[0], cols = x.shape()[1];
    for (const auto& [stat, p] : targets)
      if (p->value.numel() != cols)
        throw usage_error("calibrate: parameter '" + p->name + "' has " + std::to_string(p->value.numel()) +
                              " values for " + std::to_string(cols) +
                              " features (the op sized it for a use that keeps no per-feature statistics, as a guard "
                              "check that needs none does)",
                          g.loc(nd.loc));
    const float* v = x.as<float>();
    for (std::int64_t c = 0; c < cols; ++c) {
      double s = 0, ss = 0;
      for (std::int64_t r = 0; r < rows_n; ++r) s += v[r * cols + c];
      const double m = s / double(rows_n);
      for (std::int64_t r = 0; r < rows_n; ++r) {
        const double d = v[r * cols + c] - m;
        ss += d * d;
      }
      const double sd = std::sqrt(ss / double(rows_n));
      float lo = INFINITY, hi = -INFINITY;
      for (std::int64_t r = 0; r < rows_n; ++r) {
        lo = std::min(lo, v[r * cols + c]);
        hi = std::max(hi, v[r * cols + c]);
      }
      for (const auto& [stat, p] : targets) {
        float& out = p->value.as<float>()[c];
        switch (stat) {
          case Statistic::mean:
            out = float(m);
            break;
          case Statistic::std:
            out = float(sd > 0 ? sd : 1.0);
            break;
          case Statistic::min:
            out = lo;
            break;
          case Statistic::max:
            out = hi;
            break;
          case Statistic::none:
            break;
        }
      }
    }
    return;
  }
  throw usage_error("calibrate: no node named '" + node + "'", g.loc(def.loc));
}

void make_folder(const fs::path& dir) {
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) throw runtime_error("cannot create folder '" + dir.string() + "': " + ec.message());
}

// What run.json says before the first step (training/run_record.hpp).
RunFacts initial_facts(const Plan& plan, const Registry& registry, const TrainDef& def,
                       const TrainOptions& options, std::int64_t total_steps, std::int64_t batches_per_epoch,
                       const std::string& metric, std::uint64_t first_step) {
  const ValidatedGraph& graph = plan.graph();
  RunFacts f;
  f.graph_file = graph.def.file;
  f.graph_name = graph.def.name;
  f.graph_dot = graph_to_dot(graph);
  f.seed = graph.def.seed;
  f.threads = options.threads;
  f.inter_op = options.inter_op;
  f.keel_version = KEEL_SDK_VERSION_STRING;
  for (const auto& p : registry.plugins()) f.plugins.push_back({p->name, p->version, p->file.string()});
  f.loss = def.loss.text();
  f.metric = metric;
  f.optimizer = def.optimizer.op;
  f.lr = def.optimizer.lr;
  f.clip_grad_norm = def.optimizer.clip_grad_norm;
  f.batch = def.data.batch;
  f.epochs = def.epochs;
  f.total_steps = total_steps;
  f.batches_per_epoch = batches_per_epoch;
  f.metrics = def.metrics;
  f.checkpoint = def.checkpoint.path;
  f.sealed = !def.checkpoint.encrypt.empty();
  f.profile = options.profile.string();
  f.resumed_from = options.resume.string();
  f.first_step = first_step;
  f.started = utc_now();
  f.report = def.report;
  return f;
}

// The progress bar redraws at most this often: a redraw is a write(2) to
// the terminal, and one per step cost the flagship ~12% of its speed.
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
// Guard events are printed as lines above the bar up to this many; the rest
// are counted on the bar (all of them are in anomalies.jsonl).
constexpr std::size_t kEventLines = 20;

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

// Copies of parameters (and optimizer state), to undo a step; the copies'
// buffers are allocated once and reused.
void snapshot(const std::vector<Tensor*>& tensors, std::vector<Tensor>& saved) {
  if (saved.size() != tensors.size()) {
    saved.clear();
    for (const Tensor* t : tensors) saved.push_back(t->clone());
    return;
  }
  for (std::size_t i = 0; i < tensors.size(); ++i)
    std::copy_n(static_cast<const std::byte*>(tensors[i]->data()), tensors[i]->nbytes(),
                static_cast<std::byte*>(saved[i].data()));
}

void restore(const std::vector<Tensor*>& tensors, const std::vector<Tensor>& saved) {
  for (std::size_t i = 0; i < tensors.size(); ++i)
    std::copy_n(static_cast<const std::byte*>(saved[i].data()), saved[i].nbytes(),
                static_cast<std::byte*>(tensors[i]->data()));
}

// A checkpoint continues the run that wrote it: another graph, a data
// order from another seed or batches of another size would silently train
// something else than either run describes.
void check_resume(const CheckpointInfo& info, const ValidatedGraph& graph, const TrainDef& def,
                  std::int64_t batches_per_epoch, const TrainOptions& options) {
  const SourceLoc where{options.resume.string(), 0, 0};
  if (!info.has_format)
    throw usage_error(
        "not a Keel training checkpoint (no format metadata): --resume continues a run from "
        "the checkpoint it wrote; to start from these parameters, use --params",
        where);
  if (info.graph != graph.def.name)
    throw usage_error("the checkpoint was written by graph '" + printable(info.graph) + "', not '" +
                          printable(graph.def.name) + "'",
                      where);
  if (info.position.batch > batches_per_epoch)
    throw usage_error("the checkpoint's position (batch " + std::to_string(info.position.batch) +
                          " of epoch " + std::to_string(std::uint64_t(info.position.epoch) + 1) +
                          ") lies past the end of an epoch, which has " + std::to_string(batches_per_epoch) +
                          " batches with this data",
                      where);
  if (options.allow_resume_mismatch) return;
  if (info.seed && *info.seed != graph.def.seed)
    throw usage_error("the checkpoint was trained with seed " + std::to_string(*info.seed) +
                          ", this run has " + std::to_string(graph.def.seed) +
                          " (a different data order); pass --allow-resume-mismatch to continue anyway",
                      where);
  if (info.batch_size && *info.batch_size != def.data.batch)
    throw usage_error("the checkpoint was trained with batch " + std::to_string(*info.batch_size) +
                          ", this run has " + std::to_string(def.data.batch) +
                          "; pass --allow-resume-mismatch to continue anyway",
                      where);
  // With the same data and batch size every step is one batch of one epoch.
  const auto& at = info.position;
  if (at.epoch < 0 || at.batch < 0 || batches_per_epoch <= 0 ||
      std::uint64_t(at.epoch) > at.step / std::uint64_t(batches_per_epoch) ||
      at.step != std::uint64_t(at.epoch) * std::uint64_t(batches_per_epoch) + std::uint64_t(at.batch))
    throw usage_error("the checkpoint's position (step " + std::to_string(at.step) + ", epoch " +
                          std::to_string(std::uint64_t(at.epoch) + 1) + ", batch " +
                          std::to_string(at.batch) + ") does not fit this data, which makes " +
                          std::to_string(batches_per_epoch) + " batches an epoch",
                      where);
}

}  // namespace

void check_train(const Plan& plan, const Registry& registry, const TrainDef& def) {
  check_output_names(plan.graph(), def);
  const std::set<std::string> frozen(def.freeze.begin(), def.freeze.end());
  plan_gradients(plan, slot_of(plan, def.loss), frozen);
  OptimizerSteps::resolve(registry, def.optimizer, plan.graph());
  const auto& g = plan.graph();
  for (const auto& node : def.calibrate) {
    auto it = std::find_if(g.def.nodes.begin(), g.def.nodes.end(),
                           [&](const NodeDef& n) { return n.name == node; });
    if (it == g.def.nodes.end()) throw usage_error("calibrate: no node named '" + node + "'", g.loc(def.loc));
  }
}

TrainSummary train(Plan& plan, const Registry& registry, const TrainDef& def, const TrainOptions& options) {
  const ValidatedGraph& graph = plan.graph();
  check_train(plan, registry, def);
  const int loss_slot = slot_of(plan, def.loss);
  const std::set<std::string> frozen(def.freeze.begin(), def.freeze.end());

  const TrainingData prepared = load_training_data(plan, def.data, loss_slot);
  const Dataset& data = prepared.data;
  const Dataset& holdout_data = prepared.holdout_data();
  const Split& split = prepared.split;
  const auto batch = std::size_t(def.data.batch);
  const std::int64_t batches_per_epoch = prepared.batches_per_epoch;
  const std::int64_t total_steps = def.steps > 0 ? def.steps : def.epochs * batches_per_epoch;

  // Shapes and parameters from the first batch, then everything that needs
  // them: calibration, gradients, optimizer state.
  const std::vector<std::size_t> first(
      split.train.begin(), split.train.begin() + std::ptrdiff_t(std::min(batch, split.train.size())));
  plan.bind(batch_inputs(graph, data, first, def.data.loc), true);
  for (const auto& node : def.calibrate) calibrate(plan, data, split.train, node, def);
  const GradientPlan gradients = plan_gradients(plan, loss_slot, frozen);
  OptimizerSteps optimizer(plan, registry, def.optimizer, gradients);
  Guards guards(plan, registry, &gradients);

  // Checked now: a bad key must not surface only at the first checkpoint.
  // A run resumed with a key seals its own checkpoints with it when the
  // graph names none: continuing a sealed run must not write it out plain.
  const bool seal_with_resume_key = def.checkpoint.encrypt.empty() && !options.resume.empty();
  const CheckpointSeal seal =
      checkpoint_seal(registry, seal_with_resume_key ? options.resume_key : def.checkpoint.encrypt);
  TrainingPosition pos;
  if (!options.resume.empty()) {
    CheckpointSeal resume_seal =
        options.resume_key.empty() ? seal : checkpoint_seal(registry, options.resume_key);
    resume_seal.allow_plaintext = options.allow_plaintext;
    const CheckpointInfo info = load_checkpoint(options.resume, plan, &optimizer.state(), resume_seal);
    check_resume(info, graph, def, batches_per_epoch, options);
    pos = info.position;
  }

  // What a guard may have to undo. skip_step: what forward changes (the
  // parameters no optimizer trains, such as running statistics), saved
  // before each step. rollback: every parameter and the optimizer state
  // after the last step on which no guard fired.
  std::vector<Tensor*> forward_state, all_state;
  for (auto& p : plan.params()) {
    all_state.push_back(&p.value);
    if (!p.spec.trainable) forward_state.push_back(&p.value);
  }
  for (auto& s : optimizer.state()) all_state.push_back(s.tensor);
  const bool may_skip = guards.uses(GuardAction::skip_step) || guards.uses(GuardAction::rollback);
  const bool may_roll_back = guards.uses(GuardAction::rollback);
  std::vector<Tensor> before_step, last_good;
  if (may_roll_back) snapshot(all_state, last_good);
  double lr_scale = 1.0;

  Executor exec(plan, make_scheduler(options.inter_op));
  exec.set_step(pos.step);
  exec.set_profiler(options.profiler);
  exec.time_nodes(options.time_nodes);
  // The metrics read the loss node's inputs after each evaluation run.
  for (const auto& n : plan.nodes())
    if (std::find(n.outputs.begin(), n.outputs.end(), loss_slot) != n.outputs.end())
      for (int s : n.inputs) exec.keep(s);
  Profiler* prof = options.profiler;
  auto span_name = [&](const char* name) { return prof ? prof->name_id(name) : 0; };
  const int span_step = span_name("step"), span_update = span_name("optimizer update"),
            span_checkpoint = span_name("save checkpoint"), span_eval = span_name("evaluate"),
            span_guard = span_name("guards"),
            span_metrics = span_name("write metrics"), span_outputs = span_name("write outputs");
  const MetricKind metric = metric_for(plan, loss_slot);
  const bool tty = !options.quiet && ::isatty(2);
  // Fail on an unusable output location now, not after the training; no
  // other run may write into the folder while this one does.
  check_output_locations(graph, &def, options.output_dir);
  make_folder(options.output_dir);
  const FolderLock lock(options.output_dir);
  LineFile metrics_file;
  if (!def.metrics.empty()) {
    const fs::path file = options.output_dir / def.metrics;
    make_folder(file.parent_path());
    metrics_file = LineFile(file, pos.step > 0);
  }
  const fs::path ckpt = def.checkpoint.path.empty() ? fs::path() : options.output_dir / def.checkpoint.path;
  if (!ckpt.empty()) make_folder(ckpt.parent_path());
  std::optional<GuardReport> guard_report;
  if (!guards.empty()) guard_report.emplace(options.output_dir / "anomalies.jsonl", pos.step > 0);
  RunFacts facts = initial_facts(plan, registry, def, options, total_steps, batches_per_epoch,
                                 metric_name(metric), pos.step);
  const fs::path facts_file = options.output_dir / "run.json";
  write_run_facts(facts_file, facts);
  StepLog step_log(options.output_dir / "steps.csv", pos.step > 0);
  // run.json's closing facts; `status` says how the run ended.
  auto finish_facts = [&](const char* status, double secs, const Executor& ex) {
    step_log.flush();
    facts.status = status;
    facts.steps = pos.step;
    facts.seconds = secs;
    facts.peak_bytes = ex.stats().peak_bytes;
    facts.guard_events = guard_report ? guard_report->events() : 0;
    write_run_facts(facts_file, facts);
  };
  std::uint64_t saved_step = 0;
  bool saved = false;
  auto checkpoint = [&] {
    Profiler::Span io(prof, Profiler::Kind::io, span_checkpoint);
    save_checkpoint(ckpt, plan, optimizer.state(), pos, def.data.batch, seal);
    saved = true;
    saved_step = pos.step;
  };

  TrainSummary summary;
  summary.metric_name = metric_name(metric);
  const auto start = Clock::now();
  auto last_redraw = start - kRedrawEvery;
  std::size_t event_lines = 0;
  std::uint64_t steps_this_run = 0;
  bool done = pos.step >= std::uint64_t(total_steps);
  // From here on a signal asks for a stop at the next step boundary.
  const signals::GracefulStop graceful;
  int stop_signal = 0;
  for (std::int64_t epoch = pos.epoch; !done && !stop_signal; ++epoch) {
    std::vector<std::size_t> order = def.data.shuffle ? std::vector<std::size_t>() : split.train;
    if (def.data.shuffle) {
      for (std::size_t i : permutation(split.train.size(), graph.def.seed, std::uint64_t(epoch) + 1))
        order.push_back(split.train[i]);
    }
    double loss_sum = 0;
    std::int64_t loss_batches = 0;
    for (std::int64_t b = epoch == pos.epoch ? pos.batch : 0; b < batches_per_epoch && !done && !stop_signal;
         ++b) {
      const auto lo = std::size_t(b) * batch, hi = std::min(order.size(), lo + batch);
      const std::vector<std::size_t> rows(order.begin() + std::ptrdiff_t(lo),
                                          order.begin() + std::ptrdiff_t(hi));
      Profiler::Span step_span(prof, Profiler::Kind::step, span_step, std::int64_t(pos.step));
      if (may_skip) snapshot(forward_state, before_step);
      const double loss = exec.train_step(batch_inputs(graph, data, rows, def.data.loc), gradients);
      const double lr =
          learning_rate(def.optimizer.schedule, def.optimizer.lr, std::int64_t(pos.step), total_steps);
      const double grad_norm = optimizer.grad_norm(exec);
      step_log.add(pos.step, loss, lr * lr_scale, grad_norm);
      // Guards are read after the whole forward and backward pass and before
      // any optimizer op runs: every update depends on every guard.
      std::optional<Profiler::Span> guard_span;
      if (!guards.empty()) guard_span.emplace(prof, Profiler::Kind::guard, span_guard, std::int64_t(pos.step));
      const std::vector<GuardEvent> events =
          guards.empty() ? std::vector<GuardEvent>() : guards.check(exec, pos.step, &rows);
      guard_span.reset();
      const GuardAction action = most_severe(events);
      if (guard_report) guard_report->add(events);
      if (tty)
        for (const auto& e : events)
          if (event_lines++ < kEventLines)
            std::fprintf(stderr, "\r%80s\rstep %llu: guard '%s' (%s) fired: score %.4g, threshold %.4g; %s\n",
                         "", static_cast<unsigned long long>(pos.step), printable(e.node).c_str(),
                         e.check.c_str(), e.score, e.threshold, e.action.c_str());
      if (action == GuardAction::abort) {
        finish_facts("aborted", std::chrono::duration<double>(Clock::now() - start).count(), exec);
        if (!options.quiet) guard_report->print_summary(stdout), std::fflush(stdout);
        const auto& e = *std::find_if(events.begin(), events.end(),
                                      [](const GuardEvent& ev) { return ev.act == GuardAction::abort; });
        throw guard_abort(plan, e,
                          ckpt.empty() ? "no checkpoint is configured"
                          : saved     ? "the checkpoint '" + ckpt.string() + "' (step " +
                                        std::to_string(saved_step) + ") is intact"
                                      : "this run wrote no checkpoint");
      }
      if (action == GuardAction::rollback) {
        restore(all_state, last_good);
        for (const auto& e : events)
          if (e.act == GuardAction::rollback) lr_scale *= e.lr_factor;
      } else if (action == GuardAction::skip_step) {
        restore(forward_state, before_step);
      } else {
        {
          Profiler::Span update(prof, Profiler::Kind::optimizer, span_update, std::int64_t(pos.step));
          optimizer.apply(exec, lr * lr_scale, pos.step, grad_norm);
        }
        // Good means no guard fired at all: a step let through by a report
        // guard is suspect, so a later rollback goes back before it.
        if (may_roll_back && events.empty()) snapshot(all_state, last_good);
        loss_sum += loss;
        ++loss_batches;
      }
      ++pos.step;
      ++steps_this_run;
      pos.epoch = epoch;
      pos.batch = b + 1;
      done = pos.step >= std::uint64_t(total_steps);
      stop_signal = signals::GracefulStop::requested();
      if (!ckpt.empty() && def.checkpoint.every > 0 && pos.step % std::uint64_t(def.checkpoint.every) == 0)
        checkpoint();
      if (tty && (Clock::now() - last_redraw >= kRedrawEvery || done)) {
        last_redraw = Clock::now();
        const double secs = std::chrono::duration<double>(last_redraw - start).count();
        const double rate = double(steps_this_run) / std::max(secs, 1e-9);
        const std::size_t fired = guard_report ? guard_report->events() : 0;
        std::fprintf(stderr, "\rstep %llu/%lld  epoch %lld  loss %.4f  %.0f steps/s  ETA %s%s   ",
                     static_cast<unsigned long long>(pos.step), static_cast<long long>(total_steps),
                     static_cast<long long>(epoch + 1), loss, rate,
                     duration(double(std::uint64_t(total_steps) - pos.step) / std::max(rate, 1e-9)).c_str(),
                     fired ? ("  guard events " + std::to_string(fired)).c_str() : "");
      }
    }
    if (pos.batch >= batches_per_epoch) {  // the epoch is complete
      pos.epoch = epoch + 1;
      pos.batch = 0;
    }
    step_log.flush();
    if (stop_signal) break;  // no evaluation: the user asked to stop now
    summary.train_loss = loss_batches ? loss_sum / double(loss_batches) : NAN;
    std::optional<Profiler::Span> eval_span(std::in_place, prof, Profiler::Kind::eval, span_eval);
    const Evaluation eval = split.holdout.empty()
                                ? Evaluation{}
                                : evaluate(exec, plan, loss_slot, metric,
                                           batch_inputs(graph, holdout_data, split.holdout, def.data.loc));
    summary.holdout_loss = eval.loss;
    summary.holdout_metric = eval.metric;
    // The train split's metric, measured like the hold-out's (inference mode,
    // all rows at once), so the two are comparable.
    const double train_metric =
        metric == MetricKind::none
            ? NAN
            : evaluate(exec, plan, loss_slot, metric, batch_inputs(graph, data, split.train, def.data.loc))
                  .metric;
    eval_span.reset();
    std::optional<Profiler::Span> metrics_span(std::in_place, prof, Profiler::Kind::io, span_metrics);
    if (metrics_file.is_open())
      metrics_file.write_line(
          "{\"epoch\":" + std::to_string(epoch + 1) + ",\"step\":" + std::to_string(pos.step) +
          ",\"train_loss\":" + json_number(summary.train_loss) +
          ",\"holdout_loss\":" + json_number(eval.loss) +
          (summary.metric_name.empty()
               ? std::string()
               : ",\"train_" + summary.metric_name + "\":" + json_number(train_metric) + ",\"holdout_" +
                     summary.metric_name + "\":" + json_number(eval.metric)) +
          "}");
    metrics_span.reset();
    // At most twenty epoch lines, however many epochs the steps make.
    const std::int64_t epochs_total = std::max<std::int64_t>(
        1, (total_steps + batches_per_epoch - 1) / std::max<std::int64_t>(1, batches_per_epoch));
    const std::int64_t every = (epochs_total + 19) / 20;
    const bool report = epoch + 1 >= epochs_total || (epoch + 1) % every == 0;
    if (!options.quiet && (report || done)) {
      if (tty) std::fprintf(stderr, "\r%80s\r", "");
      // The batch loss is the training-mode mean over the epoch's batches
      // (dropout on, batch statistics); the accuracies and the hold-out loss
      // are measured afterwards in inference mode on whole splits.
      std::printf("epoch %lld: batch loss %.4f", static_cast<long long>(epoch + 1), summary.train_loss);
      if (metric == MetricKind::accuracy) std::printf("; train accuracy %.2f%%", 100 * train_metric);
      if (metric == MetricKind::r2) std::printf("; train R^2 %.4f", train_metric);
      if (!split.holdout.empty()) {
        std::printf("; hold-out loss %.4f", eval.loss);
        if (metric == MetricKind::accuracy) std::printf(" accuracy %.2f%%", 100 * eval.metric);
        if (metric == MetricKind::r2) std::printf(" R^2 %.4f", eval.metric);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
    if (!ckpt.empty() && def.checkpoint.every == 0) checkpoint();
  }
  // A signal during the last epoch's evaluation still counts as a stop.
  if (!stop_signal) stop_signal = signals::GracefulStop::requested();
  if (!ckpt.empty()) checkpoint();
  summary.steps = pos.step;
  if (stop_signal) {
    finish_facts("stopped", std::chrono::duration<double>(Clock::now() - start).count(), exec);
    if (tty) std::fprintf(stderr, "\r%80s\r", "");
    const std::string where = printable(ckpt.string(), 300);  // a path from the graph: shown escaped
    std::fprintf(stderr, "keel: stopped by %s at step %llu: %s\n", signal_name(stop_signal),
                 static_cast<unsigned long long>(pos.step),
                 ckpt.empty()
                     ? "no checkpoint is configured"
                     : ("checkpoint '" + where + "' written; continue with --resume " + where).c_str());
    summary.stopped_by_signal = stop_signal;
    return summary;
  }
  if (options.on_finish) options.on_finish(exec);

  // The hold-out rows and the graph's outputs on them, for inference checks.
  if (!split.holdout.empty()) {
    Profiler::Span io(prof, Profiler::Kind::io, span_outputs);
    const auto inputs = batch_inputs(graph, holdout_data, split.holdout, def.data.loc);
    make_folder(options.output_dir / "holdout");
    if (prepared.holdout_is_fraction())
      write_holdout_rows(options.output_dir / "holdout" / "rows.npy", split.holdout);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      write_npy(options.output_dir / "holdout" / (graph.def.inputs[i].name + ".npy"), inputs[i]);
    const auto outputs = exec.run(inputs, false);
    for (std::size_t i = 0; i < outputs.size(); ++i)
      write_npy(options.output_dir / (graph.def.outputs[i].text() + ".npy"), outputs[i]);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  finish_facts("completed", secs, exec);
  if (guard_report && !options.quiet) guard_report->print_summary(stdout);
  if (!options.quiet)
    std::printf("trained %llu steps in %.2f s (%.0f steps/s)\n",
                static_cast<unsigned long long>(steps_this_run), secs,
                double(steps_this_run) / std::max(secs, 1e-9));
  return summary;
}

}  // namespace keel
