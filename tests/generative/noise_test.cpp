// noise and noise_like by their properties: output shapes, the moments and
// range of each distribution over many draws, reproducibility per (seed,
// step), rows independent of the row count, and refusals that say why. The
// exact values are compared with a NumPy implementation of the generator in
// generative_parity_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using keel::AttrValue;
using keel::DType;

namespace {

using AttrMap = std::map<std::string, AttrValue>;

AttrMap with_shape(std::vector<std::int64_t> row, AttrMap more = {}) {
  more["shape"] = std::move(row);
  return more;
}

Floats noise(AttrMap attrs, std::uint64_t seed, std::uint64_t step, bool training = true) {
  Harness h(op_maker("noise"), keel::Attrs(std::move(attrs)), std::vector<Shape>{}, training);
  h.set_step(step, seed);
  return h.forward({})[0];
}

Floats noise_like(AttrMap attrs, keel::TensorSpec like, std::uint64_t seed, std::uint64_t step,
                  Shape* out_shape = nullptr) {
  Harness h(op_maker("noise_like"), keel::Attrs(std::move(attrs)), TypedInputs{{like}});
  h.set_step(step, seed);
  if (out_shape) *out_shape = h.output_shape();
  return h.forward({Floats(count(like.shape), 1.0f)})[0];
}

double mean_of(const Floats& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / double(v.size());
}

double variance_of(const Floats& v) {
  const double m = mean_of(v);
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return s / double(v.size());
}

keel::Status infer_status(const char* op, AttrMap attrs, std::vector<keel::TensorSpec> in) {
  keel::testing::Instance inst;
  return inst.create(op_maker(op), keel::Attrs(std::move(attrs)), std::move(in));
}

}  // namespace

TEST_CASE("noise draws count rows of the given shape, 64 by default") {
  Harness h(op_maker("noise"), keel::Attrs(with_shape({2, 3})), std::vector<Shape>{});
  CHECK(h.output_shape() == Shape{64, 2, 3});
  CHECK(h.output_dtype() == DType::f32);
  Harness one(op_maker("noise"), keel::Attrs(with_shape({}, {{"count", std::int64_t{5}}})),
              std::vector<Shape>{});
  CHECK(one.output_shape() == Shape{5});
  Harness none(op_maker("noise"), keel::Attrs(with_shape({4}, {{"count", std::int64_t{0}}})),
               std::vector<Shape>{});
  CHECK(none.output_shape() == Shape{0, 4});
  CHECK(none.forward({})[0].empty());
}

TEST_CASE("noise_like takes its rows from like's first dimension, whatever like's dtype") {
  for (DType t : {DType::f32, DType::u8, DType::i64}) {
    Shape shape;
    const Floats z = noise_like(with_shape({16}), {t, {7, 1, 8, 8}}, 1, 0, &shape);
    CHECK(shape == Shape{7, 16});
    CHECK(z.size() == 7 * 16);
  }
  // A symbolic batch stays symbolic until data binds it.
  auto op = op_maker("noise_like")(keel::Attrs(with_shape({3})));
  const std::vector<keel::TensorSpec> in{{DType::f32, {keel::symbolic_dim(0), 5}}};
  keel::InferContext ctx{in, {}, {}};
  REQUIRE(op->infer(ctx).ok());
  CHECK(ctx.outputs.at(0).shape == Shape{keel::symbolic_dim(0), 3});
}

TEST_CASE("noise's normal draws have the requested mean and standard deviation") {
  const std::size_t n = std::size_t{1} << 20;
  for (auto [mean, std] : {std::pair{0.0, 1.0}, std::pair{-2.5, 0.3}, std::pair{4.0, 3.0}}) {
    INFO("mean " << mean << ", std " << std);
    const Floats z =
        noise(with_shape({1024}, {{"count", std::int64_t{1024}}, {"mean", mean}, {"std", std}}), 5, 2);
    REQUIRE(z.size() == n);
    // Five standard errors: std / sqrt(n) for the mean, std^2 sqrt(2 / n)
    // for the variance.
    CHECK(std::abs(mean_of(z) - mean) <= 5 * std / std::sqrt(double(n)));
    CHECK(std::abs(variance_of(z) - std * std) <= 5 * std * std * std::sqrt(2.0 / double(n)));
  }
  // std 0: every value is the mean.
  const Floats flat = noise(with_shape({8}, {{"mean", 1.5}, {"std", 0.0}}), 5, 2);
  for (float v : flat) CHECK(v == 1.5f);
}

TEST_CASE(
    "noise's uniform draws lie from low up to but excluding high, with the uniform's mean and variance") {
  const std::size_t n = std::size_t{1} << 20;
  const double low = -1.0, high = 3.0, w = high - low;
  const Floats z = noise(with_shape({1 << 10}, {{"count", std::int64_t{1} << 10},
                                                {"distribution", std::string("uniform")},
                                                {"low", low},
                                                {"high", high}}),
                         6, 0);
  float lo = z[0], hi = z[0];
  for (float v : z) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= low);
  CHECK(hi < high);
  CHECK(lo < low + 1e-3);  // ~4000 values per 1e-3 of the range: the ends are reached
  CHECK(hi > high - 1e-3);
  // The uniform's variance is w^2 / 12, its variance's variance w^4 / 180.
  CHECK(std::abs(mean_of(z) - (low + high) / 2) <= 5 * w / std::sqrt(12.0 * double(n)));
  CHECK(std::abs(variance_of(z) - w * w / 12) <= 5 * w * w / std::sqrt(180.0 * double(n)));
}

TEST_CASE("noise draws the same values for the same seed and step, and others for another step or seed") {
  for (const char* distribution : {"normal", "uniform"}) {
    INFO(distribution);
    const AttrMap attrs = with_shape({32}, {{"distribution", std::string(distribution)}});
    const Floats base = noise(attrs, 9, 3);
    CHECK(noise(attrs, 9, 3) == base);
    std::size_t same_step = 0, same_seed = 0;
    const Floats other_step = noise(attrs, 9, 4), other_seed = noise(attrs, 10, 3);
    for (std::size_t i = 0; i < base.size(); ++i) {
      same_step += other_step[i] == base[i];
      same_seed += other_seed[i] == base[i];
    }
    CHECK(same_step == 0);
    CHECK(same_seed == 0);
    // Inference draws as training does at the step it is given.
    CHECK(noise(attrs, 9, 3, false) == base);
  }
}

TEST_CASE("noise_like gives row r the same values whatever the number of rows") {
  const Floats small = noise_like(with_shape({4}), {DType::f32, {3, 2}}, 12, 7);
  const Floats large = noise_like(with_shape({4}), {DType::f32, {10, 2}}, 12, 7);
  CHECK(Floats(large.begin(), large.begin() + 12) == small);
  // And noise with the same count, seed and step draws the same stream.
  CHECK(noise(with_shape({4}, {{"count", std::int64_t{3}}}), 12, 7) == small);
}

TEST_CASE("noise and noise_like refuse bad attributes and a scalar like, saying why") {
  using Catch::Matchers::Contains;
  const AttrMap uniform{{"distribution", std::string("uniform")}, {"low", 2.0}, {"high", 1.0}};
  CHECK_THAT(infer_status("noise", with_shape({3}, uniform), {}).message(),
             Contains("noise: low is 2 and high is 1; low must not exceed high"));
  CHECK_THAT(infer_status("noise_like", with_shape({3}, uniform), {{DType::f32, {4}}}).message(),
             Contains("noise_like: low is 2 and high is 1; low must not exceed high"));
  CHECK_THAT(infer_status("noise", with_shape({3}, {{"std", -1.0}}), {}).message(),
             Contains("noise: std is -1; it must be at least 0"));
  CHECK_THAT(infer_status("noise", with_shape({3}, {{"mean", std::nan("")}}), {}).message(),
             Contains("noise: mean and std must be finite numbers"));
  CHECK_THAT(infer_status("noise", with_shape({3, -2}), {}).message(),
             Contains("noise: shape [3, -2] has a negative dimension"));
  CHECK_THAT(
      infer_status("noise", with_shape({1 << 20, 1 << 20}, {{"count", std::int64_t{2}}}), {}).message(),
      Contains("noise: 2 rows of shape [1048576, 1048576] would hold more than 2^40 elements"));
  CHECK_THAT(infer_status("noise_like", with_shape({3}), {{DType::f32, {}}}).message(),
             Contains("noise_like: like is a scalar; it needs a first (row) dimension"));
}

TEST_CASE("noise's uniform values stay below high where rounding to f32 would reach it") {
  // f32 spacing at 1e8 is 8: about half the doubles in [1e8, 1e8 + 8) round
  // up to 1e8 + 8, which is high itself.
  const double low = 1e8, high = 1e8 + 8;
  const Floats z = noise(
      with_shape({1000}, {{"distribution", std::string("uniform")}, {"low", low}, {"high", high}}), 2, 0);
  for (float v : z) {
    REQUIRE(v >= low);
    REQUIRE(v < high);
  }
  // low == high: every value is low.
  const Floats flat =
      noise(with_shape({10}, {{"distribution", std::string("uniform")}, {"low", 2.0}, {"high", 2.0}}), 2, 0);
  for (float v : flat) CHECK(v == 2.0f);
}
