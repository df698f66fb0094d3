// The engine trains with ops it knows only by their declared roles: an
// out-of-tree fixture plugin (fixtures/roles_fixture.cpp) provides an
// optimizer (rmsprop), a loss (huber) and a guard (loss_ceiling), and
// `keel run` trains a linear model with them, checked step for step against
// NumPy (roles_reference.py).
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kFixture = KEEL_ROLES_FIXTURE_DIR;
constexpr int kSteps = 6;  // two epochs of three batches

// The regression graph, with the guard's threshold and action.
std::string graph(const std::string& threshold, const std::string& action) {
  return "keel: 1\n"
         "name: roles-fixture\n"
         "seed: 5\n"
         "inputs:\n"
         "  x: {dtype: f32, shape: [batch, 3]}\n"
         "  y: {dtype: f32, shape: [batch]}\n"
         "nodes:\n"
         "  - {name: fit, op: linear, inputs: [x], attrs: {units: 1}}\n"
         "  - {name: pred, op: reshape, inputs: [fit], attrs: {shape: [-1]}}\n"
         "  - {name: loss, op: huber, inputs: [pred, y], attrs: {delta: 1.0}}\n"
         "  - {name: ceiling, op: loss_ceiling, inputs: [loss], attrs: {threshold: " +
         threshold + ", action: " + action +
         "}}\n"
         "outputs: [pred]\n"
         "train:\n"
         "  loss: loss\n"
         "  data: {npy: {x: x.npy, y: y.npy}, batch: 8, shuffle: false}\n"
         "  epochs: 2\n"
         "  optimizer: {op: rmsprop, lr: 0.01, alpha: 0.9, eps: 1.0e-8}\n"
         "  checkpoint: {path: c.ckpt, every: 1}\n";
}

ProcessResult python(const std::vector<std::string>& args) {
  return run_python(kSource + "/tests/training/roles_reference.py", args);
}

// A folder with the data and the graph.
void prepare(const TempDir& dir, const std::string& threshold, const std::string& action) {
  auto data = python({"data", dir.path().string()});
  INFO(data.out << data.err);
  REQUIRE(data.exit_code == 0);
  dir.write("g.yaml", graph(threshold, action));
}

ProcessResult keel_run(const TempDir& dir, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run",        (dir / "g.yaml").string(), "-q",    "-o",
                                out.string(), "--plugin-path",           kFixture};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_keel(args);
}

std::string steps(int k) { return "train.steps=" + std::to_string(k); }

}  // namespace

TEST_CASE("a fixture plugin's rmsprop and huber train a model step for step as NumPy does") {
  TempDir dir;
  prepare(dir, "1.0e9", "skip_step");
  std::vector<std::string> check{"check", dir.path().string(), "inf", (dir / "0/c.ckpt").string()};
  // One run per step count: each run's checkpoint is the state after k steps.
  for (int k = 0; k <= kSteps; ++k) {
    auto r = keel_run(dir, dir / std::to_string(k), {"--set", steps(k)});
    INFO("steps " << k << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    if (k > 0) check.push_back(std::to_string(k) + "=" + (dir / std::to_string(k) / "c.ckpt").string());
  }
  // The losses the run recorded, read by a guard too, are the batches' losses.
  check.push_back("steps=" + (dir / std::to_string(kSteps) / "steps.csv").string());
  auto ref = python(check);
  INFO(ref.out << ref.err);
  CHECK(ref.exit_code == 0);

  // Huber declares no metric: the epoch's metrics have a loss and no R^2.
  std::ifstream metrics(dir / std::to_string(kSteps) / "metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    ++lines;
    CHECK(line.find("train_loss") != std::string::npos);
    CHECK(line.find("r2") == std::string::npos);
    CHECK(line.find("accuracy") == std::string::npos);
  }
  CHECK(lines == 2);
}

TEST_CASE("a fixture guard with action skip_step leaves the steps it flags without trace") {
  TempDir dir;
  prepare(dir, "5.0", "skip_step");
  REQUIRE(keel_run(dir, dir / "start", {"--set", steps(0)}).exit_code == 0);
  auto r = keel_run(dir, dir / "out");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The reference skips the steps whose loss exceeds 5 (the second batch of
  // each epoch) and expects anomalies.jsonl to name exactly those.
  auto ref = python({"check", dir.path().string(), "5.0", (dir / "start/c.ckpt").string(),
                     std::to_string(kSteps) + "=" + (dir / "out/c.ckpt").string(),
                     "steps=" + (dir / "out/steps.csv").string()});
  INFO(ref.out << ref.err);
  CHECK(ref.exit_code == 0);
  CHECK(ref.out.find("fired at [1, 4]") != std::string::npos);
}

TEST_CASE("a fixture guard with action abort stops the run with exit 3 and the last good checkpoint") {
  TempDir dir;
  prepare(dir, "5.0", "abort");
  REQUIRE(keel_run(dir, dir / "start", {"--set", steps(0)}).exit_code == 0);
  auto r = keel_run(dir, dir / "out");
  CHECK(r.exit_code == 3);
  // One line, naming the guard node, its op and its plugin, at step 1.
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("guard 'ceiling'") != std::string::npos);
  CHECK(r.err.find("fired at step 1") != std::string::npos);
  CHECK(r.err.find("plugin 'roles_fixture'") != std::string::npos);
  // Step 0 was applied and checkpointed; step 1 was not.
  auto ref = python({"check", dir.path().string(), "inf", (dir / "start/c.ckpt").string(),
                     "1=" + (dir / "out/c.ckpt").string()});
  INFO(ref.out << ref.err);
  CHECK(ref.exit_code == 0);
}

TEST_CASE("optimizers are the ops that declare the role") {
  TempDir dir;
  prepare(dir, "1.0e9", "report");
  // The did-you-mean list comes from the declared role: it offers the
  // fixture's rmsprop, and huber (a loss) is no optimizer.
  auto typo = keel_run(dir, dir / "a", {"--set", "train.optimizer.op=rmsprob"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.first_err_line().find("unknown optimizer 'rmsprob' (did you mean 'rmsprop'?)") !=
        std::string::npos);
  auto loss = keel_run(dir, dir / "b", {"--set", "train.optimizer.op=huber"});
  CHECK(loss.exit_code == 2);
  CHECK(loss.first_err_line().find("unknown optimizer 'huber'") != std::string::npos);
  // A declared optimizer that breaks the contract: one line naming op and plugin.
  auto bad = keel_run(dir, dir / "c", {"--set", "train.optimizer.op=bad_optimizer"});
  CHECK(bad.exit_code == 2);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  CHECK(bad.err.find("breaks the optimizer contract") != std::string::npos);
  CHECK(bad.err.find("gradient") != std::string::npos);
  CHECK(bad.err.find("op 'bad_optimizer', plugin 'roles_fixture'") != std::string::npos);
  // An optimizer whose infer() breaks the counts keel/op.hpp promises.
  auto miscount = keel_run(dir, dir / "d", {"--set", "train.optimizer.op=miscounting_rmsprop"});
  CHECK(miscount.exit_code == 2);
  CHECK(std::count(miscount.err.begin(), miscount.err.end(), '\n') == 1);
  CHECK(miscount.err.find("the optimizer's infer() reported 2 outputs; its schema declares 1") !=
        std::string::npos);
  CHECK(miscount.err.find("op 'miscounting_rmsprop', plugin 'roles_fixture'") != std::string::npos);
}

TEST_CASE("the fixture's ops keep the SDK's op contract") {
  for (const char* op : {"rmsprop", "huber", "loss_ceiling"}) {
    auto r = run_keel({"check-op", op, "--plugin-path", kFixture});
    INFO(op << ": " << r.out << r.err);
    CHECK(r.exit_code == 0);
  }
}
