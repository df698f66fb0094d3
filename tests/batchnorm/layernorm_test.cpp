// layernorm forward and backward against the naive double reference and its
// finite differences, with and without the affine parameters.
#include <catch2/catch.hpp>

#include "norm_reference.hpp"
#include "norm_test_util.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using normtest::attrs;

namespace {

// Every rank the op folds into rows, and rows of one and of many values.
const std::vector<Shape> shapes = {{7}, {4, 5}, {2, 3, 16}, {3, 1}, {2, 2, 2, 33}};

// Row statistics over at most 33 f32 values and one f32 normalization per
// element: well below 2e-5 for |y| up to ~5.
constexpr double y_tol = 2e-5;
// grad_x subtracts f32 row sums of order 1 (see batchnorm's gradient test);
// finite differences with h = 1e-4 add O(h^2).
constexpr double grad_tol = 1e-4;

std::size_t cols(const Shape& s) { return std::size_t(s.back()); }
std::size_t rows(const Shape& s) { return count(s) / cols(s); }

// Rows with their own offsets, so that the mean matters.
Floats row_data(std::mt19937& rng, const Shape& shape) {
  Floats x = random_floats(rng, count(shape), -2.0f, 2.0f);
  const Floats offsets = random_floats(rng, rows(shape), -3.0f, 3.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += offsets[i / cols(shape)];
  return x;
}

std::vector<Doubles> randomize(Harness& h, std::mt19937& rng, const Shape& shape, Floats& x) {
  h.params()[0] = random_floats(rng, cols(shape), 0.5f, 1.5f);
  h.params()[1] = random_floats(rng, cols(shape));
  x = row_data(rng, shape);
  return {to_double(x), to_double(h.params()[0]), to_double(h.params()[1])};
}

}  // namespace

TEST_CASE("layernorm normalizes every row over the last axis, in training and inference alike") {
  std::mt19937 rng(41);
  for (bool affine : {true, false})
    for (bool training : {true, false})
      for (const Shape& shape : shapes) {
        INFO("x " << keel::shape_str(shape) << ", affine " << affine << ", training " << training);
        Harness h(op_maker("layernorm"), attrs({{"elementwise_affine", affine}, {"epsilon", 1e-4}}), {shape},
                  training);
        REQUIRE(h.output_shape() == shape);
        REQUIRE(h.param_count() == 2);
        CHECK(h.param_shape(0) == Shape{shape.back()});
        Floats x;
        const std::vector<Doubles> in = randomize(h, rng, shape, x);
        check_close(h.forward({x})[0], normref::layernorm(rows(shape), cols(shape), 1e-4, affine)(in), y_tol,
                    y_tol, "y");
      }
}

TEST_CASE("layernorm gradients of x, gamma and beta match finite differences") {
  std::mt19937 rng(42);
  for (const Shape& shape : shapes) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("layernorm"), attrs(), {shape});
    Floats x;
    const std::vector<Doubles> in = randomize(h, rng, shape, x);
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    const std::vector<Floats> grads = h.backward({x}, {y}, {gy});
    const Reference f = normref::layernorm(rows(shape), cols(shape), 1e-5, true);
    const Doubles g = to_double(gy);
    check_close(grads[0], numeric_grad(f, in, 0, g), grad_tol, grad_tol, "grad_x");
    check_close(h.param_grads()[0], numeric_grad(f, in, 1, g), grad_tol, grad_tol, "grad_gamma");
    check_close(h.param_grads()[1], numeric_grad(f, in, 2, g), grad_tol, grad_tol, "grad_beta");
  }
}

TEST_CASE(
    "layernorm without the affine part differentiates x and gives its unused parameters zero gradient") {
  std::mt19937 rng(43);
  for (const Shape& shape : {Shape{4, 5}, Shape{2, 3, 16}}) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("layernorm"), attrs({{"elementwise_affine", false}}), {shape});
    Floats x;
    const std::vector<Doubles> in = randomize(h, rng, shape, x);
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    const std::vector<Floats> grads = h.backward({x}, {y}, {gy});
    const Reference f = normref::layernorm(rows(shape), cols(shape), 1e-5, false);
    check_close(grads[0], numeric_grad(f, in, 0, to_double(gy)), grad_tol, grad_tol, "grad_x");
    CHECK(h.param_grads()[0] == Floats(cols(shape), 0.0f));
    CHECK(h.param_grads()[1] == Floats(cols(shape), 0.0f));
  }
}

TEST_CASE("a layernorm prepared once stays correct over many steps, with or without a wanted grad_x") {
  std::mt19937 rng(44);
  const Shape shape{3, 4, 16};
  Harness h(op_maker("layernorm"), attrs(), {shape});
  const Reference f = normref::layernorm(rows(shape), cols(shape), 1e-5, true);
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    Floats x;
    const std::vector<Doubles> in = randomize(h, rng, shape, x);
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    check_close(y, f(in), y_tol, y_tol, "y");
    const bool want_gx = step % 2 == 0;
    const std::vector<Floats> grads = h.backward({x}, {y}, {gy}, {want_gx});
    if (want_gx)
      check_close(grads[0], numeric_grad(f, in, 0, to_double(gy)), grad_tol, grad_tol, "grad_x");
    else
      CHECK(grads[0].empty());
    check_close(h.param_grads()[0], numeric_grad(f, in, 1, to_double(gy)), grad_tol, grad_tol, "grad_gamma");
  }
}

TEST_CASE("layernorm rejects inputs it cannot normalize with one-line errors") {
  using keel::DType;
  const auto message = [](const keel::Attrs& a, std::vector<keel::TensorSpec> in) {
    const keel::Status st = normtest::infer_status(op_maker("layernorm"), a, std::move(in));
    CHECK_FALSE(st.ok());
    CHECK(st.message().find('\n') == std::string::npos);
    return st.message();
  };
  CHECK_THAT(message(attrs(), {{DType::f32, {}}}),
             Catch::Contains("x must have rank 1 or more, got a scalar"));
  CHECK_THAT(message(attrs(), {{DType::i32, {2, 3}}}), Catch::Contains("x has dtype i32"));
  CHECK_THAT(message(attrs(), {{DType::f32, {2, keel::symbolic_dim(1)}}}),
             Catch::Contains("last axis of x must have a known size of at least 1"));
  CHECK_THAT(message(attrs({{"epsilon", -1.0}}), {{DType::f32, {2, 3}}}),
             Catch::Contains("epsilon must be a finite number > 0, got -1"));
  CHECK(normtest::infer_status(op_maker("layernorm"), attrs(), {{DType::f32, {keel::symbolic_dim(0), 3}}})
            .ok());
}

TEST_CASE("layernorm handles an empty batch") {
  Floats y, gx;
  {
    normtest::Direct d(op_maker("layernorm"), attrs(), {0, 3}, true);
    CHECK(d.forward({}, y, true).ok());
    REQUIRE(d.backward({}, {}, {}, gx).ok());
    for (const Floats& g : d.grads) CHECK(g == Floats(3, 0.0f));
  }
}
