#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

struct Activation {
  std::string label;
  keel::OpMaker factory;
  keel::Attrs attrs;
  double (*f)(double x, double param);
  double param;
  bool kinked;  // piecewise linear: keep inputs away from 0
};

double leaky(double x, double slope) { return x > 0 ? x : slope * x; }
double gelu_erf(double x, double) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x, double) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}
double tanh_ref(double x, double) { return std::tanh(x); }
double sigmoid_ref(double x, double) { return 1.0 / (1.0 + std::exp(-x)); }

keel::Attrs slope(double s) { return attrs({{"negative_slope", AttrValue{s}}}); }
keel::Attrs approximate(const std::string& mode) { return attrs({{"approximate", AttrValue{mode}}}); }

const std::vector<Activation> activations = {
    {"leaky_relu default", op_maker("leaky_relu"), {}, leaky, 0.01, true},
    {"leaky_relu 0.2", op_maker("leaky_relu"), slope(0.2), leaky, 0.2, true},
    {"leaky_relu 0", op_maker("leaky_relu"), slope(0.0), leaky, 0.0, true},
    {"gelu", op_maker("gelu"), {}, gelu_erf, 0.0, false},
    {"gelu tanh", op_maker("gelu"), approximate("tanh"), gelu_tanh, 0.0, false},
    {"tanh", op_maker("tanh"), {}, tanh_ref, 0.0, false},
    {"sigmoid", op_maker("sigmoid"), {}, sigmoid_ref, 0.0, false},
};

Reference reference(const Activation& a) {
  return [&a](const std::vector<Doubles>& in) {
    Doubles y(in[0].size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = a.f(in[0][i], a.param);
    return y;
  };
}

// Inputs in [-4, 4], where every activation is far from both saturation and
// overflow; piecewise-linear ones get |x| >= 0.1 so the finite difference
// step never straddles the kink.
Floats inputs(std::mt19937& rng, const Activation& a, std::size_t n) {
  if (!a.kinked) return random_floats(rng, n, -4.0f, 4.0f);
  Floats v = random_floats(rng, n, 0.1f, 4.0f);
  std::bernoulli_distribution negative(0.5);
  for (float& x : v)
    if (negative(rng)) x = -x;
  return v;
}

// oneDNN evaluates exp, tanh and erf with vectorized polynomial
// approximations, not correctly rounded: tanh and sigmoid stay within a few
// ulps (relative). gelu forms x * (1 + erf(x / sqrt 2)) / 2, whose
// cancellation for negative x leaves an absolute error of about one ulp of
// x instead, measured at most 3.7e-7 for |x| <= 4 (ulp(4) = 4.8e-7); 4e-6
// relative plus 1e-6 absolute covers both with margin.
constexpr double rel_tol = 4e-6;
constexpr double abs_tol = 1e-6;

const std::vector<Shape> shapes = {{7}, {2, 3, 4}, {}, {1, 1}, {2, 1, 2, 1, 2, 1, 2}, {129}};

}  // namespace

TEST_CASE("activations match their double-precision definitions, training and inference") {
  std::mt19937 rng(41);
  for (const Activation& a : activations)
    for (bool training : {true, false})
      for (const Shape& shape : shapes) {
        INFO(a.label << ", shape " << keel::shape_str(shape) << (training ? ", training" : ", inference"));
        Harness h(a.factory, a.attrs, std::vector<Shape>{shape}, training);
        REQUIRE(h.output_shape() == shape);
        const Floats x = inputs(rng, a, count(shape));
        check_close(h.forward({x})[0], reference(a)({to_double(x)}), rel_tol, abs_tol, "y");
      }
}

TEST_CASE("activation gradients match finite differences") {
  std::mt19937 rng(42);
  for (const Activation& a : activations)
    for (const Shape& shape : shapes) {
      INFO(a.label << ", shape " << keel::shape_str(shape));
      Harness h(a.factory, a.attrs, {shape});
      const Floats x = inputs(rng, a, count(shape));
      const Floats gy = random_floats(rng, count(shape));
      const Floats y = h.forward({x})[0];
      const Floats gx = h.backward({x}, {y}, {gy})[0];
      // The use_dst variants compute the derivative from the f32 output, which
      // carries its own rounding: 1e-5 absolute bounds that for |grad_y| <= 1.
      check_close(gx, numeric_grad(reference(a), {to_double(x)}, 0, to_double(gy)), 1e-5, 1e-5, "grad_x");
    }
}

TEST_CASE("leaky_relu's gradient at exactly 0 is the negative slope, as in PyTorch") {
  Harness h(op_maker("leaky_relu"), slope(0.25), std::vector<Shape>{Shape{3}});
  const Floats x = {0.0f, -2.0f, 2.0f};
  const Floats y = h.forward({x})[0];
  CHECK(y == Floats{0.0f, -0.5f, 2.0f});
  CHECK(h.backward({x}, {y}, {{1.0f, 1.0f, 1.0f}})[0] == Floats{0.25f, 0.25f, 1.0f});
}

TEST_CASE("sigmoid and tanh saturate without overflow or NaN for large inputs") {
  const Floats x = {-100.0f, -30.0f, 30.0f, 100.0f};
  for (const char* name : {"sigmoid", "tanh"}) {
    Harness h(op_maker(name), {}, std::vector<Shape>{Shape{4}});
    const Floats y = h.forward({x})[0];
    const bool sig = std::string(name) == "sigmoid";
    check_close(y, {sig ? 0.0 : -1.0, sig ? 0.0 : -1.0, 1.0, 1.0}, 0.0, 1e-12, "y");
    const Floats gx = h.backward({x}, {y}, {{1, 1, 1, 1}})[0];
    check_close(gx, {0.0, 0.0, 0.0, 0.0}, 0.0, 1e-12, "grad_x");
  }
}

TEST_CASE("an activation prepared once stays correct for new data on every step") {
  std::mt19937 rng(43);
  for (const Activation& a : activations) {
    INFO(a.label);
    Harness h(a.factory, a.attrs, {{5, 6}});
    for (int step = 0; step < 4; ++step) {
      const Floats x = inputs(rng, a, 30), gy = random_floats(rng, 30);
      const Floats y = h.forward({x})[0];
      check_close(y, reference(a)({to_double(x)}), rel_tol, abs_tol, "y");
      const Floats gx = h.backward({x}, {y}, {gy})[0];
      check_close(gx, numeric_grad(reference(a), {to_double(x)}, 0, to_double(gy)), 1e-5, 1e-5, "grad_x");
    }
  }
}

TEST_CASE("activations keep symbolic shapes and reject bad attributes and dtypes") {
  for (const Activation& a : activations)
    CHECK(inferred_shape(a.factory, a.attrs, {batch, 3}) == Shape{batch, 3});
  CHECK(infer_error(op_maker("leaky_relu"), slope(-0.5), Shape{2}) ==
        "leaky_relu: negative_slope must be >= 0, got -0.5");
  CHECK(infer_error(op_maker("gelu"), approximate("fast"), Shape{2}) ==
        "gelu: approximate must be 'none' or 'tanh', got 'fast'");
  CHECK(infer_error(op_maker("sigmoid"), {}, {{keel::DType::f64, {2}}}) ==
        "sigmoid: x has dtype f64; only f32 is supported");
}

TEST_CASE("activation schemas document every attribute with its default") {
  const keel::OpSchema leaky = op_schema("leaky_relu");
  REQUIRE(leaky.attrs.size() == 1);
  CHECK(std::get<double>(*leaky.attrs[0].default_value) == 0.01);
  const keel::OpSchema gelu = op_schema("gelu");
  REQUIRE(gelu.attrs.size() == 1);
  CHECK(gelu.attrs[0].choices == std::vector<std::string>{"none", "tanh"});
  CHECK(std::get<std::string>(*gelu.attrs[0].default_value) == "none");
  for (const auto& s : {leaky, gelu, op_schema("tanh"), op_schema("sigmoid")}) {
    CHECK(s.has_backward);
    CHECK_FALSE(s.doc.empty());
    for (const auto& p : s.inputs) CHECK_FALSE(p.doc.empty());
    for (const auto& p : s.outputs) CHECK_FALSE(p.doc.empty());
  }
}
