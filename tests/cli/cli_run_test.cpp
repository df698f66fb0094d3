// `keel run` end to end: graphs run by the real runner with the real nn
// plugin, outputs read back and compared with naive loops written here.
#include <catch2/catch.hpp>
#include <cmath>

#include "cli_util.hpp"
#include "runtime/npy.hpp"

using namespace keel;
using namespace keel::test;

namespace {

const char* kMlpGraph = R"(keel: 1
name: tiny-mlp
inputs:
  x: {dtype: f32, shape: [batch, 8]}
  w: {dtype: f32, shape: [8, 5]}
  b: {dtype: f32, shape: [5]}
nodes:
  - {name: h, op: matmul, inputs: [x, w]}
  - {name: hb, op: add, inputs: [h, b]}
  - {name: act, op: relu, inputs: [hb]}
  - {name: half, op: scale, inputs: [act], attrs: {factor: 0.5}}
  - {name: sq, op: mul, inputs: [half, act]}
outputs: [sq, h]
)";

// relu(x w + b)^2 * factor, and x w, computed in double.
void reference(const Tensor& x, const Tensor& w, const Tensor& b, double factor, std::vector<double>& sq,
               std::vector<double>& h) {
  const auto n = x.shape()[0], k = x.shape()[1], m = w.shape()[1];
  sq.assign(std::size_t(n * m), 0);
  h.assign(std::size_t(n * m), 0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      double acc = 0;
      for (std::int64_t t = 0; t < k; ++t) acc += double(x.as<float>()[i * k + t]) * w.as<float>()[t * m + j];
      h[std::size_t(i * m + j)] = acc;
      double a = std::max(0.0, acc + b.as<float>()[j]);
      sq[std::size_t(i * m + j)] = factor * a * a;
    }
}

void check_close(const Tensor& got, const std::vector<double>& want, const Shape& shape) {
  REQUIRE(got.dtype() == DType::f32);
  REQUIRE(got.shape() == shape);
  for (std::size_t i = 0; i < want.size(); ++i) {
    // f32 accumulation over K = 8 terms of magnitude <= 1: errors stay
    // around 1e-6 absolute; 1e-5 leaves room without hiding a wrong result.
    INFO("element " << i);
    CHECK(std::abs(got.as<float>()[i] - want[i]) <= 1e-5 + 1e-5 * std::abs(want[i]));
  }
}

}  // namespace

TEST_CASE("keel run computes a small network and writes every output as .npy") {
  TempDir dir;
  auto graph = dir.write("mlp.yaml", kMlpGraph);
  Tensor x = random_tensor({7, 8}, 1), w = random_tensor({8, 5}, 2), b = random_tensor({5}, 3);
  write_npy(dir / "x.npy", x);
  write_npy(dir / "w.npy", w);
  write_npy(dir / "b.npy", b);

  for (double factor : {0.5, 3.0}) {
    std::vector<std::string> args{"run",          graph,
                                  "--output-dir", (dir / "out").string(),
                                  "--input",      "x=" + (dir / "x.npy").string(),
                                  "--input",      "w=" + (dir / "w.npy").string(),
                                  "--input",      "b=" + (dir / "b.npy").string()};
    if (factor != 0.5) args.insert(args.end(), {"--set", "half.factor=3"});
    auto r = run_keel(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("sq.npy") != std::string::npos);

    std::vector<double> sq, h;
    reference(x, w, b, factor, sq, h);
    check_close(read_npy(dir / "out" / "sq.npy"), sq, {7, 5});
    check_close(read_npy(dir / "out" / "h.npy"), h, {7, 5});
  }
}

TEST_CASE("keel run binds a named dimension to whatever batch size the data has") {
  TempDir dir;
  auto graph = dir.write("mlp.yaml", kMlpGraph);
  Tensor w = random_tensor({8, 5}, 2), b = random_tensor({5}, 3);
  write_npy(dir / "w.npy", w);
  write_npy(dir / "b.npy", b);
  for (std::int64_t batch : {1, 33}) {
    Tensor x = random_tensor({batch, 8}, 9);
    write_npy(dir / "x.npy", x);
    auto r =
        run_keel({"run", graph, "-q", "-o", (dir / "out").string(), "-i", "x=" + (dir / "x.npy").string(),
                  "-i", "w=" + (dir / "w.npy").string(), "-i", "b=" + (dir / "b.npy").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.empty());  // --quiet
    std::vector<double> sq, h;
    reference(x, w, b, 0.5, sq, h);
    check_close(read_npy(dir / "out" / "sq.npy"), sq, {batch, 5});
  }
}

TEST_CASE("the example graph classifies the held-out digits by nearest template") {
  // Inputs come from a small deterministic computation here (the class means
  // of a fixed split), then the result is checked against the same scores
  // computed with plain loops.
  TempDir dir;
  const Tensor pixels = [] {
    Tensor t(DType::f32, {6, 64});
    for (int i = 0; i < 6 * 64; ++i) t.as<float>()[i] = float((i * 7) % 17);
    return t;
  }();
  Tensor templates = random_tensor({64, 10}, 5), offsets = random_tensor({10}, 6);
  write_npy(dir / "p.npy", pixels);
  write_npy(dir / "t.npy", templates);
  write_npy(dir / "o.npy", offsets);
  auto r = run_keel({"run", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_templates.yaml", "-o",
                     (dir / "out").string(), "-i", "pixels=" + (dir / "p.npy").string(), "-i",
                     "templates=" + (dir / "t.npy").string(), "-i", "offsets=" + (dir / "o.npy").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Tensor scores = read_npy(dir / "out" / "scores.npy");
  REQUIRE(scores.shape() == Shape{6, 10});
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 10; ++k) {
      double s = offsets.as<float>()[k];
      for (int j = 0; j < 64; ++j)
        s += pixels.as<float>()[i * 64 + j] / 16.0 * templates.as<float>()[j * 10 + k];
      CHECK(std::abs(scores.as<float>()[i * 10 + k] - s) <= 1e-4 * (1 + std::abs(s)));
    }
}
