// The Trainer in-process, without `keel`: an observer records what the run
// tells it, and the test checks the sequence against the schedule the
// train: section describes (12 rows in batches of 4 are 3 steps an epoch),
// a stop requested during a step, and a guard's abort.
#include "training/trainer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "cli_util.hpp"
#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "planner/plan.hpp"
#include "registry/loader.hpp"
#include "runtime/npy.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

// Every event as a line: "begin", "step 3 epoch 1", "epoch 1 step 6",
// "end completed 6", and phases as "(step" ... ")".
class Recorder final : public TrainObserver {
 public:
  std::vector<std::string> events;
  int open_phases = 0, max_depth = 0;
  std::function<void(const StepInfo&)> after_step;

  void on_run_begin(const RunInfo& i) override {
    events.push_back("begin " + std::to_string(i.total_steps) + " " + std::to_string(i.batches_per_epoch));
  }
  void on_step(const StepInfo& s) override {
    events.push_back("step " + std::to_string(s.step) + " epoch " + std::to_string(s.epoch) +
                     (s.action == GuardAction::report ? "" : " " + std::string(guard_action_name(s.action))));
    if (after_step) after_step(s);
  }
  void on_epoch(const EpochInfo& e) override {
    events.push_back("epoch " + std::to_string(e.epoch) + " step " + std::to_string(e.step) +
                     (e.last ? " last" : ""));
  }
  void on_run_end(const RunEnd& e) override {
    const char* status = e.status == RunStatus::completed ? "completed"
                         : e.status == RunStatus::stopped ? "stopped"
                                                          : "aborted";
    events.push_back(std::string("end ") + status + " " + std::to_string(e.step));
  }
  void on_phase_begin(Phase, std::int64_t) noexcept override {
    max_depth = std::max(max_depth, ++open_phases);
  }
  void on_phase_end(Phase) noexcept override { --open_phases; }
};

// y = 2 x0 - x1 + 0.5 on 12 rows; mse, sgd, 2 epochs of 3 batches; a
// loss_ceiling guard (the training fixture plugin) on the loss.
std::string graph_text(const std::string& guard_attrs) {
  return "keel: 1\n"
         "name: trainer-unit\n"
         "seed: 2\n"
         "inputs:\n"
         "  x: {dtype: f32, shape: [batch, 2]}\n"
         "  y: {dtype: f32, shape: [batch]}\n"
         "nodes:\n"
         "  - {name: fit, op: linear, inputs: [x], attrs: {units: 1}}\n"
         "  - {name: pred, op: reshape, inputs: [fit], attrs: {shape: [-1]}}\n"
         "  - {name: loss, op: mse, inputs: [pred, y]}\n"
         "  - {name: ceiling, op: loss_ceiling, inputs: [loss], attrs: {" +
         guard_attrs +
         "}}\n"
         "outputs: [pred]\n"
         "train:\n"
         "  loss: loss\n"
         "  data: {npy: {x: x.npy, y: y.npy}, batch: 4, shuffle: false}\n"
         "  epochs: 2\n"
         "  optimizer: {op: sgd, lr: 0.05}\n"
         "  checkpoint: {path: c.ckpt}\n";
}

struct Setup {
  TempDir dir;
  Registry registry;
  std::optional<ValidatedGraph> graph;
  std::optional<Plan> plan;
  TrainOptions options;

  explicit Setup(const std::string& guard_attrs) {
    load_plugins(registry, {fs::path(KEEL_BUILD_DIR) / "lib/keel/plugins", fs::path(KEEL_ROLES_FIXTURE_DIR)});
    Tensor x(DType::f32, {12, 2}), y(DType::f32, {12});
    for (int r = 0; r < 12; ++r) {
      x.as<float>()[2 * r] = float(r) / 6.0f - 1.0f;
      x.as<float>()[2 * r + 1] = float((r * 5) % 12) / 6.0f - 1.0f;
      y.as<float>()[r] = 2 * x.as<float>()[2 * r] - x.as<float>()[2 * r + 1] + 0.5f;
    }
    write_npy(dir / "x.npy", x);
    write_npy(dir / "y.npy", y);
    graph.emplace(
        validate_graph(parse_graph_text(graph_text(guard_attrs), (dir / "g.yaml").string()), registry));
    plan.emplace(*graph, registry);
    options.output_dir = dir / "out";
    options.quiet = true;
  }
  const TrainDef& def() const { return *graph->def.train; }
};

}  // namespace

TEST_CASE("the trainer tells its observers of every step and epoch, in order") {
  Setup s("threshold: 1.0e9");
  Trainer trainer(*s.plan, s.registry, s.def(), s.options);
  Recorder rec;
  trainer.add_observer(rec);
  const TrainSummary summary = trainer.run();
  CHECK(summary.steps == 6);
  CHECK_FALSE(summary.stopped);
  CHECK(rec.events == std::vector<std::string>{"begin 6 3", "step 0 epoch 0", "step 1 epoch 0",
                                               "step 2 epoch 0", "epoch 0 step 3", "step 3 epoch 1",
                                               "step 4 epoch 1", "step 5 epoch 1", "epoch 1 step 6 last",
                                               "end completed 6"});
  // Phases nest (a step holds its update) and all of them ended.
  CHECK(rec.open_phases == 0);
  CHECK(rec.max_depth == 2);
  // The trainer writes the checkpoint itself; the observers' files are not its job.
  CHECK(fs::exists(s.dir / "out/c.ckpt"));
  CHECK_FALSE(fs::exists(s.dir / "out/metrics.jsonl"));
  CHECK_FALSE(fs::exists(s.dir / "out/run.json"));
}

TEST_CASE("a stop requested during a step ends the run after that step, with a checkpoint") {
  Setup s("threshold: 1.0e9");
  Trainer trainer(*s.plan, s.registry, s.def(), s.options);
  Recorder rec;
  rec.after_step = [&](const StepInfo& step) {
    if (step.step == 1) trainer.request_stop();
  };
  trainer.add_observer(rec);
  const TrainSummary summary = trainer.run();
  CHECK(summary.stopped);
  CHECK(summary.stopped_by_signal == 0);
  CHECK(summary.steps == 2);
  // No evaluation after a stop: no epoch event.
  CHECK(rec.events ==
        std::vector<std::string>{"begin 6 3", "step 0 epoch 0", "step 1 epoch 0", "end stopped 2"});
  CHECK(fs::exists(s.dir / "out/c.ckpt"));
}

TEST_CASE("a guard's abort reaches the observers before the error ends the run") {
  // The mse of the first batch is far above 1e-9: the guard fires on step 0.
  Setup s("threshold: 1.0e-9, action: abort");
  Trainer trainer(*s.plan, s.registry, s.def(), s.options);
  Recorder rec;
  trainer.add_observer(rec);
  try {
    trainer.run();
    FAIL("the guard did not abort the run");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::anomaly);
    CHECK(e.format().find("guard 'ceiling'") != std::string::npos);
  }
  CHECK(rec.events == std::vector<std::string>{"begin 6 3", "step 0 epoch 0 abort", "end aborted 0"});
  CHECK(rec.open_phases == 0);
}
