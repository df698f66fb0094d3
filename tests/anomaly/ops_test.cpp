// The anomaly ops against naive references written here: counts, z-scores,
// ranges, medians and norms computed the obvious way, in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace keel;
using optest::Floats;
using optest::Harness;
using optest::op_maker;
using optest::op_schema;
using Shapes = std::vector<Shape>;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// The schema's defaults with `set` applied, as the engine would pass them.
Attrs attrs_for(const OpSchema& schema, std::map<std::string, AttrValue> set) {
  std::map<std::string, AttrValue> v;
  for (const auto& a : schema.attrs)
    if (a.default_value) v[a.name] = *a.default_value;
  for (auto& [k, x] : set) v[k] = x;
  return Attrs(v);
}

Attrs check(std::map<std::string, AttrValue> set) {
  return attrs_for(op_schema("anomaly_check"), std::move(set));
}

struct Out {
  float flag, score, limit;
  Floats mask;
};

Out run(Harness& h, const Floats& x) {
  auto out = h.forward({x});
  return {out[0][0], out[1][0], out[2][0], out[3]};
}

}  // namespace

TEST_CASE("every guard op declares the guard contract") {
  for (const OpSchema& s : {op_schema("anomaly_check"), op_schema("anomaly_distance")}) {
    CHECK(s.role == keel::Role::guard);
    REQUIRE(s.outputs.size() == 4);
    CHECK(s.outputs[0].name == "flag");
    CHECK(s.outputs[1].name == "score");
    CHECK(s.outputs[2].name == "limit");
    CHECK(s.outputs[3].name == "mask");
    auto has = [&](const char* n) {
      return std::any_of(s.attrs.begin(), s.attrs.end(),
                         [&](const AttrSpec& a) { return a.name == n && a.type == AttrType::String; });
    };
    CHECK(has("check"));
    CHECK(has("action"));
  }
  CHECK(op_schema("mask_rows").role == keel::Role::none);
}

TEST_CASE("nonfinite counts NaN and infinities and masks their rows") {
  std::mt19937 rng(1);
  Floats x = optest::random_floats(rng, 7 * 5, -1e30f, 1e30f);
  x[3] = kNaN;      // row 0
  x[12] = kInf;     // row 2
  x[13] = -kInf;    // row 2
  x[34] = kNaN;     // row 6
  x[20] = 3.4e38f;  // finite, however large
  Harness h(op_maker("anomaly_check"), check({{"check", std::string("nonfinite")}}), Shapes{{7, 5}}, true);
  const Out o = run(h, x);
  std::int64_t naive = 0;
  Floats mask(7, 0.0f);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (std::isnan(x[i]) || std::isinf(x[i])) ++naive, mask[i / 5] = 1.0f;
  CHECK(o.score == float(naive));
  CHECK(o.flag == 1.0f);
  CHECK(o.limit == 0.0f);
  CHECK(o.mask == mask);

  Harness clean(op_maker("anomaly_check"), check({{"check", std::string("nonfinite")}}), Shapes{{}}, true);
  CHECK(run(clean, {2.5f}).flag == 0.0f);
  CHECK(run(clean, {kNaN}).flag == 1.0f);
  CHECK(clean.output_shape(3) == Shape{1});
}

TEST_CASE("the non-finite scan agrees with a naive count on long inputs with every bit pattern") {
  std::mt19937 rng(2);
  std::uniform_int_distribution<std::uint32_t> bits;
  Floats x(100003);
  for (float& v : x) {
    const std::uint32_t b = bits(rng);
    std::memcpy(&v, &b, sizeof v);
  }
  Harness h(op_maker("anomaly_check"), check({{"check", std::string("nonfinite")}}), Shapes{{100003}}, true);
  std::int64_t naive = 0;
  for (float v : x) naive += !std::isfinite(v);
  REQUIRE(naive > 0);
  CHECK(run(h, x).score == float(naive));
}

TEST_CASE("zscore flags rows whose max or mean |z| exceeds the threshold") {
  std::mt19937 rng(3);
  const int rows = 40, cols = 6;
  Floats x = optest::random_floats(rng, rows * cols, -3, 3);
  x[7 * cols + 2] = 40.0f;  // far out in one feature
  x[9 * cols + 0] = kNaN;
  const Floats mean{0.1f, -0.2f, 0.3f, 0.0f, 0.5f, -1.0f};
  const Floats stdev{1.0f, 0.5f, 2.0f, 0.0f, 1.5f, 0.8f};  // a zero std meets the floor
  for (const std::string reduce : {"max", "mean"}) {
    const double threshold = reduce == "max" ? 2.5 : 1.2, floor = 0.25;
    Harness h(op_maker("anomaly_check"),
              check({{"check", std::string("zscore")},
                     {"reduce", reduce},
                     {"threshold", threshold},
                     {"min_std", floor}}),
              {{rows, cols}}, false);
    REQUIRE(h.param_shape(0) == Shape{cols});
    REQUIRE(h.param_shape(4) == Shape{0});
    h.params()[0] = mean;
    h.params()[1] = stdev;
    const Out o = run(h, x);
    double worst = 0;
    bool any = false, nan = false;
    for (int r = 0; r < rows; ++r) {
      double stat = 0;
      for (int c = 0; c < cols; ++c) {
        const double z = std::fabs((double(x[r * cols + c]) - mean[c]) / std::max(double(stdev[c]), floor));
        stat = reduce == "max" ? std::max(stat, z) : stat + z / cols;
        if (std::isnan(z)) stat = NAN;
      }
      const bool flagged = !(stat <= threshold);
      INFO(reduce << " row " << r << " stat " << stat);
      CHECK(o.mask[r] == (flagged ? 1.0f : 0.0f));
      any = any || flagged;
      nan = nan || std::isnan(stat);
      if (!std::isnan(stat)) worst = std::max(worst, stat);
    }
    CHECK(o.flag == (any ? 1.0f : 0.0f));
    CHECK(o.mask[7] == 1.0f);
    CHECK(o.mask[9] == 1.0f);  // NaN is never within bounds
    CHECK(std::isnan(o.score) == nan);
    CHECK(o.limit == float(threshold));
    // Without the NaN row the score is the largest row statistic.
    Floats y = x;
    y[9 * cols] = 0.0f;
    const Out o2 = run(h, y);
    CHECK_FALSE(std::isnan(o2.score));
    CHECK(o2.score >= float(threshold));
  }
}

TEST_CASE("range checks given bounds and calibrated bounds widened by the margin") {
  const int rows = 4, cols = 3;
  const Floats x{0, 5, 16, -0.5f, 3, 2, 1, 17, 4, kNaN, 1, 1};
  Harness given(
      op_maker("anomaly_check"),
      check({{"check", std::string("range")}, {"bounds", std::string("given")}, {"min", 0.0}, {"max", 16.0}}),
      {{rows, cols}}, false);
  Out o = run(given, x);
  CHECK(o.score == 3.0f);  // -0.5, 17, NaN
  CHECK(o.mask == Floats{0, 1, 1, 1});

  Harness cal(op_maker("anomaly_check"), check({{"check", std::string("range")}, {"margin", 0.25}}),
              Shapes{{rows, cols}}, false);
  cal.params()[2] = {0, 0, 2};   // min
  cal.params()[3] = {4, 16, 2};  // max: feature 2 is constant, so its margin is 0
  // Accepted: [-1, 5], [-4, 20], [2, 2].
  o = run(cal, {-1, 20, 2, 5, -4, 2, -1.01f, 0, 2, 0, 0, 2.001f});
  CHECK(o.mask == Floats{0, 0, 1, 1});
  CHECK(o.score == 2.0f);
  CHECK(o.flag == 1.0f);
}

TEST_CASE("loss_spike compares with the running median of accepted losses, in training only") {
  const int window = 4;
  const double k = 3.0;
  Harness h(op_maker("anomaly_check"),
            check({{"check", std::string("loss_spike")}, {"threshold", k}, {"window", std::int64_t{window}}}),
            Shapes{{}}, true);
  REQUIRE(h.param_shape(4) == Shape{window + 1});
  const Floats losses{5, 4, 3, 50, 2, 2.5f, 8, 1, kNaN, 1.2f, 30, 0.9f};
  std::vector<double> accepted;  // the naive reference: every accepted loss, in order
  for (float v : losses) {
    const Out o = run(h, {v});
    bool want = !std::isfinite(v);
    const std::size_t have = std::min<std::size_t>(accepted.size(), window);
    if (have >= std::size_t(window)) {  // window < 5: the whole window is enough history
      std::vector<double> last(accepted.end() - window, accepted.end());
      std::sort(last.begin(), last.end());
      const double med = (last[1] + last[2]) / 2;
      want = want || !(v <= k * med);
      if (std::isfinite(v)) CHECK(o.score == Approx(v / med));
    }
    INFO("loss " << v);
    CHECK(o.flag == (want ? 1.0f : 0.0f));
    if (!want) accepted.push_back(v);
  }
  // By hand: 50 comes before the window is full; 8 is just under 3 x 2.75;
  // only NaN and 30 (over 3 x 1.85) fire.
  CHECK(accepted.size() == losses.size() - 2);

  Harness eval(op_maker("anomaly_check"),
               check({{"check", std::string("loss_spike")}, {"window", std::int64_t{2}}}), Shapes{{}}, false);
  for (float v : {1.0f, 1.0f, 1.0f, 1000.0f, kNaN}) CHECK(run(eval, {v}).flag == 0.0f);
  CHECK(eval.params()[4] == Floats{0, 0, 0});  // nothing recorded
}

TEST_CASE("grad_norm fires above max and below min, with the L2 norm as score") {
  std::mt19937 rng(4);
  const Floats norms = optest::random_floats(rng, 9, 0, 3);
  double sq = 0;
  for (float v : norms) sq += double(v) * v;
  const double norm = std::sqrt(sq);
  auto with = [&](double lo, double hi) {
    Harness h(op_maker("anomaly_check"),
              check({{"check", std::string("grad_norm")}, {"min", lo}, {"max", hi}}), Shapes{{9}}, true);
    return run(h, norms);
  };
  Out o = with(0, norm * 1.01);
  CHECK(o.flag == 0.0f);
  CHECK(o.score == Approx(norm).epsilon(1e-6));
  o = with(0, norm * 0.99);
  CHECK(o.flag == 1.0f);
  CHECK(o.limit == float(norm * 0.99));
  o = with(norm * 1.5, norm * 2);
  CHECK(o.flag == 1.0f);
  CHECK(o.limit == float(norm * 1.5));
  Floats bad = norms;
  bad[4] = kNaN;
  Harness h(op_maker("anomaly_check"), check({{"check", std::string("grad_norm")}, {"max", 1e9}}),
            Shapes{{9}}, true);
  CHECK(run(h, bad).flag == 1.0f);
}

TEST_CASE("distance flags rows farther than the threshold from the reference, as the brief's is_anomaly") {
  std::mt19937 rng(5);
  const int rows = 25, cols = 4;
  const Floats p = optest::random_floats(rng, rows * cols, -2, 2);
  const Floats y = optest::random_floats(rng, rows * cols, -2, 2);
  const double threshold = 2.0;
  Harness h(op_maker("anomaly_distance"),
            attrs_for(op_schema("anomaly_distance"), {{"threshold", threshold}}),
            Shapes{{rows, cols}, {rows, cols}}, false);
  auto out = h.forward({p, y});
  double worst = 0;
  int flagged = 0;
  for (int r = 0; r < rows; ++r) {
    double s = 0;
    for (int c = 0; c < cols; ++c) s += std::pow(double(p[r * cols + c]) - y[r * cols + c], 2);
    const bool bad = std::sqrt(s) > threshold;
    flagged += bad;
    CHECK(out[3][r] == (bad ? 1.0f : 0.0f));
    worst = std::max(worst, std::sqrt(s));
  }
  REQUIRE(flagged > 0);
  REQUIRE(flagged < rows);
  CHECK(out[0][0] == 1.0f);
  CHECK(out[1][0] == Approx(worst).epsilon(1e-6));
  CHECK(out[2][0] == float(threshold));
}

TEST_CASE("mask_rows replaces flagged rows by fill and keeps the others") {
  Harness h(op_maker("mask_rows"), attrs_for(op_schema("mask_rows"), {{"fill", -1.0}}), Shapes{{3, 2}, {3}},
            false);
  auto out = h.forward({{1, 2, 3, 4, 5, 6}, {0, 1, 0}});
  CHECK(out[0] == Floats{1, 2, -1, -1, 5, 6});
}

TEST_CASE("infer rejects what a check cannot watch") {
  auto infer = [](const Attrs& a, std::vector<TensorSpec> in) {
    auto op = op_maker("anomaly_check")(a);
    InferContext ctx;
    ctx.inputs = in;
    return op->infer(ctx);
  };
  CHECK_FALSE(infer(check({{"check", std::string("loss_spike")}}), {{DType::f32, {4}}}).ok());
  CHECK_FALSE(infer(check({{"check", std::string("nonfinite")}}), {{DType::i64, {4}}}).ok());
  CHECK_FALSE(infer(check({{"check", std::string("zscore")}}), {{DType::f32, {4, symbolic_dim(0)}}}).ok());
  CHECK(infer(check({{"check", std::string("nonfinite")}}), {{DType::f32, {symbolic_dim(0), 3}}}).ok());
  CHECK_FALSE(
      infer(check({{"check", std::string("grad_norm")}, {"min", 2.0}, {"max", 1.0}}), {{DType::f32, {}}})
          .ok());
}

TEST_CASE("row_distance gives each row's L2 distance as a column, NaN where a row has one") {
  std::mt19937 rng(9);
  const int rows = 11, cols = 64;
  Floats p = optest::random_floats(rng, rows * cols, -2, 2);
  const Floats y = optest::random_floats(rng, rows * cols, -2, 2);
  p[3 * cols + 5] = kNaN;
  Harness h(op_maker("row_distance"), Attrs(), Shapes{{rows, cols}, {rows, cols}}, false);
  auto out = h.forward({p, y});
  REQUIRE(out[0].size() == std::size_t(rows));
  for (int r = 0; r < rows; ++r) {
    double s = 0;
    for (int c = 0; c < cols; ++c) s += std::pow(double(p[r * cols + c]) - y[r * cols + c], 2);
    if (r == 3)
      CHECK(std::isnan(out[0][r]));
    else
      CHECK(out[0][r] == Approx(std::sqrt(s)).epsilon(1e-6));
  }
  CHECK(op_schema("row_distance").role == keel::Role::none);
}
