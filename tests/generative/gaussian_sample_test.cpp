// gaussian_sample by its properties: eps is standard normal over many
// elements, fresh each step and seed, the same for the same (seed, step)
// and for a fresh op; inference is the mean (or a draw, when asked); the
// gradients match the definition with the eps recovered from the output,
// and central finite differences of the op itself. PyTorch parity given the
// same eps is in generative_parity_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

keel::Attrs inference(const char* mode) { return keel::Attrs({{"inference", std::string(mode)}}); }

// eps of a draw: z with mean 0 and logvar 0 is eps itself.
Floats draw_eps(std::size_t n, std::uint64_t seed, std::uint64_t step, bool training = true,
                const char* mode = "mean") {
  Harness h(op_maker("gaussian_sample"), inference(mode), std::vector<Shape>{{keel::Dim(n)}, {keel::Dim(n)}},
            training);
  h.set_step(step, seed);
  return h.forward({Floats(n, 0.0f), Floats(n, 0.0f)})[0];
}

struct Moments {
  double mean = 0, var = 0, within_one = 0;
};

Moments moments(const Floats& v) {
  Moments m;
  for (float x : v) m.mean += x;
  m.mean /= double(v.size());
  for (float x : v) {
    m.var += (x - m.mean) * (x - m.mean);
    m.within_one += std::abs(x) < 1.0f;
  }
  m.var /= double(v.size());
  m.within_one /= double(v.size());
  return m;
}

// Five standard errors of each statistic of n standard normal draws: the
// mean's is 1/sqrt(n), the variance's sqrt(2/n), a proportion's
// sqrt(p(1-p)/n). P(|x| < 1) = 0.682689.
void check_standard_normal(const Floats& eps) {
  const double n = double(eps.size());
  const Moments m = moments(eps);
  INFO("mean " << m.mean << ", variance " << m.var << ", within one sigma " << m.within_one);
  CHECK(std::abs(m.mean) <= 5 / std::sqrt(n));
  CHECK(std::abs(m.var - 1.0) <= 5 * std::sqrt(2 / n));
  CHECK(std::abs(m.within_one - 0.682689) <= 5 * std::sqrt(0.682689 * 0.317311 / n));
}

std::size_t equal_elements(const Floats& a, const Floats& b) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return same;
}

}  // namespace

TEST_CASE("gaussian_sample draws eps with mean 0 and standard deviation 1 over many elements") {
  const Floats eps = draw_eps(std::size_t{1} << 20, 17, 3);
  check_standard_normal(eps);
  // Each half on its own, and every other element: a weak mixer or a
  // Box-Muller pairing mistake shows up as structure.
  check_standard_normal(Floats(eps.begin(), eps.begin() + eps.size() / 2));
  Floats odd;
  for (std::size_t i = 1; i < eps.size(); i += 2) odd.push_back(eps[i]);
  check_standard_normal(odd);
  for (float e : eps) REQUIRE(std::isfinite(e));
}

TEST_CASE(
    "gaussian_sample draws the same eps for the same seed and step, and others for another step or seed") {
  const std::size_t n = 4096;
  const Floats base = draw_eps(n, 9, 3);
  CHECK(draw_eps(n, 9, 3) == base);  // a fresh op, the same draw
  CHECK(equal_elements(draw_eps(n, 9, 4), base) == 0);
  CHECK(equal_elements(draw_eps(n, 10, 3), base) == 0);
  // Inference with inference: sample draws exactly what training draws at that step.
  CHECK(draw_eps(n, 9, 3, false, "sample") == base);
}

TEST_CASE("gaussian_sample in inference returns the mean unless asked to sample") {
  std::mt19937 rng(3);
  const Floats mean = random_floats(rng, 24), logvar = random_floats(rng, 24, -2.0f, 1.0f);
  Harness h(op_maker("gaussian_sample"), keel::Attrs{}, {{4, 6}, {4, 6}}, false);
  h.set_step(5, 8);
  CHECK(h.forward({mean, logvar})[0] == mean);
  Harness s(op_maker("gaussian_sample"), inference("sample"), {{4, 6}, {4, 6}}, false);
  s.set_step(5, 8);
  CHECK(equal_elements(s.forward({mean, logvar})[0], mean) == 0);
}

TEST_CASE("gaussian_sample scales eps by exp(logvar / 2) and shifts it by the mean") {
  const std::size_t n = 1000;
  std::mt19937 rng(4);
  const Floats mean = random_floats(rng, n, -3.0f, 3.0f), logvar = random_floats(rng, n, -4.0f, 2.0f);
  Harness h(op_maker("gaussian_sample"), keel::Attrs{}, std::vector<Shape>{{keel::Dim(n)}, {keel::Dim(n)}});
  h.set_step(2, 21);
  const Floats z = h.forward({mean, logvar})[0];
  const Floats eps = draw_eps(n, 21, 2);
  Doubles want(n);
  for (std::size_t i = 0; i < n; ++i) want[i] = mean[i] + std::exp(0.5 * logvar[i]) * double(eps[i]);
  check_close(z, want, 1e-6, 1e-6, "z");
}

TEST_CASE("gaussian_sample gradients follow dmean = g and dlogvar = g * eps * exp(logvar / 2) / 2") {
  const std::size_t n = 60;
  std::mt19937 rng(5);
  const Floats mean = random_floats(rng, n), logvar = random_floats(rng, n, -2.0f, 1.0f);
  const Floats g = random_floats(rng, n);
  Harness h(op_maker("gaussian_sample"), keel::Attrs{}, {{6, 10}, {6, 10}});
  h.set_step(11, 12345);
  const Floats z = h.forward({mean, logvar})[0];
  const auto grads = h.backward({mean, logvar}, {z}, {g});
  Doubles want_mean(n), want_logvar(n);
  for (std::size_t i = 0; i < n; ++i) {
    // The eps forward used, recovered from its output.
    const double sd = std::exp(0.5 * logvar[i]);
    const double eps = (double(z[i]) - mean[i]) / sd;
    want_mean[i] = g[i];
    want_logvar[i] = g[i] * eps * 0.5 * sd;
  }
  check_close(grads[0], want_mean, 0, 0, "grad_mean");
  // eps is recovered through an f32 subtraction: ~1e-7 / sd absolute.
  check_close(grads[1], want_logvar, 1e-5, 1e-6, "grad_logvar");
}

TEST_CASE("gaussian_sample gradients match central finite differences of the op at the same step") {
  const std::size_t n = 12;
  std::mt19937 rng(6);
  const std::vector<Floats> in{random_floats(rng, n), random_floats(rng, n, -1.5f, 1.0f)};
  const Floats g = random_floats(rng, n);
  auto loss = [&](const std::vector<Floats>& x) {
    Harness h(op_maker("gaussian_sample"), keel::Attrs{}, {{3, 4}, {3, 4}});
    h.set_step(4, 77);
    const Floats z = h.forward(x)[0];
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += double(g[i]) * z[i];
    return s;
  };
  Harness h(op_maker("gaussian_sample"), keel::Attrs{}, {{3, 4}, {3, 4}});
  h.set_step(4, 77);
  const auto grads = h.backward(in, {h.forward(in)[0]}, {g});
  for (std::size_t which = 0; which < 2; ++which) {
    Doubles want(n);
    const float step = 1e-2f;
    for (std::size_t i = 0; i < n; ++i) {
      auto up = in, down = in;
      up[which][i] += step;
      down[which][i] -= step;
      // The perturbed inputs as f32 hold them: the quotient uses the real step.
      want[i] = (loss(up) - loss(down)) / (double(up[which][i]) - double(down[which][i]));
    }
    // z is linear in mean (exact) and exponential in logvar: the central
    // quotient's error is step^2 / 24 of the third derivative, ~1e-5
    // relative, plus f32 rounding of z over the 2e-2 step, ~1e-5.
    check_close(grads[which], want, 1e-3, 1e-4, which == 0 ? "grad_mean" : "grad_logvar");
  }
}

TEST_CASE("gaussian_sample refuses mean and logvar of different shapes or dtypes, saying which") {
  const auto& make = op_maker("gaussian_sample");
  auto op = make(keel::Attrs{});
  const std::vector<keel::TensorSpec> shapes{{keel::DType::f32, {4, 3}}, {keel::DType::f32, {4, 2}}};
  keel::InferContext ctx{shapes, {}, {}};
  const keel::Status st = op->infer(ctx);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() ==
        "gaussian_sample: mean is [4, 3] but logvar is [4, 2]; they must have the same shape");
  const std::vector<keel::TensorSpec> dtypes{{keel::DType::f32, {4}}, {keel::DType::f64, {4}}};
  keel::InferContext ctx2{dtypes, {}, {}};
  const keel::Status st2 = op->infer(ctx2);
  REQUIRE_FALSE(st2.ok());
  CHECK(st2.message().find("logvar is f64; both must be f32") != std::string::npos);
}
