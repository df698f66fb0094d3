#include <catch2/catch.hpp>

#include "../nn/conv_reference.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using convref::ConvSpec;

namespace {

struct Case {
  Shape x;
  std::int64_t width;  // the attribute: 0 means C
};

const std::vector<Case> cases = {{{2, 3, 4, 5}, 0}, {{1, 4, 3, 3}, 2}, {{2, 2, 5, 4}, 6}, {{1, 1, 1, 1}, 0}};

std::int64_t width(const Case& c) { return c.width == 0 ? c.x[1] : c.width; }

keel::Attrs attrs(const Case& c) { return keel::Attrs({{"width", c.width}}); }

std::string describe(const Case& c) {
  return "x " + keel::shape_str(c.x) + " width " + std::to_string(width(c));
}

ConvSpec conv1(const Case& c) {
  ConvSpec s;
  s.n = c.x[0], s.c = c.x[1], s.h = c.x[2], s.w = c.x[3], s.f = width(c);
  return s;
}

ConvSpec conv2(const Case& c) {
  ConvSpec s = conv1(c);
  s.c = width(c), s.f = c.x[1], s.kh = s.kw = 3, s.ph = s.pw = 1;
  return s;
}

// Inputs {x, conv1_weight, conv1_bias, conv2_weight, conv2_bias}.
Reference reference(const Case& c) {
  return [c](const std::vector<Doubles>& in) {
    Doubles a = convref::conv2d(conv1(c), in[0], in[1], in[2]);
    for (double& v : a) v = v > 0 ? v : 0.0;
    Doubles y = convref::conv2d(conv2(c), a, in[3], in[4]);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += in[0][i];
    return y;
  };
}

// conv2 sums up to width*9 = 54 products of activations (each a sum of up
// to 4 products) and weights in [-1, 1], in f32.
constexpr double forward_tol = 3e-5;
constexpr double grad_tol = 1e-4;
// Small enough that no pre-activation crosses zero between the two probes.
constexpr double fd_step = 1e-6;

struct Data {
  Floats x, w1, b1, w2, b2, gy;
  std::vector<Doubles> in() const {
    return {to_double(x), to_double(w1), to_double(b1), to_double(w2), to_double(b2)};
  }
};

Data draw(std::mt19937& rng, Harness& h, const Case& c) {
  Data d{random_floats(rng, count(c.x)),
         random_floats(rng, count(h.param_shape(0))),
         random_floats(rng, count(h.param_shape(1))),
         random_floats(rng, count(h.param_shape(2))),
         random_floats(rng, count(h.param_shape(3))),
         random_floats(rng, count(c.x))};
  h.params() = {d.w1, d.b1, d.w2, d.b2};
  return d;
}

void check_gradients(Harness& h, const Case& c, const Data& d, const std::vector<Floats>& grads) {
  const Doubles gy = to_double(d.gy);
  const auto want = [&](std::size_t which) { return numeric_grad(reference(c), d.in(), which, gy, fd_step); };
  check_close(grads[0], want(0), grad_tol, grad_tol, "grad_x");
  const char* names[] = {"grad_conv1_weight", "grad_conv1_bias", "grad_conv2_weight", "grad_conv2_bias"};
  for (std::size_t p = 0; p < 4; ++p)
    check_close(h.param_grads()[p], want(p + 1), grad_tol, grad_tol, names[p]);
}

}  // namespace

TEST_CASE("residual_block keeps x's shape and sizes both convolutions from C and width") {
  const std::vector<keel::TensorSpec> in = {{keel::DType::f32, {keel::symbolic_dim(0), 6, 8, 8}}};
  auto op = op_maker("residual_block")(keel::Attrs({{"width", std::int64_t(4)}}));
  keel::InferContext ctx{in, {}, {}};
  REQUIRE(op->infer(ctx).ok());
  CHECK(ctx.outputs[0] == in[0]);
  CHECK(ctx.param_shapes == std::vector<Shape>{{4, 6, 1, 1}, {4}, {6, 4, 3, 3}, {6}});
}

TEST_CASE("residual_block rejects inputs that are not fixed-size images") {
  auto error = [](const Shape& x) {
    auto op = op_maker("residual_block")(keel::Attrs({{"width", std::int64_t(0)}}));
    const std::vector<keel::TensorSpec> in = {{keel::DType::f32, x}};
    keel::InferContext ctx{in, {}, {}};
    const keel::Status st = op->infer(ctx);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  CHECK_THAT(error({2, 3, 4}), Catch::Contains("must be [N, C, H, W]"));
  CHECK_THAT(error({2, 3, keel::symbolic_dim(1), 4}), Catch::Contains("only the batch may be named"));
  CHECK_THAT(error({2, 0, 4, 4}), Catch::Contains("at least 1"));
}

TEST_CASE("residual_block forward matches naive convolutions, training and inference") {
  std::mt19937 rng(41);
  for (const Case& c : cases)
    for (bool training : {true, false}) {
      INFO(describe(c) << (training ? " training" : " inference"));
      Harness h(op_maker("residual_block"), attrs(c), std::vector<Shape>{c.x}, training);
      REQUIRE(h.output_shape() == c.x);
      const Data d = draw(rng, h, c);
      check_close(h.forward({d.x})[0], reference(c)(d.in()), forward_tol, forward_tol, "y");
    }
}

TEST_CASE("residual_block gradients of x and all four parameters match finite differences") {
  std::mt19937 rng(42);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(op_maker("residual_block"), attrs(c), {c.x});
    const Data d = draw(rng, h, c);
    const Floats y = h.forward({d.x})[0];
    check_gradients(h, c, d, h.backward({d.x}, {y}, {d.gy}));
  }
}

TEST_CASE("residual_block prepared once stays correct for new data and weights on every step") {
  std::mt19937 rng(43);
  const Case c = cases[2];
  Harness h(op_maker("residual_block"), attrs(c), {c.x});
  for (int step = 0; step < 3; ++step) {
    INFO("step " << step);
    const Data d = draw(rng, h, c);
    const Floats y = h.forward({d.x})[0];
    check_close(y, reference(c)(d.in()), forward_tol, forward_tol, "y");
    check_gradients(h, c, d, h.backward({d.x}, {y}, {d.gy}));
  }
}

TEST_CASE("residual_block backward without grad_x still computes every parameter gradient") {
  std::mt19937 rng(44);
  const Case c = cases[1];
  Harness h(op_maker("residual_block"), attrs(c), {c.x});
  const Data d = draw(rng, h, c);
  const Floats y = h.forward({d.x})[0];
  CHECK(h.backward({d.x}, {y}, {d.gy}, {false})[0].empty());
  check_close(h.param_grads()[2], numeric_grad(reference(c), d.in(), 3, to_double(d.gy), fd_step), grad_tol,
              grad_tol, "grad_conv2_weight");
  check_close(h.param_grads()[0], numeric_grad(reference(c), d.in(), 1, to_double(d.gy), fd_step), grad_tol,
              grad_tol, "grad_conv1_weight");
}
