#include "training/run_record_observer.hpp"

#include "executor/executor.hpp"
#include "graph/dot.hpp"
#include "keel/schema.hpp"
#include "keel/version.hpp"

namespace keel {

namespace {

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
  // With several phases: their losses and optimizers listed, the first's
  // learning rate and clipping.
  for (const ValueRef* loss : def.losses()) f.loss += (f.loss.empty() ? "" : ", ") + loss->text();
  f.metric = metric;
  for (const OptimizerDef* o : def.optimizers()) f.optimizer += (f.optimizer.empty() ? "" : ", ") + o->op;
  f.lr = def.optimizers().front()->lr;
  f.clip_grad_norm = def.optimizers().front()->clip_grad_norm;
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

const char* status_name(RunStatus s) { return enum_name(s, {"completed", "stopped", "aborted"}); }

}  // namespace

RunRecordObserver::RunRecordObserver(const Plan& plan, const Registry& registry, const TrainDef& def,
                                     const TrainOptions& options, const RunInfo& info)
    : facts_(initial_facts(plan, registry, def, options, info.total_steps, info.batches_per_epoch,
                           metric_label(info.metric), info.first_step)),
      file_(options.output_dir / "run.json") {
  write_run_facts(file_, facts_);
  steps_ = StepLog(options.output_dir / "steps.csv", info.first_step > 0);
  guards_ = info.guards;
}

void RunRecordObserver::on_step(const StepInfo& s) { steps_.add(s.step, s.loss, s.lr, s.grad_norm); }

void RunRecordObserver::on_run_end(const RunEnd& end) {
  steps_.flush();
  facts_.status = status_name(end.status);
  facts_.steps = end.step;
  facts_.seconds = end.seconds;
  facts_.peak_bytes = end.executor ? end.executor->stats().peak_bytes : 0;
  facts_.guard_events = guards_ ? guards_->events() : 0;
  write_run_facts(file_, facts_);
}

}  // namespace keel
