#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

const std::vector<Shape> shapes = {{2, 3, 4, 5}, {1, 1, 1, 1}, {3, 2, 1, 7}, {1, 4, 9, 9}, {2, 17, 3, 2}};

Reference reference(const Shape& x) {
  return [x](const std::vector<Doubles>& in) {
    const std::size_t planes = std::size_t(x[0] * x[1]), pixels = std::size_t(x[2] * x[3]);
    Doubles y(planes, 0.0);
    for (std::size_t p = 0; p < planes; ++p) {
      for (std::size_t k = 0; k < pixels; ++k) y[p] += in[0][p * pixels + k];
      y[p] /= double(pixels);
    }
    return y;
  };
}

// A mean of at most 81 values in [-1, 1] summed in f32.
constexpr double forward_tol = 1e-6;
// Each gradient element is one product gy / (H*W), rounded once or twice.
constexpr double grad_tol = 1e-6;

}  // namespace

TEST_CASE("global_avg_pool infers one value per channel and keeps a named batch") {
  auto op = op_maker("global_avg_pool")({});
  const std::vector<keel::TensorSpec> in = {{keel::DType::f32, {keel::symbolic_dim(0), 6, 7, 7}}};
  keel::InferContext ctx{in, {}, {}};
  REQUIRE(op->infer(ctx).ok());
  CHECK(ctx.outputs[0].shape == keel::Shape{keel::symbolic_dim(0), 6});
  CHECK(ctx.param_shapes.empty());
}

TEST_CASE("global_avg_pool rejects a non-image input and an empty image") {
  auto error = [](keel::Shape x) {
    auto op = op_maker("global_avg_pool")({});
    const std::vector<keel::TensorSpec> in = {{keel::DType::f32, x}};
    keel::InferContext ctx{in, {}, {}};
    const keel::Status st = op->infer(ctx);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  CHECK_THAT(error({2, 3}), Catch::Contains("must be [N, C, H, W]"));
  CHECK_THAT(error({2, 3, 0, 4}), Catch::Contains("at least 1"));
}

TEST_CASE("global_avg_pool forward matches a naive mean, training and inference") {
  std::mt19937 rng(21);
  for (const Shape& x : shapes)
    for (bool training : {true, false}) {
      INFO(keel::shape_str(x) << (training ? " training" : " inference"));
      Harness h(op_maker("global_avg_pool"), {}, std::vector<Shape>{x}, training);
      REQUIRE(h.output_shape() == Shape{x[0], x[1]});
      const Floats in = random_floats(rng, count(x));
      check_close(h.forward({in})[0], reference(x)({to_double(in)}), forward_tol, forward_tol, "y");
    }
}

TEST_CASE("global_avg_pool gradient matches finite differences") {
  std::mt19937 rng(22);
  for (const Shape& x : shapes) {
    INFO(keel::shape_str(x));
    Harness h(op_maker("global_avg_pool"), {}, {x});
    const Floats in = random_floats(rng, count(x));
    const Floats gy = random_floats(rng, count(h.output_shape()));
    const Floats y = h.forward({in})[0];
    const auto grads = h.backward({in}, {y}, {gy});
    check_close(grads[0], numeric_grad(reference(x), {to_double(in)}, 0, to_double(gy)), grad_tol, grad_tol,
                "grad_x");
  }
}

TEST_CASE("global_avg_pool prepared once stays correct for new data on every step") {
  std::mt19937 rng(23);
  const Shape x = shapes[0];
  Harness h(op_maker("global_avg_pool"), {}, {x});
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    const Floats in = random_floats(rng, count(x), -3.0f, 3.0f);
    const Floats gy = random_floats(rng, count(h.output_shape()));
    const Floats y = h.forward({in})[0];
    check_close(y, reference(x)({to_double(in)}), 3 * forward_tol, 3 * forward_tol, "y");
    const auto grads = h.backward({in}, {y}, {gy});
    check_close(grads[0], numeric_grad(reference(x), {to_double(in)}, 0, to_double(gy)), grad_tol, grad_tol,
                "grad_x");
  }
}

TEST_CASE("global_avg_pool on an empty batch produces an empty result") {
  Harness h(op_maker("global_avg_pool"), {}, {{0, 3, 2, 2}});
  CHECK(h.output_shape() == Shape{0, 3});
  const Floats y = h.forward({{}})[0];
  CHECK(y.empty());
  CHECK(h.backward({{}}, {y}, {{}})[0].empty());
}
