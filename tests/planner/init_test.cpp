// Parameter initialization: the statistics each initializer promises, and
// values that depend only on (seed, name, index).
#include "planner/init.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <sstream>

#include "process.hpp"

using namespace keel;

namespace {

struct Moments {
  double mean = 0, var = 0, min = 1e300, max = -1e300;
};

Moments moments(const Tensor& t) {
  Moments m;
  const float* p = t.as<float>();
  const auto n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) m.mean += p[i];
  m.mean /= double(n);
  for (std::int64_t i = 0; i < n; ++i) {
    m.var += (p[i] - m.mean) * (p[i] - m.mean);
    m.min = std::min(m.min, double(p[i]));
    m.max = std::max(m.max, double(p[i]));
  }
  m.var /= double(n);
  return m;
}

Tensor init(const Shape& s, Init how, std::uint64_t seed = 7, const char* name = "fc.weight") {
  Tensor t(DType::f32, s);
  initialize(t, how, seed, name);
  return t;
}

}  // namespace

TEST_CASE(
    "uniform draws lie between 0 (included) and 1 (excluded) and have the uniform distribution's moments") {
  const auto key = stream_key(1, "x");
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double u = uniform_at(key, std::uint64_t(i));
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sq += u * u;
  }
  // Standard errors at n = 2e5: mean 6.5e-4, second moment 6.7e-4; 5 sigma.
  CHECK(std::abs(sum / n - 0.5) < 3.3e-3);
  CHECK(std::abs(sq / n - 1.0 / 3) < 3.4e-3);
}

TEST_CASE("he and xavier initializers have the variance PyTorch's formulas give") {
  // weight [out=256, in=512]: fan_in 512, fan_out 256.
  const Shape s{256, 512};
  const double n = 256.0 * 512;
  struct Case {
    Init init;
    double var;
  };
  for (auto [how, var] : {Case{Init::HeNormal, 2.0 / 512}, Case{Init::HeUniform, 2.0 / 512},
                          Case{Init::XavierNormal, 2.0 / 768}, Case{Init::XavierUniform, 2.0 / 768}}) {
    INFO(init_name(how));
    Moments m = moments(init(s, how));
    // The sample variance of n draws has relative standard error sqrt(2/n)
    // (normal) or less (uniform): 0.4% here; allow 2%.
    CHECK(std::abs(m.var / var - 1) < 0.02);
    CHECK(std::abs(m.mean) < 5 * std::sqrt(var / n));
  }
  Moments u = moments(init(s, Init::HeUniform));
  CHECK(u.max <= std::sqrt(6.0 / 512));
  CHECK(u.min >= -std::sqrt(6.0 / 512));
}

TEST_CASE("convolution weights use fan-in over the receptive field") {
  // [out=64, in=32, 3, 3]: fan_in = 288.
  Moments m = moments(init({64, 32, 3, 3}, Init::HeNormal));
  CHECK(std::abs(m.var / (2.0 / 288) - 1) < 0.05);
}

TEST_CASE("zeros and ones are exact") {
  Moments z = moments(init({3, 5}, Init::Zeros)), o = moments(init({3, 5}, Init::Ones));
  CHECK(z.min == 0.0);
  CHECK(z.max == 0.0);
  CHECK(o.min == 1.0);
  CHECK(o.max == 1.0);
}

TEST_CASE("initial values depend only on the seed, the parameter name and the index") {
  Tensor a = init({10, 10}, Init::HeNormal, 7, "fc1.weight");
  Tensor b = init({10, 10}, Init::HeNormal, 7, "fc1.weight");
  Tensor other_name = init({10, 10}, Init::HeNormal, 7, "fc2.weight");
  Tensor other_seed = init({10, 10}, Init::HeNormal, 8, "fc1.weight");
  CHECK(std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
  CHECK(std::memcmp(a.data(), other_name.data(), a.nbytes()) != 0);
  CHECK(std::memcmp(a.data(), other_seed.data(), a.nbytes()) != 0);
  // Element i does not depend on the tensor's size: a longer stream starts
  // with the same values (same fan-in so the same scale).
  Tensor longer = init({20, 10}, Init::HeUniform, 7, "w"), shorter = init({5, 10}, Init::HeUniform, 7, "w");
  CHECK(std::memcmp(longer.data(), shorter.data(), shorter.nbytes()) == 0);
}

namespace {

InitDef spec(const std::string& kind, std::vector<double> args = {}) {
  InitDef d;
  d.kind = kind;
  d.args = std::move(args);
  return d;
}

Tensor chosen(const Shape& s, const InitDef& how, std::uint64_t seed = 7, const char* name = "fc.weight") {
  Tensor t(DType::f32, s);
  initialize(t, how, seed, name);
  return t;
}

// torch.nn.init on a tensor of `shape`, in PyTorch itself: "max|x| std" of
// what `call` (e.g. "xavier_uniform_(t)") leaves in it.
std::pair<double, double> torch_draws(const std::string& shape, const std::string& call) {
  const std::string code = "import torch\ntorch.manual_seed(0)\nt = torch.empty(" + shape +
                           ")\ntorch.nn.init." + call +
                           "\nprint(t.abs().max().item(), t.std(unbiased=False).item())\n";
  const keel::test::ProcessResult r = keel::test::run_process({"/usr/bin/python3", "-c", code});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.out);
  double max = 0, sd = 0;
  in >> max >> sd;
  return {max, sd};
}

}  // namespace

TEST_CASE("a graph's initializers: zeros and constants exact, normal and uniform with their moments") {
  const Shape big{400, 500};
  const Tensor z = chosen(big, spec("zeros"));
  CHECK(moments(z).min == 0.0);
  CHECK(moments(z).max == 0.0);
  const Tensor c = chosen({3, 4}, spec("constant", {0.25}));
  CHECK(moments(c).min == 0.25);
  CHECK(moments(c).max == 0.25);
  const Moments n = moments(chosen(big, spec("normal", {0.05})));
  CHECK(n.mean == Approx(0).margin(0.05 * 0.01));  // 200000 draws: the mean's error is 0.05 / 447
  CHECK(std::sqrt(n.var) == Approx(0.05).epsilon(0.01));
  const Moments n1 = moments(chosen(big, spec("normal")));  // torch's default std is 1
  CHECK(std::sqrt(n1.var) == Approx(1.0).epsilon(0.01));
  const Moments u = moments(chosen(big, spec("uniform", {-2, 3})));
  CHECK(u.min >= -2.0);
  CHECK(u.max < 3.0);
  CHECK(u.min < -1.99);
  CHECK(u.max > 2.99);
  CHECK(u.mean == Approx(0.5).margin(0.02));
  CHECK(u.var == Approx(25.0 / 12).epsilon(0.01));
}

TEST_CASE("xavier and kaiming follow torch.nn.init's bounds and spreads for fan-in and fan-out") {
  // A convolution weight [out, in, kh, kw]: fan_in = in*kh*kw = 288, fan_out = out*kh*kw = 576.
  const Shape shape{64, 32, 3, 3};
  const std::string torch_shape = "64, 32, 3, 3";
  struct Case {
    const char* ours;
    const char* torch;
  };
  for (const Case& c : {Case{"xavier", "xavier_uniform_(t)"}, Case{"xavier_normal", "xavier_normal_(t)"},
                        Case{"kaiming", "kaiming_uniform_(t, a=0, nonlinearity='relu')"},
                        Case{"kaiming_normal", "kaiming_normal_(t, nonlinearity='relu')"}}) {
    INFO(c.ours);
    const auto [torch_max, torch_std] = torch_draws(torch_shape, c.torch);
    const Moments m = moments(chosen(shape, spec(c.ours)));
    CHECK(std::sqrt(m.var) == Approx(torch_std).epsilon(0.02));
    const double our_max = std::max(-m.min, m.max);
    if (std::string(c.ours).find("normal") == std::string::npos) {
      // Uniform: 18432 draws come within 0.1% of the bound in both.
      CHECK(our_max <= torch_max * 1.001);
      CHECK(our_max == Approx(torch_max).epsilon(0.002));
    }
  }
}

TEST_CASE("a graph's initializer is deterministic by seed and parameter name") {
  const Tensor a = chosen({50, 20}, spec("normal", {0.1}), 11, "fc.weight");
  const Tensor b = chosen({50, 20}, spec("normal", {0.1}), 11, "fc.weight");
  const Tensor other_seed = chosen({50, 20}, spec("normal", {0.1}), 12, "fc.weight");
  const Tensor other_name = chosen({50, 20}, spec("normal", {0.1}), 11, "fc2.weight");
  CHECK(std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
  CHECK(std::memcmp(a.data(), other_seed.data(), a.nbytes()) != 0);
  CHECK(std::memcmp(a.data(), other_name.data(), a.nbytes()) != 0);
}
