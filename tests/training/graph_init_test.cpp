// Initial values chosen in the graph file (`init:` on a node): the brief's
// gradient descent from zero weights against NumPy, and the errors a wrong
// `init:` gets.
#include <catch2/catch.hpp>
#include <regex>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

// graphs/linear_regression.yaml with `init` added to the node `fit` and the
// data paths made absolute (the copy lives in a temporary folder).
std::string linreg_with(const std::string& init) {
  std::string g = slurp(kSource + "/graphs/linear_regression.yaml");
  g = std::regex_replace(g, std::regex("data/diabetes"), kSource + "/graphs/data/diabetes");
  g = std::regex_replace(g, std::regex("attrs: \\{units: 1\\}\\}"), "attrs: {units: 1}, init: " + init + "}");
  return g;
}

}  // namespace

TEST_CASE("the brief's gradient descent from zero weights needs no hand-written checkpoint") {
  TempDir dir;
  const std::string g = linreg_with("{weight: zeros, bias: zeros}");
  REQUIRE(g.find("init: {weight: zeros") != std::string::npos);
  const auto file = dir.write("linreg.yaml", g);
  const auto r =
      run_keel({"run", file.string(), "-q", "-o", (dir / "out").string(), "--set", "train.steps=40"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto check = run_python(
      kSource + "/tests/training/linreg_reference.py",
      {"steps", kSource + "/graphs/data", "zeros", (dir / "out/linear_regression.ckpt").string(), "40"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("a wrong init: is a graph error at its position, before anything runs") {
  TempDir dir;
  struct Case {
    std::string init, message;
  };
  const std::vector<Case> cases = {
      {"{wieght: zeros}",
       ":15:73: init: op 'linear' of node 'fit' has no parameter 'wieght' (did you mean 'weight'?)"},
      {"{weight: normal(-1)}",
       ":15:81: initializer 'normal(-1)' for parameter 'weight': the standard deviation "
       "must be positive"},
      {"{weight: \"uniform(1, 0)\"}", "the lower bound must be below the upper bound"},
      {"{weight: uniform(1, 0)}",
       "expected ')' at the end (inside {...}, quote it: a comma ends a YAML flow value)"},
      {"{weight: gaussian}", "unknown initializer 'gaussian' for parameter 'weight'"},
      {"{weight: xavir}", "unknown initializer 'xavir' for parameter 'weight' (did you mean 'xavier'?)"},
      {"{weight: normal(x)}", "'x' is not a finite number"},
      {"[zeros]", "'init' must be a mapping of parameter names to initializers"},
  };
  for (const Case& c : cases) {
    INFO(c.init);
    const auto file = dir.write("g.yaml", linreg_with(c.init));
    const auto r = run_keel({"run", file.string(), "-q", "-o", (dir / "out").string()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.first_err_line(), StartsWith("keel: error: " + file.string()) && Contains(c.message));
    CHECK(!fs::exists(dir / "out"));
  }
}

TEST_CASE("a --params checkpoint may leave out what calibration measures, the rest comes from it") {
  TempDir dir;
  // Written and checked in Python (safetensors layout by hand, NumPy for the
  // calibrated statistics): a checkpoint with the model's parameters only.
  const std::string helper = "import sys\nsys.path.insert(0, '" + kSource +
                             "/tests/training')\n"
                             "import json, struct, numpy as np\n"
                             "from linreg_reference import read_safetensors\n";
  const auto made = run_process(
      {"/usr/bin/python3", "-c",
       helper +
           "w = np.full((1, 10), 0.5, '<f4').tobytes(); b = np.array([2.0], '<f4').tobytes()\n"
           "h = json.dumps({'fit.weight': {'dtype': 'F32', 'shape': [1, 10], 'data_offsets': [0, 40]},\n"
           "                'fit.bias': {'dtype': 'F32', 'shape': [1], 'data_offsets': [40, 44]}}).encode()\n"
           "h += b' ' * (-len(h) % 8)\n"
           "open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + w + b)\n",
       (dir / "model.safetensors").string()});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  const auto file = dir.write("linreg.yaml", linreg_with("{}"));
  const auto r = run_keel({"run", file.string(), "-q", "-o", (dir / "out").string(), "--params",
                           (dir / "model.safetensors").string(), "--set", "train.steps=0"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto check = run_process(
      {"/usr/bin/python3", "-c",
       helper + "p = read_safetensors(sys.argv[1])\n"
                "x = np.loadtxt(sys.argv[2]).astype(np.float32).astype(np.float64)\n"
                "assert np.all(p['fit.weight'] == 0.5) and np.all(p['fit.bias'] == 2.0), p\n"
                "assert np.allclose(p['scaled.mean'], x.mean(0), rtol=1e-5), (p['scaled.mean'], x.mean(0))\n"
                "assert np.allclose(p['scaled.std'], x.std(0), rtol=1e-4), (p['scaled.std'], x.std(0))\n",
       (dir / "out/linear_regression.ckpt").string(), kSource + "/graphs/data/diabetes_data_raw.csv"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  // Without calibration, a missing parameter stays an error.
  const auto missing = run_keel({"run", file.string(), "-q", "-o", (dir / "out2").string(), "--params",
                                 (dir / "model.safetensors").string(), "--set", "train.steps=0", "--set",
                                 "train.calibrate=[]"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.first_err_line(), Contains("the checkpoint has no tensor 'scaled.mean'"));
}
