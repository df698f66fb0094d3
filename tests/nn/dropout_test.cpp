// dropout, checked by its properties. PyTorch parity of the random mask is
// not meaningful (PyTorch draws it from a different generator), so these
// statistical and reproducibility checks stand in for it; the cases without
// randomness (p = 0, inference) are compared with PyTorch in
// loss_parity_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "common/keel_rng.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"
#include "raw_op.hpp"

using namespace optest;

namespace {

keel::Attrs with_p(double p) { return keel::Attrs({{"p", keel::AttrValue{p}}}); }

// Inputs in [0.5, 1.5]: never zero, so a zero in the output is a drop.
Floats nonzero(std::mt19937& rng, std::size_t n) { return random_floats(rng, n, 0.5f, 1.5f); }

std::size_t zeros(const Floats& v) {
  std::size_t n = 0;
  for (float x : v) n += x == 0.0f;
  return n;
}

// Five standard deviations of a binomial count: a correct mask fails this
// about once in 1.7 million runs, and the seeds here are fixed anyway.
void check_drop_rate(std::size_t dropped, std::size_t n, double p) {
  const double sigma = std::sqrt(static_cast<double>(n) * p * (1 - p));
  INFO("dropped " << dropped << " of " << n << " with p = " << p);
  CHECK(std::abs(static_cast<double>(dropped) - p * static_cast<double>(n)) <= 5 * sigma);
}

}  // namespace

TEST_CASE("dropout in training zeroes a fraction p of a large tensor and scales the rest by 1/(1-p)") {
  const std::size_t n = std::size_t{1} << 20;
  std::mt19937 rng(41);
  const Floats x = nonzero(rng, n);
  for (double p : {0.1, 0.5, 0.9}) {
    Harness h(op_maker("dropout"), with_p(p), {{1024, 1024}});
    h.set_step(7, 12345);
    const Floats y = h.forward({x})[0];
    check_drop_rate(zeros(y), n, p);
    const auto scale = static_cast<float>(1.0 / (1.0 - p));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) wrong += !(y[i] == 0.0f || y[i] == x[i] * scale);
    CHECK(wrong == 0);
  }
}

TEST_CASE("dropout masks are spread evenly: each half and each stride class drops at rate p") {
  // A weak mixer shows up as structure: runs of equal bits, or a bias on
  // even or odd elements.
  const std::size_t n = 1 << 18;
  Harness h(op_maker("dropout"), with_p(0.3), std::vector<Shape>{{static_cast<keel::Dim>(n)}});
  h.set_step(0, 1);
  const Floats y = h.forward({Floats(n, 1.0f)})[0];
  for (std::size_t stride : {2u, 3u, 64u}) {
    std::size_t dropped = 0, total = 0;
    for (std::size_t i = 0; i < n; i += stride, ++total) dropped += y[i] == 0.0f;
    check_drop_rate(dropped, total, 0.3);
  }
  check_drop_rate(zeros(Floats(y.begin(), y.begin() + n / 2)), n / 2, 0.3);
}

TEST_CASE("dropout draws the same mask for the same seed and step, and another for another step or seed") {
  std::mt19937 rng(42);
  const Floats x = nonzero(rng, 4096);
  auto run = [&](std::uint64_t seed, std::uint64_t step) {
    // A fresh op each time: the mask must not depend on state an op keeps.
    Harness h(op_maker("dropout"), with_p(0.5), {{64, 64}});
    h.set_step(step, seed);
    return h.forward({x})[0];
  };
  const Floats base = run(9, 3);
  CHECK(run(9, 3) == base);
  auto disagreement = [&](const Floats& other) {
    std::size_t d = 0;
    for (std::size_t i = 0; i < base.size(); ++i) d += (base[i] == 0.0f) != (other[i] == 0.0f);
    return d;
  };
  // Independent masks with p = 1/2 disagree on half the elements.
  check_drop_rate(disagreement(run(9, 4)), base.size(), 0.5);
  check_drop_rate(disagreement(run(10, 3)), base.size(), 0.5);
  // Swapping seed and step must not give the same stream.
  check_drop_rate(disagreement(run(3, 9)), base.size(), 0.5);
}

TEST_CASE("dropout's mask for an element depends only on its index, not on the tensor's shape") {
  std::mt19937 rng(43);
  const Floats x = nonzero(rng, 600);
  Harness flat(op_maker("dropout"), with_p(0.4), std::vector<Shape>{{600}});
  Harness grid(op_maker("dropout"), with_p(0.4), {{4, 10, 15}});
  flat.set_step(2, 5);
  grid.set_step(2, 5);
  CHECK(flat.forward({x})[0] == grid.forward({x})[0]);
}

TEST_CASE("dropout backward passes gradient exactly where forward kept the element, scaled by 1/(1-p)") {
  std::mt19937 rng(44);
  Harness h(op_maker("dropout"), with_p(0.25), {{32, 40}});
  const float scale = static_cast<float>(1.0 / 0.75);
  for (std::uint64_t step = 0; step < 4; ++step) {
    INFO("step " << step);
    h.set_step(step, 77);
    const Floats x = nonzero(rng, 1280), gy = random_floats(rng, 1280);
    const Floats y = h.forward({x})[0];
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < x.size(); ++i) wrong += gx[i] != (y[i] == 0.0f ? 0.0f : gy[i] * scale);
    CHECK(wrong == 0);
    check_drop_rate(zeros(y), x.size(), 0.25);
  }
}

TEST_CASE("dropout is the identity in inference and with p = 0, forward and backward") {
  std::mt19937 rng(45);
  const Floats x = random_floats(rng, 100), gy = random_floats(rng, 100);
  Harness inference(op_maker("dropout"), with_p(0.5), std::vector<Shape>{{10, 10}}, false);
  inference.set_step(3, 3);
  CHECK(inference.forward({x})[0] == x);
  Harness p0(op_maker("dropout"), with_p(0.0), {{10, 10}});
  p0.set_step(3, 3);
  const Floats y = p0.forward({x})[0];
  CHECK(y == x);
  CHECK(p0.backward({x}, {y}, {gy})[0] == gy);
}

TEST_CASE("dropout rejects p below 0 or from 1 on") {
  for (double p : {1.0, 1.5, -0.1}) {
    INFO("p = " << p);
    const auto r = infer_only(op_maker("dropout"), with_p(p), f32_specs({{4}}));
    CHECK_FALSE(r.status.ok());
    CHECK_THAT(r.status.message(), Catch::StartsWith("dropout: p is "));
  }
  const keel::AttrSpec p_attr = op_schema("dropout").attrs.at(0);
  CHECK(*p_attr.min == 0.0);
  CHECK(*p_attr.max < 1.0);
  CHECK(*p_attr.max > 0.999999);
}

TEST_CASE("the counter-based generator's uniforms have the moments of U(0, 1)") {
  const std::uint64_t key = keel::rng::stream_key(1, 0);
  const std::size_t n = 1 << 20;
  double sum = 0, sum_sq = 0;
  std::size_t out_of_range = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = keel::rng::uniform_at(key, i);
    out_of_range += !(u >= 0.0 && u < 1.0);
    sum += u;
    sum_sq += u * u;
  }
  CHECK(out_of_range == 0);
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  // Standard errors: sqrt(1/12 / n) ~ 2.8e-4 for the mean, ~1e-4 for the variance.
  CHECK(std::abs(mean - 0.5) < 5 * 2.9e-4);
  CHECK(std::abs(var - 1.0 / 12) < 5 * 1.0e-4);
}

TEST_CASE("threshold_53 drops exactly the draws below p") {
  // u < p <=> k < ceil(p * 2^53) for a draw u = k * 2^-53.
  CHECK(keel::rng::threshold_53(0.0) == 0);
  CHECK(keel::rng::threshold_53(0.5) == (std::uint64_t{1} << 52));
  CHECK(keel::rng::threshold_53(0x1.0p-53 * 1.5) == 2);  // draws 0 and 1 are below 1.5 * 2^-53
  const double p = 0.3;
  const std::uint64_t t = keel::rng::threshold_53(p);
  CHECK(static_cast<double>(t - 1) * 0x1.0p-53 < p);
  CHECK(static_cast<double>(t) * 0x1.0p-53 >= p);
}
