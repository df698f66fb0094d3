// upsample against PyTorch's interpolate(mode='nearest') (fixtures written
// by tests/parity/make_generative_spatial.py), against its definition with
// finite-difference gradients, and on the inputs it must refuse.
#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

keel::Attrs scale_attr(std::int64_t s) { return keel::Attrs({{"scale", s}}); }

// y[n, c, i, j] = x[n, c, i / s, j / s], written from the definition.
Reference reference(const Shape& x, std::int64_t s) {
  return [x, s](const std::vector<Doubles>& in) {
    const std::int64_t planes = x[0] * x[1], h = x[2], w = x[3], ho = h * s, wo = w * s;
    Doubles y(std::size_t(planes * ho * wo));
    for (std::int64_t p = 0; p < planes; ++p)
      for (std::int64_t i = 0; i < ho; ++i)
        for (std::int64_t j = 0; j < wo; ++j)
          y[std::size_t((p * ho + i) * wo + j)] = in[0][std::size_t((p * h + i / s) * w + j / s)];
    return y;
  };
}

// Forward copies values, so it must be exact; a gradient element sums
// scale^2 <= 16 values in [-1, 1] in f32, a few roundings of ~1e-7.
constexpr double grad_tol = 1e-6;
// PyTorch sums the same blocks in another order: standard normal values,
// up to 9 per block.
constexpr double parity_grad_tol = 1e-5;

std::string infer_error(const keel::Attrs& a, keel::TensorSpec x) {
  auto op = op_maker("upsample")(a);
  const std::vector<keel::TensorSpec> in = {x};
  keel::InferContext ctx{in, {}, {}};
  const keel::Status st = op->infer(ctx);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().rfind("upsample: ", 0) == 0);
  CHECK(st.message().find('\n') == std::string::npos);
  return st.message();
}

}  // namespace

TEST_CASE("upsample matches PyTorch's nearest interpolation forward and gradient") {
  for (const char* name : {"upsample_2x", "upsample_3x_rect", "upsample_1x"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("generative_spatial", name);
    const auto scale = std::int64_t(parity::load(dir, "attr_scale")[0]);
    Harness h(op_maker("upsample"), scale_attr(scale), {parity::shape(dir, "x")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    const Floats x = parity::load(dir, "x");
    const Floats y = h.forward({x})[0];
    check_close(y, to_double(parity::load(dir, "y")), 0.0, 0.0, "y");
    const auto grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], to_double(parity::load(dir, "grad_x")), parity_grad_tol, parity_grad_tol, "grad_x");
  }
}

TEST_CASE("upsample scales height and width by 2 by default and keeps named batch and channels") {
  auto op = op_maker("upsample")({});
  const std::vector<keel::TensorSpec> in = {
      {keel::DType::f32, {keel::symbolic_dim(0), keel::symbolic_dim(1), 4, 3}}};
  keel::InferContext ctx{in, {}, {}};
  REQUIRE(op->infer(ctx).ok());
  CHECK(ctx.outputs[0].shape == keel::Shape{keel::symbolic_dim(0), keel::symbolic_dim(1), 8, 6});
  CHECK(ctx.param_shapes.empty());
  CHECK(op_schema("upsample").has_backward);
}

TEST_CASE("upsample forward and gradient match the definition and finite differences") {
  std::mt19937 rng(41);
  const std::vector<std::pair<Shape, std::int64_t>> cases = {
      {{2, 3, 4, 4}, 2}, {{1, 1, 1, 1}, 4}, {{3, 2, 1, 5}, 3}, {{1, 4, 3, 2}, 1}, {{2, 1, 2, 3}, 2}};
  for (const auto& [x, s] : cases)
    for (bool training : {true, false}) {
      INFO(keel::shape_str(x) << " scale " << s << (training ? " training" : " inference"));
      Harness h(op_maker("upsample"), scale_attr(s), std::vector<Shape>{x}, training);
      REQUIRE(h.output_shape() == Shape{x[0], x[1], x[2] * s, x[3] * s});
      const Floats in = random_floats(rng, count(x));
      const Floats y = h.forward({in})[0];
      check_close(y, reference(x, s)({to_double(in)}), 0.0, 0.0, "y");
      if (!training) continue;
      const Floats gy = random_floats(rng, y.size());
      const auto grads = h.backward({in}, {y}, {gy});
      check_close(grads[0], numeric_grad(reference(x, s), {to_double(in)}, 0, to_double(gy)), grad_tol,
                  grad_tol, "grad_x");
    }
}

TEST_CASE("upsample on an empty batch or image writes nothing") {
  for (const Shape& x : {Shape{0, 2, 3, 3}, Shape{2, 2, 0, 3}}) {
    INFO(keel::shape_str(x));
    Harness h(op_maker("upsample"), scale_attr(2), {x});
    CHECK(count(h.output_shape()) == 0);
    const Floats y = h.forward({{}})[0];
    CHECK(y.empty());
    CHECK(h.backward({{}}, {y}, {{}})[0].empty());
  }
}

TEST_CASE("upsample backward skips a gradient nobody needs") {
  Harness h(op_maker("upsample"), scale_attr(2), {{1, 1, 2, 2}});
  const Floats x = {1, 2, 3, 4};
  const Floats y = h.forward({x})[0];
  CHECK(h.backward({x}, {y}, {Floats(16, 1.0f)}, {false})[0].empty());
}

TEST_CASE("upsample rejects bad inputs and scales with one line naming the op") {
  using keel::DType;
  CHECK_THAT(infer_error(scale_attr(2), {DType::f32, {2, 3, 4}}),
             Catch::Contains("x must be [N, C, H, W], got [2, 3, 4]"));
  CHECK_THAT(infer_error(scale_attr(2), {DType::i32, {1, 1, 2, 2}}), Catch::Contains("only f32"));
  CHECK_THAT(infer_error(scale_attr(2), {DType::f32, {1, 1, keel::symbolic_dim(1), 2}}),
             Catch::Contains("height and width must be fixed sizes"));
  CHECK_THAT(infer_error(scale_attr(0), {DType::f32, {1, 1, 2, 2}}),
             Catch::Contains("scale must lie in [1, 4096], got 0"));
  CHECK_THAT(infer_error(scale_attr(4096), {DType::f32, {1, 1, std::int64_t(1) << 52, 2}}),
             Catch::Contains("the output size overflows"));
}
