// Inference optimizations (batchnorm folded into the layer before it, relu
// fused into it): the optimized run gives the unoptimized run's outputs and
// PyTorch's, and the removed nodes no longer run.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "cli_util.hpp"
#include "files.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using keel::test::ProcessResult;
using keel::test::run_keel;
using keel::test::run_process;
using keel::test::TempDir;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

// max |a - b| / max(1, max |b|) over every output named, in Python.
void require_close(const fs::path& a, const fs::path& b, const std::string& names, double tolerance) {
  const ProcessResult r = run_process({"/usr/bin/python3", kSource + "/tests/onnx/compare_outputs.py",
                                       std::to_string(tolerance), names, a.string(), b.string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

}  // namespace

TEST_CASE("inference folds batchnorm into the layer before it, with the unoptimized outputs within 1e-5") {
  TempDir dir;
  REQUIRE(run_keel({"run", kSource + "/graphs/digits_train.yaml", "-o", (dir / "t").string(), "--set",
                    "train.epochs=3", "-q"})
              .exit_code == 0);
  const std::string ckpt = (dir / "t/digits.ckpt").string(), pixels = (dir / "t/holdout/pixels.npy").string();
  const auto infer = [&](const std::string& out, bool optimize) {
    std::vector<std::string> args = {"run",      kSource + "/graphs/digits_infer.yaml",
                                     "--params", ckpt,
                                     "--input",  "pixels=" + pixels,
                                     "-o",       (dir / out).string(),
                                     "--stats"};
    if (!optimize) args.push_back("--no-optimize");
    const ProcessResult r = run_keel(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  const std::string fast = infer("optimized", true), plain = infer("plain", false);
  CHECK(fast.find("optimized: folded bn1 into fc1") != std::string::npos);
  CHECK(fast.find("optimized: folded bn2 into fc2") != std::string::npos);
  CHECK(fast.find("optimized: fused act1 into fc1") != std::string::npos);
  // The per-node table of --stats: the batchnorms run only unoptimized.
  CHECK(fast.find("bn1    batchnorm") == std::string::npos);
  CHECK(fast.find("act1   relu") == std::string::npos);
  CHECK(plain.find("bn1    batchnorm") != std::string::npos);
  CHECK(plain.find("act1   relu") != std::string::npos);
  CHECK(plain.find("optimized:") == std::string::npos);
  require_close(dir / "optimized", dir / "plain", "head,probs", 1e-5);
}

TEST_CASE(
    "a CNN with batchnorm folded, relus and the residual sum fused gives PyTorch's outputs within 1e-5") {
  TempDir dir;
  REQUIRE(run_process({"/usr/bin/python3", kSource + "/tests/onnx/onnx_cases.py", "torch",
                       dir.path().string(), "cnn"},
                      {}, 300)
              .exit_code == 0);
  REQUIRE(run_keel({"import", (dir / "cnn.onnx").string(), "-o", (dir / "k").string(), "-q"}).exit_code == 0);
  const ProcessResult r =
      run_keel({"run", (dir / "k/cnn.yaml").string(), "--params", (dir / "k/cnn.safetensors").string(),
                "--input", "x=" + (dir / "x.npy").string(), "-o", (dir / "out").string(), "--stats"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("optimized: folded bn_BatchNormalization into conv_Conv") != std::string::npos);
  CHECK(r.out.find("optimized: fused Relu into conv_Conv") != std::string::npos);
  CHECK(r.out.find("optimized: fused block_Relu into block_a_Conv") != std::string::npos);
  // The block's sum x + b(...) as the convolution's post-op.
  CHECK(r.out.find("optimized: fused block_Add into block_b_Conv") != std::string::npos);
  // PyTorch's y.npy beside x.npy.
  fs::create_directories(dir / "torch");
  fs::copy_file(dir / "y.npy", dir / "torch/y.npy");
  require_close(dir / "out", dir / "torch", "y", 1e-5);
}

TEST_CASE("a layer whose output is read elsewhere keeps its batchnorm") {
  TempDir dir;
  keel::test::write_file(dir / "g.yaml",
                         "keel: 1\nname: shared\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\nnodes:\n"
                         "  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}}\n"
                         "  - {name: bn, op: batchnorm, inputs: [fc]}\n"
                         "  - {name: both, op: add, inputs: [fc, bn]}\n"
                         "outputs: [both]\n");
  REQUIRE(run_process({"/usr/bin/python3", "-c",
                       "import sys, numpy as np\n"
                       "np.save(sys.argv[1] + '/x.npy', np.arange(8, dtype=np.float32).reshape(2, 4))\n",
                       dir.path().string()})
              .exit_code == 0);
  // Parameters: a checkpoint written by a first run's initialization is
  // not needed; the graph's own initializers apply.
  const ProcessResult r =
      run_keel({"run", (dir / "g.yaml").string(), "--input", "x=" + (dir / "x.npy").string(), "-o",
                (dir / "out").string(), "--stats"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("optimized:") == std::string::npos);
}
