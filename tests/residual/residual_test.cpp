#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

struct Case {
  Shape branch, skip;
  bool learned = false;
  double gain_init = 0.0;
};

// Identity, linear and 1x1-convolution skips (widening and narrowing), each
// with the gain fixed at 1 and learned from a non-zero start.
const std::vector<Case> cases = {
    {{2, 3, 4}, {2, 3, 4}, false, 0.0},
    {{4, 5}, {4, 5}, true, 0.5},
    {{3, 6}, {3, 4}, false, 0.0},
    {{3, 2}, {3, 5}, true, 0.0},
    {{2, 5, 3, 4}, {2, 3, 3, 4}, false, 0.0},
    {{2, 5, 3, 4}, {2, 3, 3, 4}, true, 0.25},
    {{2, 2, 3, 3}, {2, 6, 3, 3}, false, 0.0},
};

keel::Attrs attrs(const Case& c, const std::string& projection = "auto") {
  return keel::Attrs({{"projection", projection},
                      {"gain", std::string(c.learned ? "learned" : "none")},
                      {"gain_init", c.gain_init}});
}

std::string describe(const Case& c) {
  return "branch " + keel::shape_str(c.branch) + ", skip " + keel::shape_str(c.skip) +
         (c.learned ? ", learned gain from " + std::to_string(c.gain_init) : ", gain 1");
}

// Inputs {branch, skip, proj_weight, gain}: y = P(skip) + g * branch with
// P(skip)[n, o, ...] = sum_i W[o, i] * skip[n, i, ...] when shapes differ.
Reference reference(const Case& c) {
  return [c](const std::vector<Doubles>& in) {
    const double g = c.learned ? c.gain_init + in[3][0] : 1.0;
    Doubles y(count(c.branch));
    if (c.branch == c.skip) {
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = in[1][i] + g * in[0][i];
      return y;
    }
    const std::size_t n = std::size_t(c.branch[0]), out = std::size_t(c.branch[1]),
                      inn = std::size_t(c.skip[1]);
    const std::size_t pixels = c.branch.size() == 4 ? std::size_t(c.branch[2] * c.branch[3]) : 1;
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t o = 0; o < out; ++o)
        for (std::size_t p = 0; p < pixels; ++p) {
          double acc = 0.0;
          for (std::size_t i = 0; i < inn; ++i) acc += in[2][o * inn + i] * in[1][(b * inn + i) * pixels + p];
          const std::size_t k = (b * out + o) * pixels + p;
          y[k] = acc + g * in[0][k];
        }
    return y;
  };
}

// At most 6 products of values in [-1, 1] plus one scaled add, in f32.
constexpr double tol = 1e-5;

struct Data {
  Floats branch, skip, weight, gain, gy;
  std::vector<Doubles> in() const {
    return {to_double(branch), to_double(skip), to_double(weight), to_double(gain)};
  }
};

Data draw(std::mt19937& rng, Harness& h, const Case& c) {
  Data d{random_floats(rng, count(c.branch)), random_floats(rng, count(c.skip)),
         random_floats(rng, count(h.param_shape(0))), random_floats(rng, count(h.param_shape(1))),
         random_floats(rng, count(c.branch))};
  h.params() = {d.weight, d.gain};
  return d;
}

std::string infer_error(const keel::Attrs& a, const Shape& branch, const Shape& skip) {
  auto op = op_maker("residual")(a);
  const std::vector<keel::TensorSpec> in = {{keel::DType::f32, branch}, {keel::DType::f32, skip}};
  keel::InferContext ctx{in, {}, {}};
  const keel::Status st = op->infer(ctx);
  REQUIRE_FALSE(st.ok());
  return st.message();
}

}  // namespace

TEST_CASE("residual sizes its projection and gain only when it uses them") {
  const keel::Dim batch = keel::symbolic_dim(0);
  struct Want {
    Case c;
    Shape proj, gain;
  };
  for (const Want& w : std::vector<Want>{{{{batch, 8}, {batch, 8}, false}, {0, 0}, {0}},
                                         {{{batch, 8}, {batch, 3}, true}, {8, 3}, {1}},
                                         {{{batch, 4, 5, 6}, {batch, 2, 5, 6}, false}, {4, 2, 1, 1}, {0}}}) {
    INFO(describe(w.c));
    auto op = op_maker("residual")(attrs(w.c));
    const std::vector<keel::TensorSpec> in = {{keel::DType::f32, w.c.branch}, {keel::DType::f32, w.c.skip}};
    keel::InferContext ctx{in, {}, {}};
    REQUIRE(op->infer(ctx).ok());
    CHECK(ctx.outputs[0].shape == w.c.branch);
    CHECK(ctx.param_shapes == std::vector<Shape>{w.proj, w.gain});
  }
}

TEST_CASE("residual names both shapes when they cannot be joined") {
  const keel::Attrs a = attrs({});
  CHECK_THAT(infer_error(attrs({}, "none"), {2, 3}, {2, 4}),
             Catch::Contains("branch is [2, 3] and skip is [2, 4]") && Catch::Contains("projection is none"));
  CHECK_THAT(infer_error(a, {2, 3, 4}, {2, 3, 5}),
             Catch::Contains("branch is [2, 3, 4] and skip is [2, 3, 5]"));
  CHECK_THAT(infer_error(a, {2, 3}, {3, 3}), Catch::Contains("branch is [2, 3] and skip is [3, 3]"));
  CHECK_THAT(infer_error(a, {2, 4, 5, 5}, {2, 3, 4, 5}), Catch::Contains("branch is [2, 4, 5, 5]"));
  CHECK_THAT(infer_error(a, {2, 6}, {2, 3, 1, 1}), Catch::Contains("skip is [2, 3, 1, 1]"));
  CHECK_THAT(infer_error(a, {2, 6}, {2, keel::symbolic_dim(1)}), Catch::Contains("fixed"));
}

TEST_CASE("residual forward matches a naive reference, training and inference") {
  std::mt19937 rng(31);
  for (const Case& c : cases)
    for (bool training : {true, false}) {
      INFO(describe(c) << (training ? " training" : " inference"));
      Harness h(op_maker("residual"), attrs(c), std::vector<Shape>{c.branch, c.skip}, training);
      const Data d = draw(rng, h, c);
      check_close(h.forward({d.branch, d.skip})[0], reference(c)(d.in()), tol, tol, "y");
    }
}

TEST_CASE("residual gradients of branch, skip, projection and gain match finite differences") {
  std::mt19937 rng(32);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(op_maker("residual"), attrs(c), {c.branch, c.skip});
    const Data d = draw(rng, h, c);
    const Floats y = h.forward({d.branch, d.skip})[0];
    const auto grads = h.backward({d.branch, d.skip}, {y}, {d.gy});
    const Doubles gy = to_double(d.gy);
    check_close(grads[0], numeric_grad(reference(c), d.in(), 0, gy), tol, tol, "grad_branch");
    check_close(grads[1], numeric_grad(reference(c), d.in(), 1, gy), tol, tol, "grad_skip");
    check_close(h.param_grads()[0], numeric_grad(reference(c), d.in(), 2, gy), tol, tol, "grad_proj_weight");
    // grad_gain sums every element's product: allow for that many roundings.
    check_close(h.param_grads()[1], numeric_grad(reference(c), d.in(), 3, gy), 1e-5, 1e-4, "grad_gain");
  }
}

TEST_CASE("residual backward skips input gradients nobody needs") {
  std::mt19937 rng(33);
  for (const Case& c : {cases[2], cases[5]}) {
    INFO(describe(c));
    Harness h(op_maker("residual"), attrs(c), {c.branch, c.skip});
    const Data d = draw(rng, h, c);
    const Floats y = h.forward({d.branch, d.skip})[0];
    const auto grads = h.backward({d.branch, d.skip}, {y}, {d.gy}, {false, false});
    CHECK(grads[0].empty());
    CHECK(grads[1].empty());
    check_close(h.param_grads()[0], numeric_grad(reference(c), d.in(), 2, to_double(d.gy)), tol, tol,
                "grad_proj_weight");
  }
}

TEST_CASE("residual prepared once stays correct for new data and parameters on every step") {
  std::mt19937 rng(34);
  for (const Case& c : {cases[3], cases[5]}) {
    Harness h(op_maker("residual"), attrs(c), {c.branch, c.skip});
    for (int step = 0; step < 3; ++step) {
      INFO(describe(c) << " step " << step);
      const Data d = draw(rng, h, c);
      const Floats y = h.forward({d.branch, d.skip})[0];
      check_close(y, reference(c)(d.in()), tol, tol, "y");
      const auto grads = h.backward({d.branch, d.skip}, {y}, {d.gy});
      check_close(grads[1], numeric_grad(reference(c), d.in(), 1, to_double(d.gy)), tol, tol, "grad_skip");
      check_close(h.param_grads()[0], numeric_grad(reference(c), d.in(), 2, to_double(d.gy)), tol, tol,
                  "grad_proj_weight");
    }
  }
}

TEST_CASE("residual with a projection on an empty batch writes zero parameter gradients") {
  const Case c{{0, 4}, {0, 2}, true, 1.0};
  Harness h(op_maker("residual"), attrs(c), {c.branch, c.skip});
  h.params() = {Floats(8, 0.5f), Floats(1, 0.5f)};
  const Floats y = h.forward({{}, {}})[0];
  CHECK(y.empty());
  h.backward({{}, {}}, {y}, {{}});
  CHECK(h.param_grads()[0] == Floats(8, 0.0f));
  CHECK(h.param_grads()[1] == Floats(1, 0.0f));
}
