#include "noise_draw.hpp"

#include <cmath>

#include "common/keel_rng.hpp"

namespace keel::generative {
namespace {

// The row's dimensions as written, negative ones included (shape_str shows
// those as symbols).
std::string dims_text(const Shape& row) {
  std::string s = "[";
  for (std::size_t i = 0; i < row.size(); ++i) s += (i ? ", " : "") + std::to_string(row[i]);
  return s + "]";
}

}  // namespace

NoiseSpec noise_spec(const Attrs& attrs) {
  NoiseSpec s;
  s.normal = attrs.s("distribution") == "normal";
  s.a = s.normal ? attrs.f("mean") : attrs.f("low");
  s.b = s.normal ? attrs.f("std") : attrs.f("high");
  const auto& dims = attrs.ints("shape");
  s.row.assign(dims.begin(), dims.end());
  return s;
}

Status check_noise(const char* op, const NoiseSpec& spec, Dim rows) {
  const char* a = spec.normal ? "mean" : "low";
  const char* b = spec.normal ? "std" : "high";
  if (!std::isfinite(spec.a) || !std::isfinite(spec.b))
    return fail(op, ": ", a, " and ", b, " must be finite numbers, got ", spec.a, " and ", spec.b);
  if (spec.normal && spec.b < 0) return fail(op, ": std is ", spec.b, "; it must be at least 0");
  if (!spec.normal && spec.a > spec.b)
    return fail(op, ": low is ", spec.a, " and high is ", spec.b, "; low must not exceed high");
  std::int64_t elements = is_static(rows) ? rows : 1;
  for (Dim d : spec.row) {
    if (d < 0) return fail(op, ": shape ", dims_text(spec.row), " has a negative dimension");
    if (d != 0 && elements > kMaxNoiseElements / d) {
      elements = kMaxNoiseElements + 1;
      break;
    }
    elements *= d;
  }
  if (elements > kMaxNoiseElements)
    return fail(op, ": ", is_static(rows) ? std::to_string(rows) : std::string("each of the"),
                " rows of shape ", dims_text(spec.row), " would hold more than 2^40 elements");
  return Status::Ok();
}

void draw_noise(const NoiseSpec& spec, std::uint64_t key, float* out, std::int64_t count) {
  if (spec.normal) {
    for (std::int64_t i = 0; i < count; ++i)
      out[i] = static_cast<float>(spec.a + spec.b * rng::normal_at(key, static_cast<std::uint64_t>(i)));
    return;
  }
  const double width = spec.b - spec.a;
  // The double is below high, but rounding it to f32 can reach high; the
  // largest f32 below high keeps the interval half-open (low == high draws
  // low itself).
  const auto high = static_cast<float>(spec.b);
  const float below_high = spec.a < spec.b ? std::nextafter(high, -INFINITY) : high;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto v = static_cast<float>(spec.a + width * rng::uniform_at(key, static_cast<std::uint64_t>(i)));
    out[i] = v < high ? v : below_high;
  }
}

std::vector<AttrSpec> noise_attrs() {
  constexpr double max_dim = double(kMaxNoiseElements);
  return {
      AttrSpec{.name = "shape",
               .type = AttrType::Ints,
               .doc = "the dimensions of one row, e.g. [16] for 16 latent features per row; [] for one "
                      "value per row",
               .min = 0.0,
               .max = max_dim},
      AttrSpec{.name = "distribution",
               .type = AttrType::String,
               .doc = "normal (mean, std) or uniform on [low, high)",
               .default_value = AttrValue{std::string("normal")},
               .choices = {"normal", "uniform"}},
      AttrSpec{.name = "mean",
               .type = AttrType::Float,
               .doc = "mean of the normal distribution",
               .default_value = AttrValue{0.0}},
      AttrSpec{.name = "std",
               .type = AttrType::Float,
               .doc = "standard deviation of the normal distribution, at least 0",
               .default_value = AttrValue{1.0},
               .min = 0.0},
      AttrSpec{.name = "low",
               .type = AttrType::Float,
               .doc = "lower bound of the uniform distribution",
               .default_value = AttrValue{0.0}},
      AttrSpec{.name = "high",
               .type = AttrType::Float,
               .doc = "upper bound of the uniform distribution, at least low",
               .default_value = AttrValue{1.0}},
  };
}

}  // namespace keel::generative
