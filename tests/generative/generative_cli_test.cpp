// `keel run` on graphs of the generative ops. A graph with no inputs at
// all (a noise node straight to the output, as a sampling graph starts):
// the same seed writes the same bytes, another seed other values, --set
// NODE.count changes the number of rows, and the values look standard
// normal. A small VAE trains, with the same losses for the same seed, and
// its decoder samples from noise alone with --params.
#include <catch2/catch.hpp>
#include <cmath>

#include "cli_util.hpp"
#include "runtime/npy.hpp"
#include "runtime/safetensors.hpp"

using namespace keel;
using namespace keel::test;

namespace {

const char* kNoiseGraph = R"(keel: 1
name: noise-only
seed: 1
nodes:
  - {name: z, op: noise, attrs: {count: 500, shape: [8]}}
outputs: [z]
)";

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "\n--- stderr\n" + r.err;
}

ProcessResult run(const TempDir& dir, const std::string& out, std::vector<std::string> sets) {
  std::vector<std::string> args{"run", (dir / "noise.yaml").string(), "-o", (dir / out).string(), "-q"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  return run_keel(args);
}

}  // namespace

TEST_CASE("keel runs a graph with no inputs whose only node is noise, reproducibly per seed") {
  TempDir dir;
  dir.write("noise.yaml", kNoiseGraph);
  ProcessResult v = run_keel({"validate", (dir / "noise.yaml").string()});
  INFO(describe(v));
  REQUIRE(v.exit_code == 0);

  for (const char* out : {"a", "b"}) {
    ProcessResult r = run(dir, out, {"seed=3"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
  }
  REQUIRE(run(dir, "c", {"seed=4"}).exit_code == 0);
  const std::string a = slurp(dir / "a/z.npy");
  REQUIRE_FALSE(a.empty());
  CHECK(slurp(dir / "b/z.npy") == a);

  const Tensor z = read_npy(dir / "a/z.npy");
  const Tensor other = read_npy(dir / "c/z.npy");
  REQUIRE(z.dtype() == DType::f32);
  REQUIRE(z.shape() == Shape{500, 8});
  REQUIRE(other.shape() == Shape{500, 8});
  const std::size_t n = 4000;
  std::size_t same = 0;
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = z.as<float>()[i];
    same += z.as<float>()[i] == other.as<float>()[i];
    sum += x;
    squares += x * x;
  }
  CHECK(same == 0);
  // Five standard errors of n standard normal draws.
  const double mean = sum / double(n), var = squares / double(n) - mean * mean;
  CHECK(std::abs(mean) <= 5 / std::sqrt(double(n)));
  CHECK(std::abs(var - 1) <= 5 * std::sqrt(2 / double(n)));
}

TEST_CASE("keel run --set NODE.count draws that many rows, the same leading rows for the same seed") {
  TempDir dir;
  dir.write("noise.yaml", kNoiseGraph);
  ProcessResult r = run(dir, "small", {"seed=3", "z.count=100"});
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(run(dir, "full", {"seed=3"}).exit_code == 0);
  const Tensor small = read_npy(dir / "small/z.npy");
  const Tensor full = read_npy(dir / "full/z.npy");
  REQUIRE(small.shape() == Shape{100, 8});
  for (std::size_t i = 0; i < 800; ++i) REQUIRE(small.as<float>()[i] == full.as<float>()[i]);
}

namespace {

// A small VAE on the diabetes features: the encoder's mean and log-variance
// feed gaussian_sample, decoder input noise comes from noise_like, and the
// loss is reconstruction plus a weighted kl_normal (a scalar with no loss
// role).
std::string vae_graph() {
  return R"(keel: 1
name: tiny-vae
inputs:
  features: {dtype: f32, shape: [batch, 10]}
nodes:
  - {name: scaled, op: standardize, inputs: [features]}
  - {name: mu, op: linear, inputs: [scaled], attrs: {units: 3}}
  - {name: lv, op: linear, inputs: [scaled], attrs: {units: 3}}
  - {name: z, op: gaussian_sample, inputs: [mu, lv]}
  - {name: jitter, op: noise_like, inputs: [features], attrs: {shape: [3], std: 0.1}}
  - {name: zn, op: add, inputs: [z, jitter]}
  - {name: dec, op: linear, inputs: [zn], attrs: {units: 10}}
  - {name: rec, op: mse, inputs: [dec, scaled]}
  - {name: kl, op: kl_normal, inputs: [mu, lv]}
  - {name: klw, op: scale, inputs: [kl], attrs: {factor: 0.01}}
  - {name: loss, op: add, inputs: [rec, klw]}
outputs: [mu]
train:
  loss: loss
  data: {csv: [)" +
         std::string(KEEL_SOURCE_DIR) +
         R"(/graphs/data/diabetes_data_raw.csv], columns: {features: "0:10"}, batch: 64}
  calibrate: [scaled]
  epochs: 30
  optimizer: {op: sgd, lr: 0.05}
  checkpoint: {path: vae.ckpt}
)";
}

// The trained decoder on fresh latents, with no data: the sampling graph of
// a generative model.
const char* kSampleGraph = R"(keel: 1
name: vae-sample
nodes:
  - {name: z, op: noise, attrs: {count: 64, shape: [3]}}
  - {name: dec, op: linear, inputs: [z], attrs: {units: 10}}
outputs: [dec, z]
)";

std::vector<double> losses(const std::string& steps_csv) {
  std::vector<double> out;
  std::size_t at = steps_csv.find('\n');  // past the header
  while (at != std::string::npos && at + 1 < steps_csv.size()) {
    const std::size_t comma = steps_csv.find(',', at + 1);
    out.push_back(std::stod(steps_csv.substr(comma + 1)));
    at = steps_csv.find('\n', at + 1);
  }
  return out;
}

}  // namespace

TEST_CASE("a small VAE built from gaussian_sample, noise_like and kl_normal trains, reproducibly per seed") {
  TempDir dir;
  dir.write("vae.yaml", vae_graph());
  auto train = [&](const std::string& out, const std::string& seed) {
    ProcessResult r = run_keel({"run", (dir / "vae.yaml").string(), "-o", (dir / out).string(), "-q", "--set",
                                "seed=" + seed, "--set", "train.report=false"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    return slurp(dir / out / "steps.csv");
  };
  const std::string a = train("a", "1");
  CHECK(train("b", "1") == a);
  CHECK(train("c", "2") != a);
  const std::vector<double> loss = losses(a);
  REQUIRE(loss.size() == 210);  // 442 rows in batches of 64: 7 steps, 30 epochs
  // Untrained, the reconstruction error of standardized features is about
  // their variance plus the decoder's output; trained, well below half of it.
  CHECK(loss.back() < 0.5 * loss.front());
}

TEST_CASE("a sampling graph runs the trained decoder on noise with --params, --set seed and --set z.count") {
  TempDir dir;
  dir.write("vae.yaml", vae_graph());
  dir.write("sample.yaml", kSampleGraph);
  ProcessResult t = run_keel({"run", (dir / "vae.yaml").string(), "-o", (dir / "train").string(), "-q",
                              "--set", "train.report=false"});
  INFO(describe(t));
  REQUIRE(t.exit_code == 0);
  auto sample = [&](const std::string& out, const std::string& seed) {
    ProcessResult r =
        run_keel({"run", (dir / "sample.yaml").string(), "--params", (dir / "train/vae.ckpt").string(),
                  "--set", "seed=" + seed, "--set", "z.count=100", "-o", (dir / out).string(), "-q"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
  };
  sample("s3", "3");
  sample("s3_again", "3");
  sample("s4", "4");
  CHECK(slurp(dir / "s3_again/dec.npy") == slurp(dir / "s3/dec.npy"));
  CHECK(slurp(dir / "s4/z.npy") != slurp(dir / "s3/z.npy"));

  // dec = z W^T + b with the checkpoint's decoder, in double.
  const TensorFile ckpt = read_safetensors(dir / "train/vae.ckpt");
  const Tensor* w = ckpt.find("dec.weight");
  const Tensor* b = ckpt.find("dec.bias");
  REQUIRE(w != nullptr);
  REQUIRE(b != nullptr);
  REQUIRE(w->shape() == Shape{10, 3});
  const Tensor z = read_npy(dir / "s3/z.npy");
  const Tensor dec = read_npy(dir / "s3/dec.npy");
  REQUIRE(z.shape() == Shape{100, 3});
  REQUIRE(dec.shape() == Shape{100, 10});
  for (std::int64_t r = 0; r < 100; ++r)
    for (std::int64_t o = 0; o < 10; ++o) {
      double want = b->as<float>()[o];
      for (std::int64_t k = 0; k < 3; ++k)
        want += double(z.as<float>()[r * 3 + k]) * w->as<float>()[o * 3 + k];
      // Three f32 products and a bias: a few ulps of values of size ~1.
      REQUIRE(std::abs(dec.as<float>()[r * 10 + o] - want) <= 1e-5 * (1 + std::abs(want)));
    }
}
