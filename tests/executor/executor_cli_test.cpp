// `keel run` with the parallel scheduler, the memory plan and the profiler,
// end to end: results do not depend on the number of inter-op threads, the
// memory plan needs less than one buffer per tensor, the trace is a valid
// Chrome trace (read back by Python's json), and a failure is reported once.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cli_util.hpp"
#include "result_files.hpp"
#include "runtime/npy.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kFlagship = kSource + "/graphs/digits_train.yaml";

// Two branches from the same input that the parallel scheduler can run at
// once, joined, and trained: their gradients meet at `unit`.
std::string branchy_graph() {
  return R"(keel: 1
name: branches
seed: 3
inputs:
  pixels: {dtype: f32, shape: [batch, 64]}
  label:  {dtype: i64, shape: [batch]}
nodes:
  - {name: unit, op: scale, inputs: [pixels], attrs: {factor: 0.0625}}
  - {name: fa, op: linear, inputs: [unit], attrs: {units: 32}}
  - {name: fb, op: linear, inputs: [unit], attrs: {units: 32}}
  - {name: ra, op: relu, inputs: [fa]}
  - {name: rb, op: tanh, inputs: [fb]}
  - {name: join, op: add, inputs: [ra, rb]}
  - {name: skip, op: linear, inputs: [unit], attrs: {units: 32}}
  - {name: both, op: add, inputs: [join, skip]}
  - {name: head, op: linear, inputs: [both], attrs: {units: 10}}
  - {name: loss, op: softmax_cross_entropy, inputs: [head, label]}
outputs: [head]
train:
  loss: loss
  data: {csv: [)" +
         kSource +
         R"(/graphs/data/digits.csv], columns: {pixels: "0:64", label: 64}, batch: 50, shuffle: true, holdout: 0.2}
  epochs: 2
  optimizer: {op: sgd, lr: 0.05, momentum: 0.9}
  checkpoint: {path: b.ckpt}
)";
}

// Parameters, optimizer state, metrics and hold-out outputs of two runs
// that differ only in --inter-op (each op gets threads / inter-op OpenMP
// threads: the same in both).
void check_same_bytes(const std::string& graph, const std::vector<std::string>& extra) {
  TempDir dir;
  std::vector<std::string> one{"run",       graph, "-q",         "-o", (dir / "one").string(),
                               "--threads", "1",   "--inter-op", "1"};
  std::vector<std::string> two{"run",       graph, "-q",         "-o", (dir / "two").string(),
                               "--threads", "2",   "--inter-op", "2"};
  for (const auto& e : extra) {
    one.push_back(e);
    two.push_back(e);
  }
  auto a = run_keel(one);
  REQUIRE(a.exit_code == 0);
  auto b = run_keel(two);
  REQUIRE(b.exit_code == 0);
  const auto fa = files_under(dir / "one"), fb = files_under(dir / "two");
  REQUIRE(fa.size() >= 3);  // checkpoint, hold-out inputs, outputs
  check_same_files(fa, fb);
}

}  // namespace

TEST_CASE("training the flagship gives the same bytes with 1 and 2 inter-op threads") {
  check_same_bytes(kFlagship, {"--set", "train.epochs=2"});
}

TEST_CASE("training a graph with parallel branches gives the same bytes with 1 and 2 inter-op threads") {
  TempDir dir;
  check_same_bytes(dir.write("branches.yaml", branchy_graph()).string(), {});
}

TEST_CASE("keel run --stats reports a peak tensor memory below the naive sum on the training graphs") {
  TempDir dir;
  // (graphs/linear_regression.yaml is left out: in its four-node step the
  // backward pass reads every value, so nothing can share memory.)
  const std::vector<std::string> graphs{kFlagship, kSource + "/graphs/digits_conv_train.yaml",
                                        dir.write("branches.yaml", branchy_graph()).string()};
  const std::regex memory(
      R"(tensor memory: peak ([\d.]+) (KiB|MiB), naive sum of all tensors ([\d.]+) (KiB|MiB))");
  auto bytes = [](const std::string& n, const std::string& unit) {
    return std::stod(n) * (unit == "KiB" ? 1024 : 1048576);
  };
  for (const auto& g : graphs) {
    INFO(g);
    auto r = run_keel({"run", g, "-o", (dir / "out").string(), "--stats", "--set", "train.steps=3"});
    REQUIRE(r.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, memory));
    const double peak = bytes(m[1], m[2]), naive = bytes(m[3], m[4]);
    CHECK(peak > 0);
    CHECK(peak < naive);
    // One timing row per node, with forward calls (training and evaluation)
    // and backward calls (3 steps).
    CHECK(std::regex_search(r.out, std::regex(R"(\nloss +softmax_cross_entropy +\d+ +[\d.]+ +3 )")));
  }
}

TEST_CASE("keel run --profile writes a Chrome trace with a lane per thread and spans per node and step") {
  TempDir dir;
  const fs::path trace = dir / "trace.json";
  auto r = run_keel({"run", kFlagship, "-q", "-o", (dir / "out").string(), "--set", "train.steps=4",
                     "--inter-op", "2", "--threads", "2", "--profile", trace.string()});
  REQUIRE(r.exit_code == 0);
  // Python's json module reads it as Trace Event Format: complete events
  // ("X", with dur) or metadata ("M"), pid and tid on each, every node's
  // forward and backward, 4 steps, 4 optimizer updates, I/O.
  const fs::path check = dir.write("check.py", R"(
import json, sys, collections
doc = json.load(open(sys.argv[1]))
events = doc["traceEvents"]
assert isinstance(events, list) and events
for e in events:
    assert e["ph"] in ("X", "M"), e
    assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
    if e["ph"] == "X":
        assert e["dur"] >= 0 and e["ts"] >= 0, e
lanes = {e["tid"] for e in events if e["ph"] == "X"}
named = {e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
assert lanes <= named, (lanes, named)
by = collections.defaultdict(set)
count = collections.Counter()
for e in events:
    if e["ph"] == "X":
        by[e["cat"]].add(e["name"])
        count[e["cat"]] += 1
nodes = {"unit", "fc1", "bn1", "act1", "fc2", "bn2", "act2", "res", "head", "loss"}
assert nodes <= by["forward"], by["forward"]
assert nodes - {"unit"} <= by["backward"], by["backward"]
assert count["step"] == 4 and count["optimizer"] == 4, count
assert count["io"] >= 1 and count["eval"] >= 1, count
steps = sorted(e["args"]["step"] for e in events if e.get("cat") == "step")
assert steps == [0, 1, 2, 3], steps
print("ok")
)");
  auto py = run_process({"/usr/bin/python3", check.string(), trace.string()});
  INFO(py.err);
  CHECK(py.exit_code == 0);
  CHECK(py.out == "ok\n");
}

TEST_CASE("keel run --profile to a folder that does not exist is one error line before anything runs") {
  TempDir dir;
  auto r = run_keel({"run", kFlagship, "-q", "-o", (dir / "out").string(), "--set", "train.steps=1",
                     "--profile", (dir / "missing" / "trace.json").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().rfind("keel: error: --profile '", 0) == 0);
  CHECK(r.first_err_line().find("' does not exist") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out"));  // refused before training
  CHECK(r.err.find('\n') == r.err.size() - 1);
  CHECK_FALSE(fs::exists(dir / "missing"));
}

TEST_CASE("with several inter-op threads, failing nodes are reported once and stop the run") {
  TempDir dir;
  std::string g = "keel: 1\nname: faults\ninputs:\n  x: {dtype: f32, shape: [4]}\nnodes:\n";
  for (int i = 0; i < 40; ++i)
    g += "  - {name: f" + std::to_string(i) + ", op: fault, inputs: [x], attrs: {stage: forward}}\n";
  g += "  - {name: last, op: fault, inputs: [f0]}\noutputs: [last]\n";
  const auto graph = dir.write("faults.yaml", g);
  keel::Tensor x(keel::DType::f32, {4});
  keel::write_npy(dir / "x.npy", x);
  auto r = run_keel({"run", graph.string(), "-q", "--plugin-path", KEEL_FAULTY_PLUGIN_DIR, "-o",
                     (dir / "out").string(), "--inter-op", "2", "--threads", "2", "-i",
                     "x=" + (dir / "x.npy").string()});
  CHECK(r.exit_code == 1);
  CHECK(std::regex_search(r.err, std::regex(R"(^keel: error: .*node 'f\d+', op 'fault', plugin 'faulty')")));
  CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  CHECK_FALSE(fs::exists(dir / "out" / "last.npy"));
}

TEST_CASE("keel run --inter-op 0 is refused as bad usage") {
  auto r = run_keel({"run", kFlagship, "--inter-op", "0"});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().rfind("keel: error: ", 0) == 0);
}

TEST_CASE("a chain of in-place ops runs in one buffer and computes what a naive loop does") {
  // x -> scale(2) -> relu -> scale(-1) -> tanh. x is a graph input (never
  // overwritten: `e` reads it last); every later value ends at the next
  // node, which declares inplace, so all four share one [64, 256] block
  // (64 KiB) instead of four; e takes a second.
  TempDir dir;
  const fs::path g = dir.write("chain.yaml", R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 256]}
nodes:
  - {name: a, op: scale, inputs: [x], attrs: {factor: 2.0}}
  - {name: b, op: relu, inputs: [a]}
  - {name: c, op: scale, inputs: [b], attrs: {factor: -1.0}}
  - {name: d, op: tanh, inputs: [c]}
  - {name: e, op: scale, inputs: [x], attrs: {factor: 1.0}}
outputs: [d, e]
)");
  keel::Tensor x(keel::DType::f32, {64, 256});
  float* xs = x.as<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) xs[i] = float(i % 97) / 24.0f - 2.0f;
  keel::write_npy(dir / "x.npy", x);
  auto r = run_keel({"run", g.string(), "--stats", "-o", (dir / "out").string(), "--input",
                     "x=" + (dir / "x.npy").string()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("tensor memory: peak 128.0 KiB, naive sum of all tensors 320.0 KiB") != std::string::npos);
  const keel::Tensor d = keel::read_npy(dir / "out/d.npy"), e = keel::read_npy(dir / "out/e.npy");
  REQUIRE(d.numel() == x.numel());
  REQUIRE(e.numel() == x.numel());
  double worst = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i)
    worst = std::max(worst, std::abs(double(d.as<float>()[i]) - std::tanh(-std::max(2.0 * xs[i], 0.0))));
  CHECK(worst < 1e-6);
  // The chain left its input alone.
  CHECK(std::memcmp(e.data(), x.data(), x.nbytes()) == 0);
}
