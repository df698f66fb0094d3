// Fault injection on the real digits data. Training: 1 batch in 20 (5%)
// poisoned with NaN or x1e6 by the test-only poison plugin; with the loss
// and gradient guards acting the run ends with finite parameters and
// hold-out accuracy within 1 point of the clean run, while the same run
// with the guards only reporting ends with NaN parameters or ruined
// accuracy. Screening: digits_screen.yaml flags corrupted images (noise,
// out-of-range pixels, inverted) and lets genuine hold-out images through.
// Abort: exit 3 with the last checkpoint before the poison intact.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "cli_util.hpp"
#include "report_util.hpp"
#include "runtime/npy.hpp"
#include "training/metrics.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kPoisoned = kSource + "/tests/anomaly/graphs/poisoned_digits_train.yaml";

ProcessResult keel_run(const std::string& graph, const fs::path& out, std::vector<std::string> sets,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args{
      "run", graph, "-q", "-o", out.string(), "--plugin-path", KEEL_POISON_PLUGIN_DIR};
  for (auto& s : sets) args.insert(args.end(), {"--set", s});
  args.insert(args.end(), extra.begin(), extra.end());
  return run_keel(args);
}

bool finite_checkpoint(const fs::path& ckpt) {
  const ProcessResult r = run_process(
      {"/usr/bin/python3", kSource + "/tests/anomaly/anomaly_reference.py", "finite", ckpt.string()});
  UNSCOPED_INFO(r.out << r.err);
  REQUIRE(r.exit_code >= 0);
  REQUIRE(r.exit_code <= 1);
  return r.exit_code == 0;
}

// Hold-out accuracy of a finished run, from its outputs on the hold-out rows.
double holdout_accuracy(const fs::path& dir) {
  return accuracy(read_npy(dir / "head.npy"), read_npy(dir / "holdout/label.npy"));
}

const std::vector<std::string> kGuardsOff{"input_range.action=report", "loss_finite.action=report",
                                          "loss_spike.action=report", "grads.action=report"};

}  // namespace

TEST_CASE("5% poisoned batches: guarded training matches the clean run, unguarded training is ruined") {
  TempDir dir;
  auto clean = keel_run(kPoisoned, dir / "clean", {"poisoned.every=0"});
  INFO(clean.err);
  REQUIRE(clean.exit_code == 0);
  const double clean_acc = holdout_accuracy(dir / "clean");
  CHECK(clean_acc >= 0.95);
  // No guard fires on clean data.
  REQUIRE(fs::exists(dir / "clean/anomalies.jsonl"));
  CHECK(fs::file_size(dir / "clean/anomalies.jsonl") == 0);

  for (const std::string mode : {"nan", "scale"}) {
    INFO("poison " << mode << "; clean accuracy " << clean_acc);
    auto guarded = keel_run(kPoisoned, dir / ("guarded_" + mode), {"poisoned.mode=" + mode});
    INFO(guarded.err);
    REQUIRE(guarded.exit_code == 0);
    CHECK(finite_checkpoint(dir / ("guarded_" + mode) / "digits.ckpt"));
    const double guarded_acc = holdout_accuracy(dir / ("guarded_" + mode));
    INFO("guarded accuracy " << guarded_acc);
    CHECK(std::fabs(guarded_acc - clean_acc) <= 0.01);

    std::vector<std::string> off = kGuardsOff;
    off.push_back("poisoned.mode=" + mode);
    auto unguarded = keel_run(kPoisoned, dir / ("unguarded_" + mode), off);
    INFO(unguarded.err);
    REQUIRE(unguarded.exit_code == 0);
    const bool nan_params = !finite_checkpoint(dir / ("unguarded_" + mode) / "digits.ckpt");
    const double unguarded_acc = holdout_accuracy(dir / ("unguarded_" + mode));
    INFO("unguarded accuracy " << unguarded_acc << (nan_params ? ", NaN parameters" : ""));
    // Diverged: NaN parameters, or an accuracy far from the clean run's.
    const bool ruined = nan_params || unguarded_acc < clean_acc - 0.2;
    CHECK(ruined);
    if (mode == "nan") CHECK(nan_params);
  }
}

TEST_CASE("abort on digits exits 3 and the last checkpoint loads for inference") {
  TempDir dir;
  // 23 batches per epoch: the checkpoint after epoch 1 is step 23; the first
  // poisoned batch is step 25.
  auto r = keel_run(kPoisoned, dir.path(),
                    {"poisoned.every=40", "poisoned.offset=25", "input_range.action=abort"});
  CHECK(r.exit_code == 3);
  CHECK(r.first_err_line().find("guard 'input_range' (range) fired at step 25") != std::string::npos);
  CHECK(r.first_err_line().find("(step 23) is intact") != std::string::npos);
  REQUIRE(finite_checkpoint(dir / "digits.ckpt"));
  CHECK_FALSE(fs::exists(dir / "head.npy"));
  // Loadable: inference with it runs.
  Tensor pixels(DType::f32, {2, 64});
  write_npy(dir / "pixels.npy", pixels);
  auto infer = run_keel({"run", kSource + "/graphs/digits_infer.yaml", "-q", "-o", (dir / "infer").string(),
                         "--params", (dir / "digits.ckpt").string(), "--input",
                         "pixels=" + (dir / "pixels.npy").string()});
  INFO(infer.err);
  CHECK(infer.exit_code == 0);
}

TEST_CASE("screening flags corrupted images and passes genuine hold-out images") {
  TempDir dir;
  // Calibration only: the statistics come from the training rows.
  auto calib = keel_run(kSource + "/graphs/digits_guarded_train.yaml", dir / "train", {"train.steps=0"});
  INFO(calib.err);
  REQUIRE(calib.exit_code == 0);
  const Tensor genuine = read_npy(dir / "train/holdout/pixels.npy");
  const std::int64_t rows = genuine.shape()[0], cols = 64;
  REQUIRE(rows > 300);

  std::mt19937 rng(11);
  std::uniform_real_distribution<float> pixel(0.0f, 16.0f);
  std::uniform_int_distribution<int> column(0, 63);
  std::uniform_real_distribution<float> outside(17.0f, 255.0f);
  auto corrupt = [&](const std::string& kind) {
    Tensor t = genuine.clone();
    float* v = t.as<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      float* row = v + r * cols;
      if (kind == "noise")
        for (std::int64_t c = 0; c < cols; ++c) row[c] = pixel(rng);
      if (kind == "inverted")
        for (std::int64_t c = 0; c < cols; ++c) row[c] = 16.0f - row[c];
      if (kind == "out_of_range")  // three pixels a scanner cannot produce
        for (int k = 0; k < 3; ++k) row[column(rng)] = (k % 2 ? -1.0f : 1.0f) * outside(rng);
    }
    return t;
  };

  auto screen = [&](const std::string& name, const Tensor& pixels) {
    write_npy(dir / (name + ".npy"), pixels);
    auto r = keel_run(kSource + "/graphs/digits_screen.yaml", dir / name, {},
                      {"--params", (dir / "train/digits.ckpt").string(), "--input",
                       "pixels=" + (dir / (name + ".npy")).string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Tensor a = read_npy(dir / name / "input_range.mask.npy");
    const Tensor b = read_npy(dir / name / "input_z.mask.npy");
    const Tensor accepted = read_npy(dir / name / "accepted.npy");
    // The report lists, per guard, exactly the rows its mask flags.
    std::map<std::string, std::set<std::int64_t>> reported;
    for (const auto& e : read_report(dir / name / "anomalies.jsonl")) {
      CHECK(e.action == "mask");
      CHECK(e.step == 0);
      reported[e.node].insert(e.rows.begin(), e.rows.end());
    }
    std::int64_t flagged = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
      const bool f = a.as<float>()[i] != 0 || b.as<float>()[i] != 0;
      CHECK(reported["input_range"].count(i) == (a.as<float>()[i] != 0 ? 1u : 0u));
      CHECK(reported["input_z"].count(i) == (b.as<float>()[i] != 0 ? 1u : 0u));
      flagged += f;
      // Rejected rows are blanked downstream, accepted rows are probabilities.
      double sum = 0;
      for (int c = 0; c < 10; ++c) sum += accepted.as<float>()[i * 10 + c];
      if (f)
        CHECK(sum == -10.0);
      else
        CHECK(sum == Approx(1.0).epsilon(1e-4));
    }
    return double(flagged) / double(rows);
  };

  const double false_alarms = screen("genuine", genuine);
  INFO("genuine hold-out images flagged: " << false_alarms);
  CHECK(false_alarms <= 0.03);
  for (const std::string kind : {"noise", "out_of_range", "inverted"}) {
    const double caught = screen(kind, corrupt(kind));
    INFO(kind << " caught: " << caught);
    CHECK(caught >= 0.99);
  }
}
