// Training data end to end through `keel run`: a CSV with a header row and a
// byte order mark, columns named by the header, hold-out rows (a fraction,
// written to holdout/rows.npy, or a separate file) against NumPy, data
// errors found before anything is written, batches around batch statistics,
// and --set reaching the training keys.
#include <catch2/catch.hpp>
#include <sstream>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kSample = kSource + "/tests/data/csv/breast_cancer_sample.csv";  // 24 rows, BOM, header

// A logistic regression on the sample's five features; `data` is the
// train.data mapping's body, `extra_nodes` sits between the features and the head.
std::string graph(const std::string& data, const std::string& extra_nodes = "",
                  const std::string& head_input = "x", const std::string& extra_train = "") {
  return "keel: 1\n"
         "seed: 3\n"
         "inputs:\n"
         "  x: {dtype: f32, shape: [batch, 5]}\n"
         "  y: {dtype: i32, shape: [batch]}\n"
         "nodes:\n" +
         extra_nodes + "  - {name: head, op: linear, inputs: [" + head_input +
         "], attrs: {units: 2}}\n"
         "  - {name: loss, op: softmax_cross_entropy, inputs: [head, y]}\n"
         "outputs: [head]\n"
         "train:\n"
         "  loss: loss\n"
         "  data: {" +
         data +
         "}\n"
         "  epochs: 1\n"
         "  optimizer: {op: sgd, lr: 0.01}\n" +
         extra_train;
}

const std::string kNamedColumns = "columns: {x: \"mean radius:worst fractal dimension\", y: target}";

ProcessResult python(const std::vector<std::string>& args) {
  return run_python(kSource + "/tests/training/data_reference.py", args);
}

// The step count of the last metrics line.
long last_step(const fs::path& metrics) {
  const std::string text = slurp(metrics);
  const auto at = text.rfind("\"step\":");
  return at == std::string::npos ? -1 : std::stol(text.substr(at + 7));
}

bool empty_or_missing(const fs::path& dir) { return !fs::exists(dir) || fs::is_empty(dir); }

}  // namespace

TEST_CASE("a header row with a byte order mark names the columns, hold-out rows match NumPy's reading") {
  TempDir dir;
  // The standardize node is calibrated on the training rows, so its mean
  // shows which rows trained.
  const auto g =
      dir.write("g.yaml", graph("csv: [\"" + kSample + "\"], " + kNamedColumns + ", batch: 8, holdout: 0.25",
                                "  - {name: scaled, op: standardize, inputs: [x]}\n", "scaled",
                                "  calibrate: [scaled]\n  checkpoint: {path: c.ckpt}\n"));
  const auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "out").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // 24 rows, 0.25 held out: 6; the 18 training rows make 3 batches of 8, 8, 2.
  CHECK(last_step(dir / "out/metrics.jsonl") == 3);
  const auto check =
      python({"holdout", kSample, (dir / "out").string(), "0.25", (dir / "out/c.ckpt").string()});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("a separate hold-out file is read with the training data's columns") {
  TempDir dir;
  std::string sample = slurp(kSample);
  // The hold-out file: the header and the last five rows, without the byte order mark.
  std::vector<std::string> lines;
  for (std::istringstream in(sample.substr(3)); std::getline(in, lines.emplace_back());) {
  }
  lines.pop_back();
  std::string held = lines[0] + "\n";
  for (std::size_t i = lines.size() - 5; i < lines.size(); ++i) held += lines[i] + "\n";
  const auto held_file = dir.write("held.csv", held);
  const auto g = dir.write("g.yaml", graph("csv: [\"" + kSample + "\"], " + kNamedColumns +
                                           ", batch: 8, holdout: {csv: [held.csv]}"));
  const auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "out").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(last_step(dir / "out/metrics.jsonl") == 3);       // all 24 rows train: 8, 8, 8
  CHECK_FALSE(fs::exists(dir / "out/holdout/rows.npy"));  // rows of another file
  const auto check = python({"rows", held_file.string(), (dir / "out").string()});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("data errors are found when the data is loaded: exit 2 at FILE:LINE:COL, nothing written") {
  TempDir dir;
  struct Case {
    std::string csv, message;
  };
  const std::vector<Case> cases = {
      // A label outside the loss's classes (head has 2 units).
      {"a,b,c,d,e,target\n1,2,3,4,5,0\n1,2,3,4,5,1\n1,2,3,4,5,12\n",
       "bad.csv:4:11: '12' is a label outside the loss's class range 0..1 (node 'loss')"},
      {"a,b,c,d,e,target\n1,2,3,4,5,-1\n",
       "bad.csv:2:11: '-1' is a label outside the loss's class range 0..1"},
      {"a,b,c,d,e,target\n1,2,3,4,5,0.5\n", "bad.csv:2:11: '0.5' is not an integer (input 'y' is i32)"},
      {"a,b,c,d,e,target\n1,2,3,4,5,0\n1,2,3,4,0\n",
       "bad.csv:3:10: expected 6 fields (as on line 1), found 5"},
  };
  for (const Case& c : cases) {
    INFO(c.csv);
    dir.write("bad.csv", c.csv);
    const auto g = dir.write("g.yaml", graph("csv: [bad.csv], columns: {x: \"0:5\", y: 5}, batch: 2"));
    const fs::path out = dir / "out";
    const auto r = run_keel({"run", g.string(), "-q", "-o", out.string()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.first_err_line(), StartsWith("keel: error: ") && Contains(c.message));
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
    CHECK(empty_or_missing(out));                 // no metrics.jsonl, no checkpoint
  }
}

TEST_CASE("a column name that is not in the header is an error at the graph's columns: entry") {
  TempDir dir;
  const auto g = dir.write(
      "g.yaml",
      graph("csv: [\"" + kSample + "\"], columns: {x: \"mean radius:worst fractal dimension\", y: targte}"));
  const auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "out").string()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.first_err_line(),
             Contains("g.yaml:12:") &&
                 Contains("no column named 'targte' in the header row (did you mean 'target'?)"));
  CHECK(empty_or_missing(dir / "out"));
}

TEST_CASE("a last batch of one row is dropped when the graph normalizes with batch statistics") {
  TempDir dir;
  const std::string bn =
      "  - {name: fc, op: linear, inputs: [x], attrs: {units: 4}}\n"
      "  - {name: bn, op: batchnorm, inputs: [fc]}\n";
  const std::string data = "csv: [\"" + kSample + "\"], " + kNamedColumns;
  // 24 rows in batches of 23: a last batch of one row.
  const auto g = dir.write("bn.yaml", graph(data + ", batch: 23", bn, "bn"));
  auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "a").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(last_step(dir / "a/metrics.jsonl") == 1);
  // Without batch statistics, every row is trained on; drop_last decides otherwise.
  const auto plain = dir.write("plain.yaml", graph(data + ", batch: 23"));
  r = run_keel({"run", plain.string(), "-q", "-o", (dir / "b").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(last_step(dir / "b/metrics.jsonl") == 2);
  r = run_keel({"run", plain.string(), "-q", "-o", (dir / "c").string(), "--set", "train.data.batch=5",
                "--set", "train.data.drop_last=true"});
  REQUIRE(r.exit_code == 0);
  CHECK(last_step(dir / "c/metrics.jsonl") == 4);  // 24 rows: 4 batches of 5, 4 rows dropped
  // A training split smaller than one batch that is dropped trains nothing: an error, not a silent no-op.
  r = run_keel({"run", plain.string(), "-q", "-o", (dir / "d").string(), "--set", "train.data.batch=30",
                "--set", "train.data.drop_last=true"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.first_err_line(), Contains("the training split has 24 rows, less than one batch of 30"));
  CHECK(empty_or_missing(dir / "d"));
}

TEST_CASE("every training key can be set from the command line, with the file's checks") {
  TempDir dir;
  const auto g = dir.write("g.yaml", graph("csv: [\"" + kSample + "\"], " + kNamedColumns));
  auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "a").string(), "--set", "train.epochs=3", "--set",
                     "train.data.batch=6", "--set", "train.optimizer.lr=0.2", "--set",
                     "train.optimizer.schedule.kind=cosine", "--set", "train.optimizer.momentum=0.9", "--set",
                     "train.data.holdout=0.25"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // 18 training rows in batches of 6 for 3 epochs.
  CHECK(last_step(dir / "a/metrics.jsonl") == 9);
  const std::string metrics = slurp(dir / "a/metrics.jsonl");
  CHECK(std::count(metrics.begin(), metrics.end(), '\n') == 3);  // one line per epoch
  CHECK(fs::exists(dir / "a/holdout/rows.npy"));

  struct Bad {
    std::string set, message;
  };
  const std::vector<Bad> bad = {
      {"train.epochs=-1", "--set train.epochs=-1: 'epochs' must be an integer of at least 1"},
      {"train.bogus=1", "--set train.bogus=1: unknown key 'bogus' in train"},
      {"train.data.bacth=4",
       "--set train.data.bacth=4: unknown key 'bacth' in train.data (did you mean 'batch'?)"},
      {"train.optimizer.lr=fast", "--set train.optimizer.lr=fast: 'lr' must be a number in [0, inf)"},
      {"train.optimizer.schedule.kind=cosin",
       "--set train.optimizer.schedule.kind=cosin: schedule kind 'cosin' is not one of: constant, step, "
       "cosine"},
      {"train.data.holdout=1.5", "--set train.data.holdout=1.5: 'holdout' must be a number in [0, 1)"},
      {"train.data.drop_last=maybe", "'drop_last' must be true or false"},
  };
  for (const Bad& b : bad) {
    INFO(b.set);
    r = run_keel({"validate", g.string(), "--set", b.set});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.first_err_line(), StartsWith("keel: error: ") && Contains(b.message));
  }
}

TEST_CASE("labels in .npy files are checked against the loss's classes when loaded, naming file and row") {
  TempDir dir;
  // Written by NumPy, so the files are what a user brings.
  const auto made = run_process({"/usr/bin/python3", "-c",
                                 "import numpy as np, sys\n"
                                 "np.save(sys.argv[1] + '/x.npy', np.ones((4, 5), np.float32))\n"
                                 "np.save(sys.argv[1] + '/y.npy', np.array([0, 1, 2, 1], np.int32))\n",
                                 dir.path().string()});
  REQUIRE(made.exit_code == 0);
  const auto g = dir.write("g.yaml", graph("npy: {x: x.npy, y: y.npy}, batch: 2"));
  const auto r = run_keel({"run", g.string(), "-q", "-o", (dir / "out").string()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.first_err_line(),
             Contains("y.npy: row 2: label 2 is outside the loss's class range 0..1 (node 'loss')"));
  CHECK(empty_or_missing(dir / "out"));
}

TEST_CASE(
    "one-row batches with batchnorm and a hold-out fraction of no row are refused when the data is loaded") {
  TempDir dir;
  std::string csv;
  for (int r = 0; r < 5; ++r)
    csv += std::to_string(r) + "," + std::to_string(r % 2) + ",1,2," + std::to_string(r % 2) + "\n";
  dir.write("d.csv", csv);
  const auto graph = [&](const std::string& data) {
    return dir.write("bn.yaml",
                     "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n"
                     "  y: {dtype: i32, shape: [batch]}\nnodes:\n"
                     "  - {name: bn, op: batchnorm, inputs: [x]}\n"
                     "  - {name: fc, op: linear, inputs: [bn], attrs: {units: 2}}\n"
                     "  - {name: loss, op: softmax_cross_entropy, inputs: [fc, y]}\n"
                     "outputs: [fc]\ntrain:\n  loss: loss\n"
                     "  data: {csv: [d.csv], columns: {x: \"0:4\", y: 4}, " +
                         data +
                         "}\n"
                         "  optimizer: {op: sgd, lr: 0.1}\n");
  };
  for (const auto& [data, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"batch: 1", "a training batch would hold a single row"},
           {"batch: 2, drop_last: false", "a training batch would hold a single row"},
           {"batch: 2, holdout: 0.01", "holdout 0.01 of 5 rows rounds to no row"}}) {
    INFO(data);
    const auto r = run_keel({"run", graph(data).string(), "-q", "-o", (dir / "out").string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line().find("bn.yaml:12:") != std::string::npos);
    CHECK(r.first_err_line().find(fragment) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  // The default drops the one-row last batch: it trains.
  CHECK(run_keel({"run", graph("batch: 2").string(), "-q", "-o", (dir / "ok").string()}).exit_code == 0);
}
