// Parameter initialization: the statistics each initializer promises, and
// values that depend only on (seed, name, index).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "planner/init.hpp"

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

TEST_CASE("uniform draws lie in [0, 1) and have the uniform distribution's moments") {
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
