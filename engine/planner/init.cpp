#include "planner/init.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace keel {

namespace {

struct Fans {
  double in = 1, out = 1;
};

Fans fans(const Shape& s) {
  if (s.empty()) return {};
  if (s.size() == 1) return {double(s[0]), double(s[0])};
  double receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= double(s[i]);
  return {double(s[1]) * receptive, double(s[0]) * receptive};
}

// Box-Muller on the uniforms 2i and 2i+1: element i of a normal stream
// depends only on i.
double normal_at(std::uint64_t key, std::uint64_t i) {
  double u1 = uniform_at(key, 2 * i);
  double u2 = uniform_at(key, 2 * i + 1);
  return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

void initialize(Tensor& t, Init init, std::uint64_t seed, std::string_view name) {
  if (t.dtype() != DType::f32) throw std::logic_error("parameters are f32");
  float* p = t.as<float>();
  const auto n = static_cast<std::uint64_t>(t.numel());
  const Fans f = fans(t.shape());
  const std::uint64_t key = stream_key(seed, name);
  auto fill_uniform = [&](double bound) {
    for (std::uint64_t i = 0; i < n; ++i) p[i] = float((2 * uniform_at(key, i) - 1) * bound);
  };
  auto fill_normal = [&](double stddev) {
    for (std::uint64_t i = 0; i < n; ++i) p[i] = float(normal_at(key, i) * stddev);
  };
  switch (init) {
    case Init::Zeros:
      for (std::uint64_t i = 0; i < n; ++i) p[i] = 0.0f;
      break;
    case Init::Ones:
      for (std::uint64_t i = 0; i < n; ++i) p[i] = 1.0f;
      break;
    case Init::HeNormal:
      fill_normal(std::sqrt(2.0 / f.in));
      break;
    case Init::HeUniform:
      fill_uniform(std::sqrt(6.0 / f.in));
      break;
    case Init::XavierNormal:
      fill_normal(std::sqrt(2.0 / (f.in + f.out)));
      break;
    case Init::XavierUniform:
      fill_uniform(std::sqrt(6.0 / (f.in + f.out)));
      break;
  }
}

}  // namespace keel
