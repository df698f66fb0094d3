// Guards through `keel run`: each action's effect on training checked
// against an independent NumPy replay of gradient descent, calibration
// against NumPy statistics, the example graphs with their JSON-lines
// reports parsed by Python's json, and the usage errors.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "report_util.hpp"
#include "runtime/npy.hpp"
#include "runtime/safetensors.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kTests = kSource + "/tests/anomaly";

ProcessResult keel_run(const std::string& graph, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{
      "run", graph, "-q", "-o", out.string(), "--plugin-path", KEEL_POISON_PLUGIN_DIR};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_keel(args);
}

ProcessResult python(const std::vector<std::string>& args) { return anomaly_reference(args); }

std::string lrs(std::initializer_list<std::pair<int, double>> runs) {
  std::string s;
  for (auto [n, lr] : runs)
    for (int i = 0; i < n; ++i) s += (s.empty() ? "" : ",") + std::to_string(lr);
  return s;
}

// poisoned_linreg.yaml: 20 full-batch steps, the poison on steps 7 and 17.
struct Linreg {
  TempDir dir;
  std::string graph = kTests + "/graphs/poisoned_linreg.yaml";
  ProcessResult start = keel_run(graph, dir / "start", {"--set", "train.steps=0"});

  ProcessResult train(const std::string& name, std::vector<std::string> sets) {
    std::vector<std::string> extra{"--set", "poisoned.every=10"};
    for (auto& s : sets) extra.insert(extra.end(), {"--set", s});
    return keel_run(graph, dir / name, extra);
  }
  int replay(const std::string& name, const std::string& lr_list) {
    const ProcessResult r = python({"linreg", kSource + "/graphs/data", (dir / "start/linreg.ckpt").string(),
                                    (dir / name / "linreg.ckpt").string(), lr_list});
    UNSCOPED_INFO(r.out << r.err);
    return r.exit_code;
  }
};

}  // namespace

TEST_CASE("skip_step drops exactly the poisoned updates, as a replay without them") {
  Linreg l;
  REQUIRE(l.start.exit_code == 0);
  for (const auto& [mode, check] : {std::pair<std::string, std::string>{"nan", "nonfinite"},
                                    {"scale", "loss_spike"},
                                    {"scale", "grad_norm"}}) {
    INFO(mode << " caught by " << check);
    std::vector<std::string> sets{"poisoned.mode=" + mode, "guard.check=" + check, "guard.action=skip_step"};
    if (check == "grad_norm") sets.push_back("guard.max=1.0e6");
    auto r = l.train(check, sets);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(l.replay(check, lrs({{18, 0.05}})) == 0);
    const auto events = read_report(l.dir / check / "anomalies.jsonl");
    std::vector<std::uint64_t> guard_steps, watch_steps;
    for (const auto& e : events) (e.node == "guard" ? guard_steps : watch_steps).push_back(e.step);
    CHECK(guard_steps == std::vector<std::uint64_t>{7, 17});
    CHECK(watch_steps == std::vector<std::uint64_t>{7, 17});
    for (const auto& e : events) {
      if (e.node != "guard") continue;
      CHECK(e.check == check);
      CHECK(e.action == "skip_step");
      CHECK(e.rows.empty());  // the loss has no rows
      if (check == "grad_norm") {
        // x1e6 inputs: the weight's gradient dwarfs the bias's.
        CHECK(e.params == std::vector<std::string>{"fit.weight", "fit.bias"});
        CHECK(std::stod(e.score) > 1e6);
        CHECK(std::stod(e.threshold) == 1e6);
      }
    }
  }
}

TEST_CASE("without a guard acting, the same poison ruins the parameters") {
  Linreg l;
  REQUIRE(l.start.exit_code == 0);
  auto r = l.train("unguarded", {"poisoned.mode=nan"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(python({"finite", (l.dir / "unguarded/linreg.ckpt").string()}).exit_code == 1);
  // Reported all the same: watch saw the two poisoned batches; once the
  // parameters are NaN, every loss after step 7 is.
  std::vector<std::uint64_t> guard_steps, watch_steps, want;
  for (const auto& e : read_report(l.dir / "unguarded/anomalies.jsonl"))
    (e.node == "guard" ? guard_steps : watch_steps).push_back(e.step);
  for (std::uint64_t s = 7; s < 20; ++s) want.push_back(s);
  CHECK(watch_steps == std::vector<std::uint64_t>{7, 17});
  CHECK(guard_steps == want);
}

TEST_CASE("rollback restores the last good state and lowers the learning rate each time") {
  Linreg l;
  REQUIRE(l.start.exit_code == 0);
  auto r = l.train("rollback", {"poisoned.mode=nan", "guard.action=rollback", "guard.lr_factor=0.5"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::uint64_t> rollbacks;
  for (const auto& e : read_report(l.dir / "rollback/anomalies.jsonl"))
    if (e.node == "guard") rollbacks.push_back(e.step);
  CHECK(rollbacks == std::vector<std::uint64_t>{7, 17});
  // Steps 0-6 at 0.05; step 7 rolled back, then 8-16 at 0.025; step 17
  // rolled back, then 18-19 at 0.0125.
  CHECK(l.replay("rollback", lrs({{7, 0.05}, {9, 0.025}, {2, 0.0125}})) == 0);
  // Not the same as skipping: the learning rate changed.
  CHECK(l.replay("rollback", lrs({{18, 0.05}})) != 0);
}

TEST_CASE("rollback after a learning-rate spike goes back to before the spiked update") {
  Linreg l;
  REQUIRE(l.start.exit_code == 0);
  // No poison; step 10's learning rate is 1000x. That step looks clean (its
  // loss was computed before the update); step 11's loss shows the damage,
  // and rolling back to after step 10 cannot repair it, so step 12 fires
  // again and goes back to before step 10.
  auto r = keel_run(
      l.graph, l.dir / "spike",
      {"--set", "poisoned.every=0", "--set", "guard.check=loss_spike", "--set", "guard.action=rollback",
       "--set", "guard.lr_factor=0.5", "--set", "train.optimizer.schedule.spike_step=10", "--set",
       "train.optimizer.schedule.spike_factor=1000"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::uint64_t> rollbacks;
  for (const auto& e : read_report(l.dir / "spike/anomalies.jsonl"))
    if (e.node == "guard") rollbacks.push_back(e.step);
  CHECK(rollbacks == std::vector<std::uint64_t>{11, 12});
  // Steps 0-9 at 0.05, then steps 13-19 at 0.05 / 4: the spiked update is gone.
  CHECK(l.replay("spike", lrs({{10, 0.05}, {7, 0.0125}})) == 0);
}

TEST_CASE("abort exits 3 and leaves the last checkpoint from before the poison") {
  Linreg l;
  REQUIRE(l.start.exit_code == 0);
  auto r = l.train("abort", {"guard.action=abort"});
  CHECK(r.exit_code == 3);
  CHECK(r.first_err_line().find("keel: error: ") == 0);
  CHECK(r.first_err_line().find("guard 'guard' (nonfinite) fired at step 7") != std::string::npos);
  // One checkpoint per step (one batch per epoch): the last is from step 7,
  // before the poisoned batch, exactly 7 clean updates.
  CHECK(l.replay("abort", lrs({{7, 0.05}})) == 0);
  CHECK_FALSE(fs::exists(l.dir / "abort/pred.npy"));
  auto resumed = keel_run(l.graph, l.dir / "resumed", {"--resume", (l.dir / "abort/linreg.ckpt").string()});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(l.replay("resumed", lrs({{20, 0.05}})) == 0);
}

TEST_CASE("calibration stores the training rows' statistics in the guard's parameters") {
  TempDir dir;
  auto r = keel_run(kSource + "/graphs/digits_guarded_train.yaml", dir.path(), {"--set", "train.steps=0"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto check = python({"calibration", kSource + "/graphs/data/digits.csv",
                       (dir / "holdout/pixels.npy").string(), (dir / "digits.ckpt").string(), "input_z"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("the guarded training example runs and reports JSON lines") {
  TempDir dir;
  // Genuine images rarely pass the example's threshold (1.5); at 1.0 some
  // do, and are reported.
  auto r = run_keel({"run", kSource + "/graphs/digits_guarded_train.yaml", "-o", dir.path().string(), "--set",
                     "train.epochs=2", "--set", "input_z.threshold=1.0"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("guards: ") != std::string::npos);  // the summary
  const auto events = read_report(dir / "anomalies.jsonl");
  // Genuine data: the input guard reports outliers (rows of the data file),
  // nothing is poisoned, so no step is skipped.
  REQUIRE_FALSE(events.empty());
  for (const auto& e : events) {
    INFO(e.node << " " << e.check << " at step " << e.step);
    CHECK(e.node == "input_z");
    CHECK(e.action == "report");
    CHECK_FALSE(e.rows.empty());
    for (auto row : e.rows) CHECK(row < 1797);
    CHECK(std::stod(e.score) > 1.0);
    CHECK(std::stod(e.threshold) == 1.0);
  }
}

TEST_CASE("guards that act on training steps are refused in an inference graph") {
  TempDir dir;
  const fs::path g = dir.write("g.yaml", R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 3]}
nodes:
  - {name: g, op: anomaly_check, inputs: [x], attrs: {check: nonfinite, action: skip_step}}
  - {name: y, op: relu, inputs: [x]}
outputs: [y]
)");
  Tensor x(DType::f32, {2, 3});
  write_npy(dir / "x.npy", x);
  auto r =
      run_keel({"run", g.string(), "-o", (dir / "out").string(), "--input", "x=" + (dir / "x.npy").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("g.yaml:5:") != std::string::npos);
  CHECK(r.first_err_line().find("action skip_step acts on training steps") != std::string::npos);

  const fs::path h = dir.write("h.yaml", R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 3]}
nodes:
  - {name: g, op: anomaly_check, inputs: [x], attrs: {check: grad_norm, max: 1}}
  - {name: y, op: relu, inputs: [x]}
outputs: [y]
)");
  r = run_keel({"run", h.string(), "-o", (dir / "out").string(), "--input", "x=" + (dir / "x.npy").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("check grad_norm watches gradients") != std::string::npos);
  // Found without data too.
  r = run_keel({"validate", g.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("action skip_step acts on training steps") != std::string::npos);
}

TEST_CASE("an abort guard in inference exits 3 and writes no output") {
  TempDir dir;
  const fs::path g = dir.write("g.yaml", R"(keel: 1
inputs:
  a: {dtype: f32, shape: [batch, 2]}
  b: {dtype: f32, shape: [batch, 2]}
nodes:
  - {name: far, op: anomaly_distance, inputs: [a, b], attrs: {threshold: 1.0, action: abort}}
  - {name: y, op: relu, inputs: [a]}
outputs: [y]
)");
  Tensor a(DType::f32, {3, 2}), b(DType::f32, {3, 2});
  a.as<float>()[2] = 3.0f;  // row 1 is 3 away from b's
  write_npy(dir / "a.npy", a);
  write_npy(dir / "b.npy", b);
  auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "out").string(), "--input",
                     "a=" + (dir / "a.npy").string(), "--input", "b=" + (dir / "b.npy").string()});
  CHECK(r.exit_code == 3);
  CHECK(r.first_err_line().find("guard 'far' (distance)") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out/y.npy"));
  const auto events = read_report(dir / "out/anomalies.jsonl");
  REQUIRE(events.size() == 1);
  CHECK(events[0].rows == std::vector<std::int64_t>{1});
  CHECK(std::stod(events[0].score) == 3.0);
}
