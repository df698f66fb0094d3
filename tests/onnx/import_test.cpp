// keel import against independent references: ONNX's own node test cases
// (Debian's libonnx-testdata: inputs and expected outputs computed by ONNX's
// reference), and models PyTorch exports at test time (PyTorch's outputs).
// Fixtures come from tests/onnx/onnx_cases.py; the malformed models are in
// the bad-input corpus (tests/data/bad_inputs/onnx).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
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
using keel::test::TempDir;

namespace {

const std::string kCases = std::string(KEEL_SOURCE_DIR) + "/tests/onnx/onnx_cases.py";

void make_fixtures(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/python3", kCases});
  const ProcessResult r = run_process(args, {}, 300);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// |got - want| <= atol + rtol * |want| everywhere (numpy.allclose), and the
// same shape.
void require_close(const fs::path& got_file, const fs::path& want_file, double rtol, double atol) {
  INFO(got_file.string() << " vs " << want_file.string());
  REQUIRE(fs::exists(got_file));
  const keel::Tensor got = keel::read_npy(got_file), want = keel::read_npy(want_file);
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == keel::DType::f32);
  REQUIRE(want.dtype() == keel::DType::f32);
  double worst = 0;
  for (std::int64_t k = 0; k < got.numel(); ++k) {
    const double g = got.as<float>()[k], w = want.as<float>()[k];
    worst = std::max(worst, std::abs(g - w) - rtol * std::abs(w));
  }
  CHECK(worst <= atol);
}

// The Keel name of an ONNX output, as the importer forms it.
std::string keel_name(const std::string& onnx) {
  std::string out;
  for (char c : onnx) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_')
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  return out;
}

// Imports DIR/model.onnx, runs it on DIR/input_*.npy and compares every
// DIR/output_*.npy.
void check_node_case(const fs::path& dir, double rtol, double atol) {
  const ProcessResult imported =
      run_keel({"import", (dir / "model.onnx").string(), "-o", (dir / "keel").string(), "--name", "m", "-q"});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  std::vector<std::string> run = {
      "run", (dir / "keel/m.yaml").string(), "--params", (dir / "keel/m.safetensors").string(),
      "-o",  (dir / "out").string(),         "-q"};
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("input_", 0) == 0) {
      run.push_back("--input");
      run.push_back(keel_name(f.substr(6, f.size() - 10)) + "=" + e.path().string());
    }
  }
  const ProcessResult ran = run_keel(run);
  INFO(ran.err);
  REQUIRE(ran.exit_code == 0);
  int outputs = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("output_", 0) != 0) continue;
    ++outputs;
    require_close(dir / "out" / (keel_name(f.substr(7, f.size() - 11)) + ".npy"), e.path(), rtol, atol);
  }
  CHECK(outputs >= 1);
}

}  // namespace

namespace {

// Every case of libonnx-testdata for a supported op, except those listed
// in the refusal test below, in four groups that CTest runs side by side.
// ONNX's backend tests compare with rtol 1e-3, atol 1e-7.
void check_node_cases(const std::vector<std::string>& cases) {
  TempDir dir;
  std::vector<std::string> args = {"node", dir.path().string()};
  args.insert(args.end(), cases.begin(), cases.end());
  make_fixtures(args);
  for (const std::string& c : cases) {
    INFO(c);
    check_node_case(dir / c, 1e-3, 1e-7);
  }
}

}  // namespace

TEST_CASE(
    "ONNX's node test cases of elementwise ops, activations and softmax import and run within ONNX's "
    "tolerances") {
  check_node_cases({"test_add",
                    "test_add_bcast",
                    "test_sub",
                    "test_sub_bcast",
                    "test_sub_example",
                    "test_mul",
                    "test_mul_bcast",
                    "test_mul_example",
                    "test_div",
                    "test_div_bcast",
                    "test_div_example",
                    "test_relu",
                    "test_leakyrelu",
                    "test_leakyrelu_default",
                    "test_leakyrelu_example",
                    "test_sigmoid",
                    "test_sigmoid_example",
                    "test_tanh",
                    "test_tanh_example",
                    "test_softmax_axis_0",
                    "test_softmax_axis_1",
                    "test_softmax_axis_2",
                    "test_softmax_default_axis",
                    "test_softmax_example",
                    "test_softmax_large_number",
                    "test_softmax_negative_axis",
                    "test_logsoftmax_axis_0",
                    "test_logsoftmax_axis_1",
                    "test_logsoftmax_axis_2",
                    "test_logsoftmax_default_axis",
                    "test_logsoftmax_example_1",
                    "test_logsoftmax_large_number",
                    "test_logsoftmax_negative_axis",
                    "test_identity",
                    "test_dropout_default",
                    "test_dropout_default_ratio"});
}

TEST_CASE(
    "ONNX's node test cases of Gemm, MatMul, Conv, ConvTranspose and BatchNormalization import and run "
    "within ONNX's tolerances") {
  check_node_cases({"test_gemm_all_attributes",
                    "test_gemm_alpha",
                    "test_gemm_beta",
                    "test_gemm_default_matrix_bias",
                    "test_gemm_default_no_bias",
                    "test_gemm_default_scalar_bias",
                    "test_gemm_default_single_elem_vector_bias",
                    "test_gemm_default_vector_bias",
                    "test_gemm_default_zero_bias",
                    "test_matmul_2d",
                    "test_matmul_3d",
                    "test_matmul_4d",
                    "test_conv_with_autopad_same",
                    "test_conv_with_strides_and_asymmetric_padding",
                    "test_conv_with_strides_no_padding",
                    "test_conv_with_strides_padding",
                    "test_convtranspose",
                    "test_convtranspose_kernel_shape",
                    "test_convtranspose_output_shape",
                    "test_convtranspose_pad",
                    "test_convtranspose_pads",
                    "test_convtranspose_autopad_same",
                    "test_batchnorm_epsilon",
                    "test_batchnorm_example"});
}

TEST_CASE("ONNX's node test cases of pooling import and run within ONNX's tolerances") {
  check_node_cases({"test_maxpool_2d_ceil",
                    "test_maxpool_2d_default",
                    "test_maxpool_2d_dilations",
                    "test_maxpool_2d_pads",
                    "test_maxpool_2d_precomputed_pads",
                    "test_maxpool_2d_precomputed_same_upper",
                    "test_maxpool_2d_precomputed_strides",
                    "test_maxpool_2d_same_lower",
                    "test_maxpool_2d_same_upper",
                    "test_maxpool_2d_strides",
                    "test_averagepool_2d_ceil",
                    "test_averagepool_2d_default",
                    "test_averagepool_2d_pads",
                    "test_averagepool_2d_pads_count_include_pad",
                    "test_averagepool_2d_precomputed_pads",
                    "test_averagepool_2d_precomputed_pads_count_include_pad",
                    "test_averagepool_2d_precomputed_same_upper",
                    "test_averagepool_2d_precomputed_strides",
                    "test_averagepool_2d_same_lower",
                    "test_averagepool_2d_same_upper",
                    "test_averagepool_2d_strides",
                    "test_globalaveragepool",
                    "test_globalaveragepool_precomputed"});
}

TEST_CASE(
    "ONNX's node test cases of Flatten, Reshape, Transpose and Concat import and run within ONNX's "
    "tolerances") {
  check_node_cases({"test_flatten_axis0",
                    "test_flatten_axis1",
                    "test_flatten_axis2",
                    "test_flatten_axis3",
                    "test_flatten_default_axis",
                    "test_flatten_negative_axis1",
                    "test_flatten_negative_axis2",
                    "test_flatten_negative_axis3",
                    "test_flatten_negative_axis4",
                    "test_reshape_extended_dims",
                    "test_reshape_negative_dim",
                    "test_reshape_negative_extended_dims",
                    "test_reshape_one_dim",
                    "test_reshape_reduced_dims",
                    "test_reshape_reordered_all_dims",
                    "test_reshape_reordered_last_dims",
                    "test_reshape_zero_and_negative_dim",
                    "test_reshape_zero_dim",
                    "test_transpose_all_permutations_0",
                    "test_transpose_all_permutations_1",
                    "test_transpose_all_permutations_2",
                    "test_transpose_all_permutations_3",
                    "test_transpose_all_permutations_4",
                    "test_transpose_all_permutations_5",
                    "test_transpose_default",
                    "test_concat_1d_axis_0",
                    "test_concat_1d_axis_negative_1",
                    "test_concat_2d_axis_0",
                    "test_concat_2d_axis_1",
                    "test_concat_2d_axis_negative_1",
                    "test_concat_2d_axis_negative_2",
                    "test_concat_3d_axis_0",
                    "test_concat_3d_axis_1",
                    "test_concat_3d_axis_2",
                    "test_concat_3d_axis_negative_1",
                    "test_concat_3d_axis_negative_2",
                    "test_concat_3d_axis_negative_3"});
}

TEST_CASE("ONNX node cases outside what keel import maps are refused naming the node and why") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"test_maxpool_1d_default", "'MaxPool_0' (MaxPool): input 0 has the shape [1, 3, 32], not rank 4"},
      {"test_maxpool_3d_default", "not rank 4"},
      {"test_averagepool_1d_default", "not rank 4"},
      {"test_convtranspose_1d", "not rank 4"},
      {"test_convtranspose_dilations", "dilated transposed convolutions are not supported"},
      {"test_batchnorm_example_training_mode", "training_mode 1 is not supported (export in eval mode)"},
      {"test_maxpool_with_argmax_2d_precomputed_pads", "the Indices output is not supported"},
      {"test_dropout_default_mask", "its mask output is not supported"},
      {"test_reshape_allowzero_reordered", "a reshape to a size of 0"},
      {"test_constant", "graph output 'values' is a constant or a graph input"},
      {"test_convtranspose_with_kernel", "the model uses opset 8; keel import maps opsets 11 to 17"},
      {"test_add_uint8", "graph input 'x' is UINT8; keel import takes FLOAT inputs"},
  };
  TempDir dir;
  std::vector<std::string> args = {"node", dir.path().string()};
  for (const auto& [c, message] : cases) args.push_back(c);
  make_fixtures(args);
  for (const auto& [c, message] : cases) {
    INFO(c);
    const ProcessResult r =
        run_keel({"import", (dir / c / "model.onnx").string(), "-o", (dir / c / "keel").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line().rfind("keel: error: ", 0) == 0);
    CHECK(r.first_err_line().find(message) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / c / "keel"));
  }
}

TEST_CASE("models PyTorch exports at test time give PyTorch's outputs within 1e-5") {
  // An MLP; linear layers on a [batch, 5, 20] input; a CNN with
  // batchnorm, the brief's residual block and max pooling; the flagship's
  // layers after training steps (batchnorm statistics no longer their
  // initial values).
  for (const std::string name : {"mlp", "seq", "cnn", "flagship"}) {
    INFO(name);
    TempDir dir;
    make_fixtures({"torch", dir.path().string(), name});
    const ProcessResult imported =
        run_keel({"import", (dir / (name + ".onnx")).string(), "-o", (dir / "k").string()});
    INFO(imported.err);
    REQUIRE(imported.exit_code == 0);
    const std::string graph = keel::test::slurp(dir / "k" / (name + ".yaml"));
    if (name == "cnn" || name == "flagship") CHECK(graph.find("op: batchnorm") != std::string::npos);
    // A Linear on rank-3 input (MatMul, then Add of the bias) is one linear.
    if (name == "seq") CHECK(graph.find("op: add") == std::string::npos);
    const ProcessResult ran = run_keel({"run", (dir / "k" / (name + ".yaml")).string(), "--params",
                                        (dir / "k" / (name + ".safetensors")).string(), "--input",
                                        "x=" + (dir / "x.npy").string(), "-o", (dir / "out").string(), "-q"});
    INFO(ran.err);
    REQUIRE(ran.exit_code == 0);
    require_close(dir / "out/y.npy", dir / "y.npy", 0, 1e-5);
  }
}

TEST_CASE("an imported model fine-tunes under a train: section with guards") {
  // The flagship's layers as PyTorch trained them on random labels (about
  // chance on the digits), imported, then trained on the digits by Keel.
  TempDir dir;
  make_fixtures({"torch", dir.path().string(), "flagship"});
  REQUIRE(
      run_keel({"import", (dir / "flagship.onnx").string(), "-o", (dir / "k").string(), "-q"}).exit_code ==
      0);
  std::string graph = keel::test::slurp(dir / "k/flagship.yaml");
  const auto put_after = [&](const std::string& anchor, const std::string& text) {
    const auto at = graph.find(anchor);
    REQUIRE(at != std::string::npos);
    graph.insert(at + anchor.size(), text);
  };
  put_after("inputs:\n", "  label: {dtype: i64, shape: [batch]}\n");
  put_after(
      "nodes:\n",
      "  - {name: loss, op: softmax_cross_entropy, inputs: [head_Gemm, label]}\n"
      "  - {name: loss_finite, op: anomaly_check, inputs: [loss], attrs: {check: nonfinite, action: "
      "skip_step}}\n"
      "  - {name: grads, op: anomaly_check, inputs: [loss], attrs: {check: grad_norm, max: 100, action: "
      "skip_step}}\n");
  graph += "train:\n  loss: loss\n  data: {csv: [" + std::string(KEEL_SOURCE_DIR) +
           "/graphs/data/digits.csv], columns: {x: \"0:64\", label: 64}, batch: 64, holdout: 0.2}\n"
           "  epochs: 4\n  optimizer: {op: sgd, lr: 0.05, momentum: 0.9}\n  checkpoint: {path: tuned.ckpt}\n";
  keel::test::write_file(dir / "k/tune.yaml", graph);
  const ProcessResult r =
      run_keel({"run", (dir / "k/tune.yaml").string(), "--params", (dir / "k/flagship.safetensors").string(),
                "-o", (dir / "tuned").string(), "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string metrics = keel::test::slurp(dir / "tuned/metrics.jsonl");
  const auto at = metrics.rfind("\"holdout_accuracy\":");
  REQUIRE(at != std::string::npos);
  const double accuracy = std::stod(metrics.substr(at + 19));
  CHECK(accuracy > 0.9);
  // The tuned checkpoint serves the imported inference graph unchanged.
  make_fixtures({"torch", (dir / "again").string(), "flagship"});
  const ProcessResult inferred =
      run_keel({"run", (dir / "k/flagship.yaml").string(), "--params", (dir / "tuned/tuned.ckpt").string(),
                "--input", "x=" + (dir / "again/x.npy").string(), "-o", (dir / "inferred").string(), "-q"});
  INFO(inferred.err);
  CHECK(inferred.exit_code == 0);
}

TEST_CASE("keel import replaces no file without --force and names the one in the way") {
  TempDir dir;
  make_fixtures({"torch", dir.path().string(), "mlp"});
  const std::string model = (dir / "mlp.onnx").string();
  REQUIRE(run_keel({"import", model, "-o", (dir / "k").string(), "-q"}).exit_code == 0);
  const std::string before = keel::test::slurp(dir / "k/mlp.yaml");
  keel::test::write_file(dir / "k/mlp.yaml", "# mine\n");
  const ProcessResult again = run_keel({"import", model, "-o", (dir / "k").string()});
  CHECK(again.exit_code == 2);
  CHECK(again.first_err_line().find("mlp.yaml' already exists (--force replaces it)") != std::string::npos);
  CHECK(keel::test::slurp(dir / "k/mlp.yaml") == "# mine\n");
  CHECK(run_keel({"import", model, "-o", (dir / "k").string(), "--force", "-q"}).exit_code == 0);
  CHECK(keel::test::slurp(dir / "k/mlp.yaml") == before);
}

TEST_CASE("keel import refuses a device, a FIFO and an output folder that is a file, writing nothing") {
  TempDir dir;
  const std::string fifo = (dir / "model.onnx").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& model : {std::string("/dev/zero"), fifo}) {
    INFO(model);
    const ProcessResult r = run_keel({"import", model, "-o", (dir / "out").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line() == "keel: error: " + model + ": cannot read: Operation not supported");
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  make_fixtures({"torch", (dir / "m").string(), "mlp"});
  keel::test::write_file(dir / "file", "x");
  const ProcessResult r = run_keel({"import", (dir / "m/mlp.onnx").string(), "-o", (dir / "file").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.first_err_line().find("cannot create folder: Not a directory") != std::string::npos);
  CHECK(keel::test::slurp(dir / "file") == "x");
}
