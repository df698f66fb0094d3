// keel export: a Keel-trained model run by ONNX Runtime (npm's
// onnxruntime-node, peers/ from scripts/setup) gives Keel's outputs;
// import -> export -> import gives back the same graph and parameters.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "files.hpp"
#include "process.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using keel::test::ProcessResult;
using keel::test::run_keel;
using keel::test::run_process;
using keel::test::slurp;
using keel::test::TempDir;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

// The graph file without comments (the import's header and per-node
// comments name the file and the ONNX nodes, which differ by design).
std::string without_comments(const fs::path& file) {
  std::istringstream in(slurp(file));
  std::string out;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(' ') == std::string::npos || line[line.find_first_not_of(' ')] != '#')
      out += line + "\n";
  return out;
}

// tests/onnx/compare_outputs.py with these arguments.
ProcessResult compare_outputs(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/python3", kSource + "/tests/onnx/compare_outputs.py"});
  return run_process(args);
}

}  // namespace

TEST_CASE("a Keel-trained flagship exported to ONNX gives Keel's outputs in ONNX Runtime within 1e-5") {
  TempDir dir;
  // Three epochs of the flagship (batchnorm statistics and weights trained).
  const ProcessResult trained = run_keel({"run", kSource + "/graphs/digits_train.yaml", "-o",
                                          (dir / "train").string(), "--set", "train.epochs=3", "-q"});
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  const std::string ckpt = (dir / "train/digits.ckpt").string();
  const ProcessResult exported = run_keel({"export", kSource + "/graphs/digits_infer.yaml", "--params", ckpt,
                                           "-o", (dir / "flagship.onnx").string()});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  // ONNX's own checker accepts the file.
  const ProcessResult checked =
      run_process({"/usr/bin/python3", "-c",
                   "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
                   (dir / "flagship.onnx").string()});
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
  // The hold-out rows Keel wrote, through Keel and through ONNX Runtime.
  const std::string pixels = (dir / "train/holdout/pixels.npy").string();
  REQUIRE(fs::exists(pixels));
  REQUIRE(run_keel({"run", kSource + "/graphs/digits_infer.yaml", "--params", ckpt, "--input",
                    "pixels=" + pixels, "-o", (dir / "keel").string(), "-q"})
              .exit_code == 0);
  const ProcessResult ort = run_process({"/usr/bin/env", "node", kSource + "/tests/onnx/ort_run.js",
                                         (dir / "flagship.onnx").string(), "pixels=" + pixels},
                                        {{"NODE_PATH", kSource + "/peers/node_modules"}});
  INFO(ort.err);
  REQUIRE(ort.exit_code == 0);
  keel::test::write_file(dir / "ort.json", ort.out);
  // Compared in Python: the JSON against Keel's .npy files.
  const ProcessResult compared = compare_outputs(
      {"1e-5", "head,probs", (dir / "ort.json").string(), (dir / "keel").string(), "--min-rows", "301"});
  INFO(compared.err);
  CHECK(compared.exit_code == 0);
}

TEST_CASE("every op keel export maps runs in ONNX Runtime as in Keel, optimized or not") {
  // tests/onnx/graphs/every_op.yaml: every exportable op, op defaults left
  // implicit, a conv2d with its activation and per-side padding before a
  // batchnorm (which must not fold through the relu).
  TempDir dir;
  REQUIRE(
      run_process({"/usr/bin/python3", kSource + "/tests/onnx/onnx_cases.py", "every", dir.path().string()})
          .exit_code == 0);
  const std::string graph = kSource + "/tests/onnx/graphs/every_op.yaml",
                    params = (dir / "every.safetensors").string();
  const std::string x = "x=" + (dir / "x.npy").string();
  for (const char* flag : {"--stats", "--no-optimize"})
    REQUIRE(
        run_keel({"run", graph, "--params", params, "--input", x, "-o", (dir / flag).string(), flag, "-q"})
            .exit_code == 0);
  const ProcessResult exported =
      run_keel({"export", graph, "--params", params, "-o", (dir / "every.onnx").string()});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  const ProcessResult ort = run_process(
      {"/usr/bin/env", "node", kSource + "/tests/onnx/ort_run.js", (dir / "every.onnx").string(), x},
      {{"NODE_PATH", kSource + "/peers/node_modules"}});
  INFO(ort.err);
  REQUIRE(ort.exit_code == 0);
  keel::test::write_file(dir / "ort.json", ort.out);
  const ProcessResult compared =
      compare_outputs({"1e-5", "sm,up,ga", (dir / "ort.json").string(), (dir / "--stats").string(),
                       (dir / "--no-optimize").string()});
  INFO(compared.err);
  CHECK(compared.exit_code == 0);
}

TEST_CASE("import, export and import again give the same graph and byte-identical parameters") {
  for (const std::string name : {"cnn", "flagship"}) {
    INFO(name);
    TempDir dir;
    const ProcessResult made = run_process(
        {"/usr/bin/python3", kSource + "/tests/onnx/onnx_cases.py", "torch", dir.path().string(), name}, {},
        300);
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    REQUIRE(
        run_keel({"import", (dir / (name + ".onnx")).string(), "-o", (dir / "a").string(), "-q"}).exit_code ==
        0);
    const ProcessResult exported =
        run_keel({"export", (dir / "a" / (name + ".yaml")).string(), "--params",
                  (dir / "a" / (name + ".safetensors")).string(), "-o", (dir / "back.onnx").string(), "-q"});
    INFO(exported.err);
    REQUIRE(exported.exit_code == 0);
    REQUIRE(
        run_keel({"import", (dir / "back.onnx").string(), "-o", (dir / "b").string(), "--name", name, "-q"})
            .exit_code == 0);
    CHECK(without_comments(dir / "a" / (name + ".yaml")) == without_comments(dir / "b" / (name + ".yaml")));
    CHECK(slurp(dir / "a" / (name + ".safetensors")) == slurp(dir / "b" / (name + ".safetensors")));
  }
}

TEST_CASE("keel export refuses a graph with ops that have no ONNX form, naming every such node") {
  TempDir dir;
  REQUIRE(run_keel({"run", kSource + "/graphs/digits_train.yaml", "-o", (dir / "t").string(), "--set",
                    "train.epochs=1", "-q"})
              .exit_code == 0);
  const ProcessResult r = run_keel({"export", kSource + "/graphs/digits_train.yaml", "--params",
                                    (dir / "t/digits.ckpt").string(), "-o", (dir / "m.onnx").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("nodes have ops with no ONNX form: 'loss' (softmax_cross_entropy)") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir / "m.onnx"));
  // An existing file is not replaced without --force.
  keel::test::write_file(dir / "m.onnx", "mine");
  const ProcessResult again = run_keel({"export", kSource + "/graphs/digits_infer.yaml", "--params",
                                        (dir / "t/digits.ckpt").string(), "-o", (dir / "m.onnx").string()});
  CHECK(again.exit_code == 2);
  CHECK(again.first_err_line().find("already exists (--force replaces it)") != std::string::npos);
  CHECK(slurp(dir / "m.onnx") == "mine");
}
