// standardize against a naive per-feature loop and finite differences;
// PyTorch parity is in loss_parity_test.cpp.
#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "plugin_ops.hpp"
#include "raw_op.hpp"

using namespace optest;

namespace {

keel::Attrs attrs(std::vector<double> mean, std::vector<double> std, double epsilon) {
  return keel::Attrs({{"mean", keel::AttrValue{std::move(mean)}},
                      {"std", keel::AttrValue{std::move(std)}},
                      {"epsilon", keel::AttrValue{epsilon}}});
}

// The statistics are fixed inputs of the reference, not variables.
Reference reference(const Doubles& mean, const Doubles& std, double epsilon) {
  return [=](const std::vector<Doubles>& in) {
    const std::size_t f = mean.size();
    Doubles y(in[0].size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = (in[0][i] - mean[i % f]) / (std[i % f] + epsilon);
    return y;
  };
}

// One subtraction and one division, each rounded to f32, plus the f32
// rounding of std + epsilon: a few units of 2^-24, relative.
constexpr double rel_tol = 5e-7;
constexpr double abs_tol = 1e-7;

}  // namespace

TEST_CASE("standardize with its parameters matches a naive per-feature loop") {
  std::mt19937 rng(51);
  for (const Shape& shape : {Shape{4}, Shape{5, 3}, Shape{2, 3, 4}}) {
    for (double epsilon : {0.0, 1e-3}) {
      INFO(keel::shape_str(shape) << " epsilon " << epsilon);
      Harness h(op_maker("standardize"), attrs({}, {}, epsilon), {shape});
      const auto f = static_cast<std::size_t>(shape.back());
      REQUIRE(h.param_count() == 2);
      CHECK(h.param_shape(0) == Shape{shape.back()});
      CHECK(h.param_shape(1) == Shape{shape.back()});
      h.params()[0] = random_floats(rng, f, -2, 2);
      h.params()[1] = random_floats(rng, f, 0.5f, 3);
      const Floats x = random_floats(rng, count(shape), -5, 5);
      check_close(h.forward({x})[0],
                  reference(to_double(h.params()[0]), to_double(h.params()[1]), epsilon)({to_double(x)}),
                  rel_tol, abs_tol, "y");
    }
  }
}

TEST_CASE("standardize with mean and std attributes uses them and records them in its parameters") {
  std::mt19937 rng(52);
  const Doubles mean = {1.0, -2.0, 0.5}, std = {2.0, 0.25, 1.0};
  Harness h(op_maker("standardize"), attrs(mean, std, 0.0), {{4, 3}});
  h.params()[0] = {9, 9, 9};  // stale values, as from an old checkpoint
  h.params()[1] = {9, 9, 9};
  const Floats x = random_floats(rng, 12, -3, 3);
  check_close(h.forward({x})[0], reference(mean, std, 0.0)({to_double(x)}), rel_tol, abs_tol, "y");
  CHECK(h.params()[0] == Floats{1.0f, -2.0f, 0.5f});
  CHECK(h.params()[1] == Floats{2.0f, 0.25f, 1.0f});
}

TEST_CASE("standardize with only a mean attribute takes std from its parameter") {
  Harness h(op_maker("standardize"), attrs({1.0, 2.0}, {}, 0.5), {{2, 2}});
  h.params()[1] = {1.5f, 3.5f};
  check_close(h.forward({{2, 2, 5, 0}})[0], {(2.0 - 1) / 2, (2.0 - 2) / 4, (5.0 - 1) / 2, (0.0 - 2) / 4},
              rel_tol, abs_tol, "y");
}

TEST_CASE("standardize gradient matches finite differences and its statistics get zero gradients") {
  std::mt19937 rng(53);
  for (bool from_attrs : {false, true}) {
    INFO((from_attrs ? "attributes" : "parameters"));
    const Doubles mean = {0.3, -1.0, 2.0, 0.0}, std = {0.5, 2.0, 1.0, 4.0};
    Harness h(op_maker("standardize"), from_attrs ? attrs(mean, std, 1e-2) : attrs({}, {}, 1e-2), {{3, 4}});
    h.params()[0] = Floats(mean.begin(), mean.end());
    h.params()[1] = Floats(std.begin(), std.end());
    const Floats x = random_floats(rng, 12, -3, 3), gy = random_floats(rng, 12);
    const Floats y = h.forward({x})[0];
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    // The map is affine in x: central differences are exact up to rounding.
    check_close(gx, numeric_grad(reference(mean, std, 1e-2), {to_double(x)}, 0, to_double(gy)), 1e-6, 1e-7,
                "grad_x");
    CHECK(h.param_grads()[0] == Floats(4, 0.0f));
    CHECK(h.param_grads()[1] == Floats(4, 0.0f));
  }
}

TEST_CASE("standardize refuses a std that is not positive, naming the feature") {
  RawOp op(op_maker("standardize"), {}, {{keel::DType::f32, {2, 3}}});
  op.params()[1] = {1.0f, 0.0f, 1.0f};  // a constant feature calibrated without epsilon
  const Floats x(6, 1.0f);
  CHECK(op.forward({x.data()}).message() ==
        "standardize: std[1] + epsilon is 0; it must be positive and finite");
  op.params()[1] = {1.0f, 1.0f, -2.0f};
  CHECK(op.backward({x.data()}).message() ==
        "standardize: std[2] + epsilon is -2; it must be positive and finite");
  op.params()[1] = {1.0f, 1.0f, 1.0f};
  CHECK(op.forward({x.data()}).ok());
}

TEST_CASE("standardize infer sizes its parameters by the feature axis and checks the attributes") {
  const keel::Dim batch = keel::symbolic_dim(0);
  auto run = [](const keel::Attrs& a, Shape x) {
    return infer_only(op_maker("standardize"), a, {{keel::DType::f32, std::move(x)}});
  };
  const auto ok = run(attrs({}, {}, 0), {batch, 5});
  REQUIRE(ok.status.ok());
  CHECK(ok.outputs.at(0).shape == Shape{batch, 5});
  CHECK(ok.param_shapes == std::vector<Shape>{{5}, {5}});
  CHECK(run(attrs({1, 2}, {}, 0), {batch, 3}).status.message() ==
        "standardize: attribute mean has 2 values but x [?, 3] has 3 features (its last axis)");
  CHECK(run(attrs({}, {1, 2, 3, 4}, 0), {2, 3}).status.message() ==
        "standardize: attribute std has 4 values but x [2, 3] has 3 features (its last axis)");
  CHECK(run(attrs({}, {1, 0}, 0), {2, 2}).status.message() ==
        "standardize: std[1] + epsilon is 0; it must be positive");
  CHECK(run(attrs({}, {}, 0), {2, batch}).status.message() ==
        "standardize: the feature axis (last axis) of x [2, ?] must have a fixed size");
  CHECK(run(attrs({}, {}, 0), {}).status.message() ==
        "standardize: x is a scalar; it needs a feature axis (the last axis)");
}

TEST_CASE("standardize prepared once stays correct as data and parameters change") {
  std::mt19937 rng(54);
  Harness h(op_maker("standardize"), attrs({}, {}, 0.0), {{6, 2}});
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    h.params()[0] = random_floats(rng, 2);
    h.params()[1] = random_floats(rng, 2, 0.5f, 2);
    const Doubles mean = to_double(h.params()[0]), std = to_double(h.params()[1]);
    const Floats x = random_floats(rng, 12, -4, 4), gy = random_floats(rng, 12);
    const Floats y = h.forward({x})[0];
    check_close(y, reference(mean, std, 0)({to_double(x)}), rel_tol, abs_tol, "y");
    check_close(h.backward({x}, {y}, {gy})[0],
                numeric_grad(reference(mean, std, 0), {to_double(x)}, 0, to_double(gy)), 1e-6, 1e-7,
                "grad_x");
  }
}

TEST_CASE("standardize prepared for inference runs forward") {
  Harness h(op_maker("standardize"), attrs({1, 1}, {2, 4}, 0), std::vector<Shape>{{1, 2}}, false);
  check_close(h.forward({{3, 9}})[0], {1.0, 2.0}, rel_tol, abs_tol, "y");
}
