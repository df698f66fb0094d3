// Training end to end through `keel run`: the brief's linear regression
// against NumPy, determinism, resume, and the flagship's accuracy.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "runtime/npy.hpp"
#include "training/metrics.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

// Trains graphs/GRAPH into `out` with `extra` arguments; the run must succeed.
void train(const std::string& graph, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run", kSource + "/graphs/" + graph, "-q", "-o", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const ProcessResult r = run_keel(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

ProcessResult reference(const std::vector<std::string>& args) {
  return run_python(kSource + "/tests/training/linreg_reference.py", args);
}

}  // namespace

TEST_CASE("linear regression follows NumPy's gradient descent step for step") {
  TempDir dir;
  train("linear_regression.yaml", dir / "a", {"--set", "train.steps=0"});
  train("linear_regression.yaml", dir / "b", {"--set", "train.steps=40"});
  auto check = reference({"steps", kSource + "/graphs/data", (dir / "a/linear_regression.ckpt").string(),
                          (dir / "b/linear_regression.ckpt").string(), "40"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("linear regression converges to the closed-form least-squares solution") {
  TempDir dir;
  train("linear_regression.yaml", dir.path());
  auto check = reference({"converged", kSource + "/graphs/data", (dir / "linear_regression.ckpt").string()});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("two runs with the same seed write byte-identical checkpoints") {
  TempDir dir;
  train("digits_train.yaml", dir / "a", {"--set", "train.steps=30"});
  train("digits_train.yaml", dir / "b", {"--set", "train.steps=30"});
  const std::string a = slurp(dir / "a/digits.ckpt"), b = slurp(dir / "b/digits.ckpt");
  REQUIRE(a.size() > 100000);
  CHECK(a == b);
  train("digits_train.yaml", dir / "c", {"--set", "train.steps=30", "--set", "seed=8"});
  CHECK(slurp(dir / "c/digits.ckpt") != a);
}

TEST_CASE("N steps, then resume and M more, equals N+M steps bit for bit") {
  TempDir dir;
  // 30 steps cross an epoch boundary (23 batches per epoch).
  train("digits_train.yaml", dir / "whole", {"--set", "train.steps=30"});
  train("digits_train.yaml", dir / "part", {"--set", "train.steps=17"});
  train("digits_train.yaml", dir / "resumed",
        {"--set", "train.steps=30", "--resume", (dir / "part/digits.ckpt").string()});
  CHECK(slurp(dir / "resumed/digits.ckpt") == slurp(dir / "whole/digits.ckpt"));
}

TEST_CASE("the flagship reaches 96% hold-out accuracy and inference reproduces it from the checkpoint") {
  TempDir dir;
  train("digits_train.yaml", dir.path());
  const Tensor labels = read_npy(dir / "holdout/label.npy");
  const double trained = accuracy(read_npy(dir / "head.npy"), labels);
  CHECK(trained >= 0.96);

  // --no-optimize: the graph as written, so the same computation in
  // inference mode on the same parameters (the optimized run folds the
  // batchnorms and differs in rounding: tests/onnx/optimize_test.cpp).
  auto infer = run_keel({"run", kSource + "/graphs/digits_infer.yaml", "-q", "-o", (dir / "infer").string(),
                         "--params", (dir / "digits.ckpt").string(), "--input",
                         "pixels=" + (dir / "holdout/pixels.npy").string(), "--no-optimize"});
  INFO(infer.err);
  REQUIRE(infer.exit_code == 0);
  CHECK(slurp(dir / "infer/head.npy") == slurp(dir / "head.npy"));
  CHECK(accuracy(read_npy(dir / "infer/head.npy"), labels) == trained);

  // Metrics are JSON lines, one per epoch, the last with the final accuracy.
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line, last;
  int lines = 0;
  while (std::getline(metrics, line)) last = line, ++lines;
  CHECK(lines == 20);
  CHECK(last.find("\"holdout_accuracy\":") != std::string::npos);
}

TEST_CASE("the convolutional example with the brief's residual block trains") {
  TempDir dir;
  train("digits_conv_train.yaml", dir.path(), {"--set", "train.epochs=3"});
  // Three epochs of Adam already separate the digits well; chance is 10%.
  CHECK(accuracy(read_npy(dir / "head.npy"), read_npy(dir / "holdout/label.npy")) >= 0.85);
}

TEST_CASE(
    "training prints at most twenty epoch lines, the last epoch's included, and says which loss is which") {
  TempDir dir;
  for (const std::string& setting : {std::string("train.epochs=39"), std::string("train.steps=57")}) {
    const auto r = run_keel({"run", kSource + "/graphs/linear_regression.yaml", "-o", (dir / "out").string(),
                             "--set", setting, "--set", "train.checkpoint.every=1000"});
    INFO(setting << "\n" << r.out << r.err);
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(r.out);
    int epoch_lines = 0;
    std::string last;
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("epoch ", 0) == 0) ++epoch_lines, last = line;
    CHECK(epoch_lines >= 10);
    CHECK(epoch_lines <= 20);
    const std::string final_epoch =
        setting == "train.epochs=39" ? "39" : "57";  // full batch: a step an epoch
    CHECK(last.rfind("epoch " + final_epoch + ": batch loss ", 0) == 0);
    CHECK(last.find("; train R^2 ") != std::string::npos);
  }
}
