// Training with several objectives (train.phases): each phase minimizes its
// loss over its own parameters with its own optimizer, in order on every
// batch; checked step for step against PyTorch (phases_reference.py), with
// resume, guards per phase, metrics per phase and the errors of the section.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

// `phases` is the text of the train.phases list; `extra` more nodes.
std::string graph(const std::string& phases, const std::string& extra = "") {
  return "keel: 1\n"
         "name: two-phases\n"
         "seed: 3\n"
         "inputs:\n"
         "  x: {dtype: f32, shape: [batch, 3]}\n"
         "  y: {dtype: f32, shape: [batch]}\n"
         "  y2: {dtype: f32, shape: [batch]}\n"
         "nodes:\n"
         "  - {name: a, op: linear, inputs: [x], attrs: {units: 4}}\n"
         "  - {name: bn, op: batchnorm, inputs: [a]}\n"
         "  - {name: act, op: tanh, inputs: [bn]}\n"
         "  - {name: b, op: linear, inputs: [act], attrs: {units: 1}}\n"
         "  - {name: pred, op: reshape, inputs: [b], attrs: {shape: [-1]}}\n"
         "  - {name: fit, op: mse, inputs: [pred, y]}\n"
         "  - {name: pull, op: mse, inputs: [pred, y2]}\n" +
         extra +
         "outputs: [pred]\n"
         "train:\n"
         "  data: {npy: {x: x.npy, y: y.npy, y2: y2.npy}, batch: 8, shuffle: false}\n"
         "  epochs: 2\n"
         "  checkpoint: {path: c.ckpt, every: 1}\n"
         "  phases:\n" +
         phases;
}

const std::string kPhases =
    "    - {name: head, loss: fit, params: [b], optimizer: {op: adam, lr: 0.05}}\n"
    "    - {name: body, loss: pull, params: [\"a*\", bn], optimizer: {op: sgd, lr: 0.1, momentum: 0.9}, "
    "repeat: "
    "2}\n";

ProcessResult python(const std::vector<std::string>& args) {
  return run_python(kSource + "/tests/training/phases_reference.py", args);
}

void prepare(const TempDir& dir, const std::string& text) {
  auto data = python({"data", dir.path().string()});
  INFO(data.out << data.err);
  REQUIRE(data.exit_code == 0);
  dir.write("g.yaml", text);
}

ProcessResult keel_run(const TempDir& dir, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run", (dir / "g.yaml").string(), "-q", "-o", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_keel(args);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("two phases train their own parameters with their own optimizers step for step as PyTorch does") {
  TempDir dir;
  prepare(dir, graph(kPhases));
  REQUIRE(keel_run(dir, dir / "start", {"--set", "train.steps=0"}).exit_code == 0);
  std::vector<std::string> check{"check", dir.path().string(), (dir / "start/c.ckpt").string()};
  for (int k : {1, 2, 6}) {
    const fs::path out = dir / std::to_string(k);
    auto r = keel_run(dir, out, {"--set", "train.steps=" + std::to_string(k)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    check.push_back(std::to_string(k) + "=" + (out / "c.ckpt").string());
  }
  auto ref = python(check);
  INFO(ref.out << ref.err);
  CHECK(ref.exit_code == 0);

  // Each epoch's metrics line has every phase's losses.
  std::istringstream lines(read(dir / "6/metrics.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    CHECK(line.find("\"phases\":{\"head\":{\"train_loss\":") != std::string::npos);
    CHECK(line.find(",\"body\":{\"train_loss\":") != std::string::npos);
  }
  CHECK(n == 2);
}

TEST_CASE("a run with phases resumed from a checkpoint ends byte-identical to an uninterrupted run") {
  TempDir dir;
  prepare(dir, graph(kPhases));
  REQUIRE(keel_run(dir, dir / "straight", {"--set", "train.steps=5"}).exit_code == 0);
  REQUIRE(keel_run(dir, dir / "first", {"--set", "train.steps=2"}).exit_code == 0);
  auto r =
      keel_run(dir, dir / "rest", {"--set", "train.steps=5", "--resume", (dir / "first/c.ckpt").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string a = read(dir / "straight/c.ckpt"), b = read(dir / "rest/c.ckpt");
  REQUIRE(!a.empty());
  CHECK(a == b);
  // Both optimizers' state is in the checkpoint.
  CHECK(a.find("optim.b.weight.exp_avg_sq") != std::string::npos);
  CHECK(a.find("optim.a.weight.momentum_buffer") != std::string::npos);
}

TEST_CASE("a guard on one phase's loss acts in that phase only") {
  TempDir dir;
  // The head's loss guard skips every step (a ceiling below any loss); the
  // body's parameters still train, the head's never move.
  const std::string guard =
      "  - {name: head_guard, op: anomaly_check, inputs: [fit], attrs: {check: range, bounds: given, min: "
      "-1, "
      "max: 0, action: skip_step}}\n";
  prepare(dir, graph(kPhases, guard));
  REQUIRE(keel_run(dir, dir / "start", {"--set", "train.steps=0"}).exit_code == 0);
  auto r = keel_run(dir, dir / "out", {"--set", "train.steps=3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto ref = python({"frozen", (dir / "start/c.ckpt").string(), (dir / "out/c.ckpt").string()});
  INFO(ref.out << ref.err);
  CHECK(ref.exit_code == 0);
  // Three events, all the head guard's.
  std::istringstream events(read(dir / "out/anomalies.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(events, line)) {
    ++n;
    CHECK(line.find("\"node\":\"head_guard\"") != std::string::npos);
  }
  CHECK(n == 3);
}

TEST_CASE("a rollback in one phase slows every phase") {
  TempDir dir;
  // The body's guard fires on every step (its loss is never in [-1, 0]) and
  // rolls the whole step back: the head's learning rate, first in
  // steps.csv, halves each step though no head guard fired.
  const std::string guard =
      "  - {name: body_guard, op: anomaly_check, inputs: [pull], attrs: {check: range, bounds: given, min: "
      "-1, "
      "max: 0, action: rollback, lr_factor: 0.5}}\n";
  prepare(dir, graph(kPhases, guard));
  auto r = keel_run(dir, dir / "out", {"--set", "train.steps=3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream steps(read(dir / "out/steps.csv"));
  std::string line;
  std::getline(steps, line);  // header: step,loss,lr,grad_norm
  std::vector<double> lrs;
  while (std::getline(steps, line)) {
    std::istringstream fields(line);
    std::string step, loss, lr;
    std::getline(fields, step, ',');
    std::getline(fields, loss, ',');
    std::getline(fields, lr, ',');
    lrs.push_back(std::stod(lr));
  }
  REQUIRE(lrs.size() == 3);
  CHECK(lrs[0] == Approx(0.05));
  CHECK(lrs[1] == Approx(0.025));
  CHECK(lrs[2] == Approx(0.0125));
}

TEST_CASE("errors in train.phases name the line and column") {
  TempDir dir;
  struct Case {
    std::string phases, message;
  };
  const std::vector<Case> cases = {
      {"    - {name: head, loss: fit, params: [c*], optimizer: {op: adam}}\n",
       "g.yaml:22:40: phase 'head': params: 'c*' selects no trainable parameter"},
      {"    - {name: head, loss: fit, params: [b]}\n    - {name: body, loss: pull, params: [b.bias]}\n",
       "g.yaml:23:41: phase 'body': params: 'b.bias' selects 'b.bias', which phase 'head' already trains"},
      {"    - {name: head, loss: fit, params: [b]}\n    - {name: head, loss: pull, params: [a]}\n",
       "g.yaml:23:14: two phases are named 'head'"},
      {"    - {name: head, loss: nope, params: [b]}\n", "g.yaml:22:26: unresolved loss 'nope'"},
      {"    - {name: head, loss: fit, params: [b], repeat: 0}\n",
       "g.yaml:22:52: 'repeat' must be an integer of at least 1"},
      {"    - {name: head, loss: fit}\n", "g.yaml:22:7: phase 'head' needs 'params:'"},
      {"    - {name: head, loss: fit, params: [b], lr: 0.1}\n", "g.yaml:22:44: unknown key 'lr' in a phase"},
  };
  for (const Case& c : cases) {
    prepare(dir, graph(c.phases));
    auto r = run_keel({"validate", (dir / "g.yaml").string()});
    INFO(c.phases << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(count(r.err, "keel: error:") == 1);
  }
  // loss: and phases: together; optimizer: beside phases:.
  prepare(dir, graph(kPhases) + "  loss: fit\n");
  auto both = run_keel({"validate", (dir / "g.yaml").string()});
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("give either 'loss:' or 'phases:'") != std::string::npos);
  prepare(dir, graph(kPhases) + "  optimizer: {op: sgd}\n");
  auto shared = run_keel({"validate", (dir / "g.yaml").string()});
  CHECK(shared.exit_code == 2);
  CHECK(shared.err.find("with 'phases:', each phase has its own 'optimizer:'") != std::string::npos);
}

TEST_CASE("set reaches a phase by its name") {
  TempDir dir;
  prepare(dir, graph(kPhases));
  const std::string g = (dir / "g.yaml").string();
  // A setting checked like the file's key, and one that changes the run:
  // a head learning rate of 0 leaves b.* where they started.
  CHECK(run_keel({"validate", g, "--set", "train.phases.body.repeat=3"}).exit_code == 0);
  REQUIRE(keel_run(dir, dir / "start", {"--set", "train.steps=0"}).exit_code == 0);
  auto r = keel_run(dir, dir / "out",
                    {"--set", "train.steps=3", "--set", "train.phases.head.optimizer.lr=0", "--set",
                     "train.phases.head.optimizer.schedule.kind=cosine"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto ref = python({"frozen", (dir / "start/c.ckpt").string(), (dir / "out/c.ckpt").string()});
  INFO(ref.out << ref.err);
  CHECK(ref.exit_code == 0);
  struct Case {
    std::string setting, message;
  };
  for (const Case& c : std::vector<Case>{
           {"train.phases.haed.repeat=2", "no phase named 'haed' (did you mean 'head'?)"},
           {"train.phases.head.repeat=0", "'repeat' must be an integer of at least 1"},
           {"train.phases.head.optimizer.lrr=1", "unknown attribute"},
           {"train.phases.head.speed=1", "unknown key 'speed' in a phase"},
       }) {
    auto bad = run_keel({"validate", g, "--set", c.setting});
    INFO(c.setting << ": " << bad.err);
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find(c.message) != std::string::npos);
  }
}
