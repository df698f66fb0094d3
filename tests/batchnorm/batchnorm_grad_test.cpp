// batchnorm backward against finite differences of the naive reference, the
// reuse of one prepared op over many steps, and its errors.
#include <catch2/catch.hpp>

#include "norm_reference.hpp"
#include "norm_test_util.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using normtest::attrs;
using normtest::channel_data;

namespace {

const std::vector<Shape> shapes = {{6, 4}, {5, 16}, {3, 5, 2, 3}, {2, 16, 3, 2}, {4, 3, 1, 1}, {4, 32, 1, 1}};

// grad_x = gamma / sigma * (gy - mean(gy) - xhat * mean(gy * xhat)) subtracts
// f32 sums of order 1; with gamma / sigma up to ~4 the f32 result is good to
// ~2e-5, and central differences with h = 1e-4 on the double reference add
// O(h^2) ~ 1e-8.
constexpr double grad_tol = 1e-4;
constexpr double y_tol = 2e-5;

// Sets gamma and beta at random and returns {x, gamma, beta} for the reference.
std::vector<Doubles> randomize(Harness& h, std::mt19937& rng, const Shape& shape, Floats& x) {
  const std::size_t c = std::size_t(shape[1]);
  h.params()[0] = random_floats(rng, c, 0.5f, 1.5f);
  h.params()[1] = random_floats(rng, c);
  h.params()[2] = random_floats(rng, c);
  h.params()[3] = random_floats(rng, c, 0.5f, 1.5f);
  x = channel_data(rng, shape);
  return {to_double(x), to_double(h.params()[0]), to_double(h.params()[1])};
}

void check_gradients(Harness& h, const Shape& shape, const std::vector<Doubles>& in, const Floats& gy,
                     const Floats& gx, double tol) {
  const Reference f = normref::batchnorm_train(shape, 1e-5);
  const Doubles g = to_double(gy);
  check_close(gx, numeric_grad(f, in, 0, g), tol, tol, "grad_x");
  check_close(h.param_grads()[0], numeric_grad(f, in, 1, g), tol, tol, "grad_gamma");
  check_close(h.param_grads()[1], numeric_grad(f, in, 2, g), tol, tol, "grad_beta");
  const Doubles zeros(std::size_t(shape[1]), 0.0);
  check_close(h.param_grads()[2], zeros, 0.0, 0.0, "grad_running_mean");
  check_close(h.param_grads()[3], zeros, 0.0, 0.0, "grad_running_var");
}

}  // namespace

TEST_CASE("batchnorm gradients of x, gamma and beta match finite differences, running statistics get none") {
  std::mt19937 rng(31);
  for (const Shape& shape : shapes) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("batchnorm"), attrs(), {shape});
    Floats x;
    const std::vector<Doubles> in = randomize(h, rng, shape, x);
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    const std::vector<Floats> grads = h.backward({x}, {y}, {gy});
    check_gradients(h, shape, in, gy, grads[0], grad_tol);
  }
}

TEST_CASE("batchnorm backward without a wanted grad_x still computes gamma's and beta's") {
  std::mt19937 rng(32);
  for (const Shape& shape : {Shape{6, 4}, Shape{5, 16}, Shape{3, 5, 2, 3}}) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("batchnorm"), attrs(), {shape});
    Floats x;
    const std::vector<Doubles> in = randomize(h, rng, shape, x);
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    const std::vector<Floats> grads = h.backward({x}, {y}, {gy}, {false});
    CHECK(grads[0].empty());
    const Reference f = normref::batchnorm_train(shape, 1e-5);
    check_close(h.param_grads()[0], numeric_grad(f, in, 1, to_double(gy)), grad_tol, grad_tol, "grad_gamma");
    check_close(h.param_grads()[1], numeric_grad(f, in, 2, to_double(gy)), grad_tol, grad_tol, "grad_beta");
  }
}

TEST_CASE("a batchnorm prepared once stays correct over many steps of new data") {
  std::mt19937 rng(33);
  for (const Shape& shape : {Shape{6, 4}, Shape{5, 16}, Shape{2, 16, 3, 2}}) {
    Harness h(op_maker("batchnorm"), attrs(), {shape});
    for (int step = 0; step < 4; ++step) {
      INFO("x " << keel::shape_str(shape) << ", step " << step);
      Floats x;
      const std::vector<Doubles> in = randomize(h, rng, shape, x);
      const Floats gy = random_floats(rng, count(shape));
      const Floats y = h.forward({x})[0];
      check_close(y, normref::batchnorm_train(shape, 1e-5)(in), y_tol, y_tol, "y");
      const std::vector<Floats> grads = h.backward({x}, {y}, {gy});
      check_gradients(h, shape, in, gy, grads[0], grad_tol);
    }
  }
}

TEST_CASE("a batchnorm prepared again for a new input shape normalizes and differentiates with that shape") {
  // [N, 16] runs on a view of x, [N, 16, H, W] on a reordered copy: each
  // rebinding switches between the two.
  std::mt19937 rng(34);
  normtest::Direct d(op_maker("batchnorm"), attrs(), {5, 16}, true);
  for (const Shape& shape : {Shape{5, 16}, Shape{2, 16, 3, 3}, Shape{7, 16}, Shape{3, 16, 1, 2}}) {
    INFO("x " << keel::shape_str(shape));
    d.rebind(shape, true);
    d.params[0] = random_floats(rng, 16, 0.5f, 1.5f);
    d.params[1] = random_floats(rng, 16);
    const Floats x = channel_data(rng, shape);
    const Floats gy = random_floats(rng, count(shape));
    const std::vector<Doubles> in = {to_double(x), to_double(d.params[0]), to_double(d.params[1])};
    Floats y, gx;
    REQUIRE(d.forward(x, y, true).ok());
    const Reference f = normref::batchnorm_train(shape, 1e-5);
    check_close(y, f(in), y_tol, y_tol, "y");
    REQUIRE(d.backward(x, y, gy, gx).ok());
    check_close(gx, numeric_grad(f, in, 0, to_double(gy)), grad_tol, grad_tol, "grad_x");
    check_close(d.grads[0], numeric_grad(f, in, 1, to_double(gy)), grad_tol, grad_tol, "grad_gamma");
  }
}

TEST_CASE("batchnorm rejects inputs it cannot normalize with one-line errors") {
  using keel::DType;
  using normtest::infer_status;
  const auto make = op_maker("batchnorm");
  const auto message = [&](const keel::Attrs& a, std::vector<keel::TensorSpec> in) {
    const keel::Status st = infer_status(make, a, std::move(in));
    CHECK_FALSE(st.ok());
    CHECK(st.message().find('\n') == std::string::npos);
    return st.message();
  };
  CHECK_THAT(message(attrs(), {{DType::f32, {2, 3, 4}}}),
             Catch::Contains("x must be [N, C] or [N, C, H, W], got [2, 3, 4]"));
  CHECK_THAT(message(attrs(), {{DType::f64, {2, 3}}}), Catch::Contains("x has dtype f64"));
  CHECK_THAT(message(attrs(), {{DType::f32, {2, keel::symbolic_dim(0)}}}),
             Catch::Contains("channel axis (axis 1) of x must have a known size"));
  CHECK_THAT(message(attrs(), {{DType::f32, {2, 0}}}), Catch::Contains("at least 1"));
  CHECK_THAT(message(attrs({{"momentum", 1.5}}), {{DType::f32, {2, 3}}}),
             Catch::Contains("momentum must be in [0, 1], got 1.5"));
  CHECK_THAT(message(attrs({{"epsilon", 0.0}}), {{DType::f32, {2, 3}}}),
             Catch::Contains("epsilon must be a finite number > 0, got 0"));
  // A symbolic batch is fine: only C sizes the parameters.
  CHECK(infer_status(make, attrs(), {{DType::f32, {keel::symbolic_dim(0), 3}}}).ok());
}

TEST_CASE("batchnorm refuses what it cannot compute at run time instead of crashing") {
  Floats y, gx;
  SECTION("a training batch with one value per channel has no variance") {
    normtest::Direct d(op_maker("batchnorm"), attrs(), {1, 3}, true);
    const keel::Status st = d.forward({1, 2, 3}, y, true);
    CHECK_THAT(st.message(), Catch::Contains("training needs more than one value per channel, got x [1, 3]"));
    // Inference with a batch of one is fine.
    CHECK(d.forward({1, 2, 3}, y, false).ok());
  }
  SECTION("an empty batch is a no-op in both modes, with zero parameter gradients") {
    normtest::Direct d(op_maker("batchnorm"), attrs(), {0, 3}, true);
    CHECK(d.forward({}, y, true).ok());
    CHECK(d.forward({}, y, false).ok());
    REQUIRE(d.backward({}, {}, {}, gx).ok());
    for (const Floats& g : d.grads) CHECK(g == Floats(3, 0.0f));
  }
}
