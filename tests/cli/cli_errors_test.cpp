// Every way a user can get it wrong ends as one stderr line
// `keel: error: ...` and the documented exit code; nothing crashes or hangs.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "cli_util.hpp"
#include "error_checks.hpp"
#include "runtime/npy.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const char* kGraph = R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 4]}
  y: {dtype: f32, shape: [batch]}
nodes:
  - {name: r, op: relu, inputs: [x]}
  - {name: s, op: relu, inputs: [y]}
outputs: [r, s]
)";

// "# expect: LINE:COL: fragment" on a corpus file's first line.
struct Expectation {
  int line = 0, col = 0;
  std::string fragment;
};

Expectation read_expectation(const fs::path& file) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  std::smatch m;
  static const std::regex re(R"(^# expect: (\d+):(\d+): (.*)$)");
  if (!std::regex_match(first, m, re)) FAIL("no '# expect: LINE:COL: fragment' line in " << file);
  return {std::stoi(m[1]), std::stoi(m[2]), m[3]};
}

}  // namespace

TEST_CASE("keel validate reports every bad graph in the corpus at its line and column with exit 2") {
  const fs::path corpus = fs::path(KEEL_SOURCE_DIR) / "tests/data/bad_graphs";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.path().extension() != ".yaml") continue;
    const Expectation e = read_expectation(entry.path());
    auto r = run_keel({"validate", entry.path().string()});
    INFO(entry.path().filename() << "\nstderr: " << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 2);
    const std::string where =
        entry.path().string() + ":" + std::to_string(e.line) + ":" + std::to_string(e.col) + ": ";
    CHECK(r.first_err_line().rfind("keel: error: " + where, 0) == 0);
    CHECK(r.first_err_line().find(e.fragment) != std::string::npos);
    // One line: no stack trace, no cascade of follow-up errors.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    ++checked;
  }
  CHECK(checked >= 20);
}

TEST_CASE("static shape mismatches are reported by validate at the node") {
  TempDir dir;
  auto g = dir.write("g.yaml", R"(keel: 1
inputs:
  a: {dtype: f32, shape: [4, 3]}
  b: {dtype: f32, shape: [5, 2]}
nodes:
  - {name: p, op: matmul, inputs: [a, b]}
outputs: [p]
)");
  auto r = run_keel({"validate", g.string()});
  check_keel_error(r, 2, g.string() + ":6:5: ");
  CHECK(r.first_err_line().find("(node 'p', op 'matmul', plugin 'nn')") != std::string::npos);
}

TEST_CASE("run refuses missing, malformed and mismatched input data before computing anything") {
  TempDir dir;
  auto g = dir.write("g.yaml", kGraph);
  write_npy(dir / "x.npy", random_tensor({3, 4}, 1));
  write_npy(dir / "y3.npy", random_tensor({3}, 2));
  write_npy(dir / "y5.npy", random_tensor({5}, 2));
  write_npy(dir / "xi.npy", Tensor(DType::i32, {3, 4}));
  write_npy(dir / "x5.npy", random_tensor({3, 5}, 1));
  const std::string bytes = slurp(dir / "x.npy");
  dir.write("trunc.npy", bytes.substr(0, bytes.size() - 5));  // a truncated copy of a valid file
  const std::string out = (dir / "out").string();
  auto run = [&](std::vector<std::string> inputs) {
    std::vector<std::string> args{"run", g.string(), "-o", out};
    for (auto& i : inputs) args.insert(args.end(), {"--input", i});
    return run_keel(args);
  };
  const std::string x = "x=" + (dir / "x.npy").string(), y = "y=" + (dir / "y3.npy").string();

  check_keel_error(run({x}), 2, "graph input 'y' has no data");
  check_keel_error(run({x, y, "z=" + (dir / "x.npy").string()}), 2, "the graph has no input 'z'");
  check_keel_error(run({x, "y=" + (dir / "missing.npy").string()}), 2, "missing.npy");
  check_keel_error(run({"x=" + (dir / "trunc.npy").string(), y}), 2, "trunc.npy");
  check_keel_error(run({"x=" + (dir / "xi.npy").string(), y}), 2,
                   "input 'x' is declared f32 [batch, 4] but the data is i32");
  check_keel_error(run({"x=" + (dir / "x5.npy").string(), y}), 2, "but the data has shape [3, 5]");
  check_keel_error(run({x, "y=" + (dir / "y5.npy").string()}), 2,
                   "input 'y' has batch = 5 (dimension 0) but input 'x' has batch = 3");
  CHECK_FALSE(fs::exists(dir / "out"));  // nothing was run, nothing written
}

TEST_CASE("a failure inside plugin code names the node, the op and the plugin") {
  TempDir dir;
  write_npy(dir / "x.npy", random_tensor({2, 2}, 1));
  auto graph_for = [&](const std::string& stage, const std::string& how) {
    return dir.write("f.yaml",
                     "keel: 1\ninputs:\n  x: {dtype: f32, shape: [2, 2]}\nnodes:\n"
                     "  - {name: f, op: fault, inputs: [x], attrs: {stage: " +
                         stage + ", how: " + how + "}}\noutputs: [f]\n");
  };
  auto run = [&](const fs::path& g) {
    return run_keel({"run", g.string(), "--plugin-path", KEEL_FAULTY_PLUGIN_DIR, "-o", (dir / "out").string(),
                     "-i", "x=" + (dir / "x.npy").string()});
  };
  const std::string who = "(node 'f', op 'fault', plugin 'faulty')";
  auto g = graph_for("forward", "throw");
  auto r = run(g);
  check_keel_error(r, 1, g.string() + ":5:5: forward threw: boom in forward " + who);
  check_keel_error(run(graph_for("forward", "status")), 1, "forward failed: refused in forward " + who);
  check_keel_error(run(graph_for("prepare", "throw")), 1, "prepare threw: boom in prepare " + who);
  check_keel_error(run(graph_for("infer", "status")), 2, "refused in infer " + who);
  CHECK_FALSE(fs::exists(dir / "out" / "f.npy"));

  auto ok = run(graph_for("none", "throw"));
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(fs::exists(dir / "out" / "f.npy"));
}

TEST_CASE("an unknown op says where plugins were searched") {
  TempDir dir;
  auto g = dir.write("g.yaml",
                     "keel: 1\ninputs:\n  x: {dtype: f32, shape: [2]}\nnodes:\n"
                     "  - {name: f, op: fault, inputs: [x]}\noutputs: [f]\n");
  auto r = run_keel({"validate", g.string()});
  check_keel_error(r, 2, "unknown op 'fault'");
  CHECK(r.first_err_line().find("lib/keel/plugins") != std::string::npos);
  auto found = run_keel({"validate", g.string()}, {{"KEEL_PLUGIN_PATH", KEEL_FAULTY_PLUGIN_DIR}});
  INFO(found.err);
  CHECK(found.exit_code == 0);
}

TEST_CASE("usage errors exit 2 and --help exits 0") {
  check_keel_error(run_keel({"frobnicate"}), 2, "");
  check_keel_error(run_keel({"run"}), 2, "graph");
  check_keel_error(run_keel({"run", "/nonexistent/g.yaml"}), 2, "/nonexistent/g.yaml");
  check_keel_error(
      run_keel({"graph", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_templates.yaml", "--format", "pdf"}),
      2, "--format 'pdf' is not supported");
  check_keel_error(run_keel({"validate", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_templates.yaml",
                             "--set", "nope.factor=2"}),
                   2, "no node named 'nope'");
  for (const char* cmd : {"run", "validate", "plugins", "graph"}) {
    auto r = run_keel({cmd, "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--plugin-path") != std::string::npos);
  }
  CHECK(run_keel({"--version"}).exit_code == 0);
}

TEST_CASE("an output folder that cannot be created is a runtime error with nothing written") {
  TempDir dir;
  auto g = dir.write("g.yaml", kGraph);
  write_npy(dir / "x.npy", random_tensor({3, 4}, 1));
  write_npy(dir / "y.npy", random_tensor({3}, 2));
  dir.write("file", "not a folder");
  auto r = run_keel({"run", g.string(), "-o", (dir / "file" / "out").string(), "-i",
                     "x=" + (dir / "x.npy").string(), "-i", "y=" + (dir / "y.npy").string()});
  check_keel_error(r, 1, "cannot create output folder");
}

TEST_CASE("validate checks a train: section against the optimizer and the graph without data") {
  TempDir dir;
  auto graph = [&](const std::string& train_extra, const std::string& optimizer) {
    return dir.write("t.yaml",
                     "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n"
                     "  y: {dtype: f32, shape: [batch, 2]}\nnodes:\n"
                     "  - {name: fc, op: linear, inputs: [x], attrs: {units: 2}}\n"
                     "  - {name: loss, op: mse, inputs: [fc, y]}\noutputs: [fc]\ntrain:\n"
                     "  loss: loss\n  data: {csv: [d.csv], columns: {x: \"0:4\", y: \"4:6\"}}\n"
                     "  optimizer: " +
                         optimizer + "\n" + train_extra);
  };
  check_keel_error(run_keel({"validate", graph("", "{op: sgdd, lr: 0.1}").string()}), 2,
                   "unknown optimizer 'sgdd' (did you mean 'sgd'?)");
  check_keel_error(run_keel({"validate", graph("", "{op: sgd, lr: 0.1, momentun: 0.9}").string()}), 2,
                   "unknown attribute 'momentun' for op 'sgd' (did you mean 'momentum'?)");
  check_keel_error(run_keel({"validate", graph("  freeze: [fc9]\n", "{op: sgd}").string()}), 2,
                   "'fc9' is neither a node nor a parameter");
  auto ok = run_keel({"validate", graph("  freeze: [fc.bias]\n", "{op: adam, lr: 0.01}").string()});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}

TEST_CASE("a parameter too large to exist is refused before anything is allocated") {
  auto r = run_keel({"validate", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_infer.yaml", "--set",
                     "fc1.units=72057594037927936"});
  check_keel_error(r, 2, "parameter 'fc1.weight' would have shape");
  CHECK(r.first_err_line().find("more than the limit of") != std::string::npos);
}

TEST_CASE("a training run whose outputs cannot be written fails before training") {
  TempDir dir;
  dir.write("file", "not a folder");
  auto r = run_keel({"run", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_train.yaml", "-q", "-o",
                     (dir / "file" / "out").string()});
  check_keel_error(r, 1, "cannot create folder");
  auto steps =
      run_keel({"run", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_train.yaml", "--set", "train.batch=0"});
  check_keel_error(steps, 2, "train.batch=0: expected a positive integer");
}
