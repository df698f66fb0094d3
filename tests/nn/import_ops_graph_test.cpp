// The ops an imported ONNX model is made of (per-side padded conv2d,
// max_pool2d and avg_pool2d in ceil mode, transpose, constant, sub, div,
// log_softmax) in one graph fine-tuned by `keel run`: the constants come
// from a --params file and stay as they were, the layers train, and every
// value stays finite.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>

#include "cli_util.hpp"
#include "runtime/safetensors.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// A 4x4 image and its class (0 to 2) per row.
const char* kData =
    "0.1,0.9,0.3,0.2,0.5,0.7,0.1,0.8,0.4,0.6,0.2,0.9,0.3,0.1,0.7,0.5,0\n"
    "0.8,0.2,0.6,0.4,0.1,0.3,0.9,0.7,0.5,0.2,0.8,0.1,0.6,0.4,0.3,0.9,1\n"
    "0.3,0.5,0.7,0.9,0.2,0.4,0.6,0.8,0.1,0.3,0.5,0.7,0.9,0.2,0.4,0.6,2\n"
    "0.9,0.1,0.2,0.6,0.7,0.3,0.5,0.4,0.8,0.9,0.1,0.2,0.3,0.6,0.5,0.7,0\n"
    "0.4,0.4,0.8,0.1,0.9,0.5,0.2,0.3,0.7,0.1,0.6,0.8,0.2,0.9,0.1,0.3,1\n"
    "0.6,0.7,0.1,0.5,0.3,0.8,0.4,0.2,0.9,0.6,0.3,0.4,0.1,0.5,0.8,0.2,2\n"
    "0.2,0.3,0.9,0.7,0.6,0.1,0.8,0.5,0.3,0.4,0.9,0.6,0.7,0.8,0.2,0.1,0\n"
    "0.7,0.6,0.4,0.3,0.8,0.9,0.3,0.1,0.2,0.5,0.4,0.3,0.5,0.3,0.9,0.8,1\n";

const char* kGraph = R"(keel: 1
seed: 11
inputs:
  pixels: {dtype: f32, shape: [batch, 16]}
  label: {dtype: i64, shape: [batch]}
nodes:
  - {name: image, op: reshape, inputs: [pixels], attrs: {shape: [-1, 1, 4, 4]}}
  # ONNX's pads [top, left, bottom, right]: 4x4 stays 4x4 under a 2x2 kernel.
  - {name: conv, op: conv2d, inputs: [image], attrs: {filters: 2, kernel: [2], padding: [0, 0, 1, 1]}}
  # 4x4 -> 2x2; then 2x2 -> 2x2 with a window past the image not counted.
  - {name: pool, op: max_pool2d, inputs: [conv], attrs: {kernel: [3], stride: [2], ceil_mode: true}}
  - {name: avg, op: avg_pool2d, inputs: [pool],
     attrs: {kernel: [2], stride: [1], padding: [0, 0, 1, 1], count_include_pad: false}}
  # NCHW -> NHWC before flattening, as models exported from TensorFlow do.
  - {name: nhwc, op: transpose, inputs: [avg], attrs: {perm: [0, 2, 3, 1]}}
  - {name: flat, op: flatten, inputs: [nhwc]}
  - {name: fc, op: linear, inputs: [flat], attrs: {units: 3}}
  # An ONNX model's normalization constants: initializers, not weights.
  - {name: shift, op: constant, attrs: {shape: [3]}}
  - {name: scale, op: constant, attrs: {shape: []}}
  - {name: centered, op: sub, inputs: [fc, shift]}
  - {name: logits, op: div, inputs: [centered, scale]}
  - {name: logp, op: log_softmax, inputs: [logits]}
  - {name: loss, op: softmax_cross_entropy, inputs: [logits, label]}
outputs: [loss, logp]
train:
  loss: loss
  data: {csv: [data.csv], columns: {pixels: "0:16", label: 16}, header: false, batch: 4}
  epochs: 4
  optimizer: {op: sgd, lr: 0.5}
  checkpoint: {path: model.ckpt}
  report: false
)";

Tensor& tensor(TensorFile& f, const std::string& name) {
  for (auto& [n, t] : f.tensors)
    if (n == name) return t;
  FAIL("no tensor " << name);
  throw;
}

bool all_finite(const TensorFile& f) {
  for (const auto& [name, t] : f.tensors)
    for (std::int64_t i = 0; i < t.numel(); ++i)
      if (t.dtype() == DType::f32 && !std::isfinite(t.as<float>()[i])) return false;
  return true;
}

bool same(const Tensor& a, const Tensor& b) {
  if (a.nbytes() != b.nbytes()) return false;
  return std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("an imported model's ops fine-tune in keel run: constants from --params stay, layers train") {
  TempDir dir;
  dir.write("data.csv", kData);
  dir.write("model.yaml", kGraph);
  const ProcessResult init = run_keel(
      {"run", (dir / "model.yaml").string(), "-o", (dir / "init").string(), "--set", "train.steps=0"});
  INFO(describe(init));
  REQUIRE(init.exit_code == 0);
  TensorFile params = read_safetensors(dir / "init" / "model.ckpt");
  // The values an importer would write for the constants.
  const float shift[] = {0.5f, -1.0f, 2.0f};
  std::memcpy(tensor(params, "shift.value").data(), shift, sizeof shift);
  *tensor(params, "scale.value").as<float>() = 2.0f;
  REQUIRE(tensor(params, "scale.value").shape().empty());
  write_safetensors(dir / "params.ckpt", params);

  const ProcessResult r = run_keel({"run", (dir / "model.yaml").string(), "-o", (dir / "trained").string(),
                                    "--params", (dir / "params.ckpt").string()});
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  TensorFile trained = read_safetensors(dir / "trained" / "model.ckpt");
  CHECK(all_finite(trained));
  CHECK(same(tensor(trained, "shift.value"), tensor(params, "shift.value")));
  CHECK(same(tensor(trained, "scale.value"), tensor(params, "scale.value")));
  CHECK_FALSE(same(tensor(trained, "conv.weight"), tensor(params, "conv.weight")));
  CHECK_FALSE(same(tensor(trained, "fc.weight"), tensor(params, "fc.weight")));
}
