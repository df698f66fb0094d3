#include <catch2/catch.hpp>
#include <cmath>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

struct Case {
  Shape a, b, y;
};

// Every way the two inputs can relate: equal, b broadcast, a broadcast
// (forward has to swap them), both broadcast (neither is the result's shape),
// scalars, and size-1 axes everywhere.
const std::vector<Case> cases = {
    {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
    {{2, 3, 4}, {4}, {2, 3, 4}},
    {{2, 3, 4}, {2, 1, 4}, {2, 3, 4}},
    {{4}, {2, 3, 4}, {2, 3, 4}},
    {{3, 1}, {2, 3, 4}, {2, 3, 4}},
    {{3, 1}, {1, 4}, {3, 4}},
    {{2, 1, 4}, {3, 1}, {2, 3, 4}},
    {{2, 3, 1, 5}, {3, 4, 1}, {2, 3, 4, 5}},
    {{1}, {5}, {5}},
    {{}, {2, 3}, {2, 3}},
    {{2, 3}, {}, {2, 3}},
    {{}, {}, {}},
    {{5, 1, 1}, {1, 1, 1}, {5, 1, 1}},
    {{1, 1}, {1, 1}, {1, 1}},
};

std::string describe(const Case& c) { return "a " + keel::shape_str(c.a) + ", b " + keel::shape_str(c.b); }

enum class Kind { add, sub, mul, div };
const std::vector<Kind> kinds = {Kind::add, Kind::sub, Kind::mul, Kind::div};

const char* name_of(Kind k) {
  switch (k) {
    case Kind::add:
      return "add";
    case Kind::sub:
      return "sub";
    case Kind::mul:
      return "mul";
    case Kind::div:
      return "div";
  }
  return "?";
}

const keel::OpMaker& maker(Kind k) { return op_maker(name_of(k)); }

Reference reference(Kind kind, const Case& c) {
  return [kind, c](const std::vector<Doubles>& in) {
    Doubles y(count(c.y));
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double a = in[0][broadcast_source_index(i, c.y, c.a)];
      const double b = in[1][broadcast_source_index(i, c.y, c.b)];
      switch (kind) {
        case Kind::add:
          y[i] = a + b;
          break;
        case Kind::sub:
          y[i] = a - b;
          break;
        case Kind::mul:
          y[i] = a * b;
          break;
        case Kind::div:
          y[i] = a / b;
          break;
      }
    }
    return y;
  };
}

// b for div: magnitudes in [0.5, 1], either sign, so a / b stays near the
// others' range and finite differences stay smooth.
Floats divisors(std::mt19937& rng, std::size_t n) {
  Floats v = random_floats(rng, n, 0.5f, 1.0f);
  std::bernoulli_distribution flip(0.5);
  for (float& x : v)
    if (flip(rng)) x = -x;
  return v;
}

Floats operand_b(Kind kind, std::mt19937& rng, std::size_t n) {
  return kind == Kind::div ? divisors(rng, n) : random_floats(rng, n);
}

// Central differences in double: with step 1e-6 the truncation error of
// a / b (third derivative up to 6 * 2 / 0.5^4 here) stays below 1e-10.
Doubles fd(Kind kind, const Case& c, const std::vector<Doubles>& in, std::size_t which, const Floats& gy) {
  return numeric_grad(reference(kind, c), in, which, to_double(gy), 1e-6);
}

// One correctly rounded f32 operation per element: relative error <= 2^-24.
constexpr double forward_rel_tol = 1e-6;
// A gradient entry sums at most 24 terms in f32, each one or two rounded
// products or quotients of values in [-1, 1] (up to 4 for div's b: a / b^2
// with |b| >= 0.5); the worst-case rounding of such a sum stays below 1e-5
// relative to the sum of magnitudes, 4e-4 absolute for div.
constexpr double grad_tol = 1e-5;
double grad_abs_tol(Kind kind) { return kind == Kind::div ? 4e-4 : grad_tol; }

void check_forward(Kind kind) {
  std::mt19937 rng(1234);
  for (const Case& c : cases) {
    INFO(name_of(kind) << ", " << describe(c));
    Harness h(maker(kind), {}, {c.a, c.b});
    REQUIRE(h.output_shape() == c.y);
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = operand_b(kind, rng, count(c.b));
    const Floats y = h.forward({a, b})[0];
    check_close(y, reference(kind, c)({to_double(a), to_double(b)}), forward_rel_tol, 0.0, "y");
  }
}

void check_gradients(Kind kind) {
  std::mt19937 rng(99);
  for (const Case& c : cases) {
    INFO(name_of(kind) << ", " << describe(c));
    Harness h(maker(kind), {}, {c.a, c.b});
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = operand_b(kind, rng, count(c.b));
    const Floats gy = random_floats(rng, count(c.y));
    const Floats y = h.forward({a, b})[0];
    const std::vector<Floats> grads = h.backward({a, b}, {y}, {gy});
    const std::vector<Doubles> in = {to_double(a), to_double(b)};
    check_close(grads[0], fd(kind, c, in, 0, gy), grad_tol, grad_abs_tol(kind), "grad_a");
    check_close(grads[1], fd(kind, c, in, 1, gy), grad_tol, grad_abs_tol(kind), "grad_b");
  }
}

}  // namespace

TEST_CASE("add matches a naive loop for every broadcasting pattern") { check_forward(Kind::add); }

TEST_CASE("sub matches a naive loop for every broadcasting pattern") { check_forward(Kind::sub); }

TEST_CASE("mul matches a naive loop for every broadcasting pattern") { check_forward(Kind::mul); }

TEST_CASE("div matches a naive loop for every broadcasting pattern") { check_forward(Kind::div); }

TEST_CASE("add gradients match finite differences, summed over broadcast axes") {
  check_gradients(Kind::add);
}

TEST_CASE("sub gradients match finite differences, summed over broadcast axes") {
  check_gradients(Kind::sub);
}

TEST_CASE("mul gradients match finite differences, summed over broadcast axes") {
  check_gradients(Kind::mul);
}

TEST_CASE("div gradients match finite differences, summed over broadcast axes") {
  check_gradients(Kind::div);
}

TEST_CASE("binary backward leaves a gradient nobody needs unwritten and computes the other") {
  const Case c{{3, 1}, {1, 4}, {3, 4}};
  std::mt19937 rng(5);
  for (Kind kind : kinds) {
    INFO(name_of(kind));
    Harness h(maker(kind), {}, {c.a, c.b});
    const Floats a = random_floats(rng, 3), b = operand_b(kind, rng, 4), gy = random_floats(rng, 12);
    const Floats y = h.forward({a, b})[0];
    const std::vector<Doubles> in = {to_double(a), to_double(b)};
    const auto only_b = h.backward({a, b}, {y}, {gy}, {false, true});
    CHECK(only_b[0].empty());
    check_close(only_b[1], fd(kind, c, in, 1, gy), grad_tol, grad_abs_tol(kind), "grad_b");
    const auto only_a = h.backward({a, b}, {y}, {gy}, {true, false});
    CHECK(only_a[1].empty());
    check_close(only_a[0], fd(kind, c, in, 0, gy), grad_tol, grad_abs_tol(kind), "grad_a");
  }
}

TEST_CASE("a binary op prepared once is correct for new data on every step") {
  // Both inputs broadcast: the path with the most cached state.
  const Case c{{2, 1, 4}, {3, 1}, {2, 3, 4}};
  std::mt19937 rng(77);
  for (Kind kind : kinds) {
    INFO(name_of(kind));
    Harness h(maker(kind), {}, {c.a, c.b});
    for (int step = 0; step < 5; ++step) {
      INFO("step " << step);
      const Floats a = random_floats(rng, count(c.a), -5.0f, 5.0f);
      Floats b = random_floats(rng, count(c.b), -5.0f, 5.0f);
      if (kind == Kind::div) b = divisors(rng, count(c.b));
      const Floats gy = random_floats(rng, count(c.y));
      const std::vector<Doubles> in = {to_double(a), to_double(b)};
      const Floats y = h.forward({a, b})[0];
      check_close(y, reference(kind, c)(in), forward_rel_tol, 0.0, "y");
      const auto grads = h.backward({a, b}, {y}, {gy});
      // Inputs up to 5 in magnitude: the gradient sums scale by 5 too.
      check_close(grads[0], fd(kind, c, in, 0, gy), 5 * grad_tol, 5 * grad_abs_tol(kind), "grad_a");
      check_close(grads[1], fd(kind, c, in, 1, gy), 5 * grad_tol, 5 * grad_abs_tol(kind), "grad_b");
    }
  }
}

TEST_CASE("a binary op prepared for inference runs forward") {
  const Case c{{4}, {2, 3, 4}, {2, 3, 4}};
  std::mt19937 rng(3);
  for (Kind kind : kinds) {
    INFO(name_of(kind));
    Harness h(maker(kind), {}, {c.a, c.b}, /*training=*/false);
    const Floats a = random_floats(rng, 4), b = operand_b(kind, rng, 24);
    check_close(h.forward({a, b})[0], reference(kind, c)({to_double(a), to_double(b)}), forward_rel_tol, 0.0,
                "y");
  }
}

TEST_CASE("div follows IEEE division by zero, as NumPy and PyTorch do") {
  Harness h(maker(Kind::div), {}, {{4}, {1}});
  const Floats y = h.forward({{1.0f, -2.0f, 0.0f, 3.0f}, {0.0f}})[0];
  CHECK(std::isinf(y[0]));
  CHECK(y[0] > 0.0f);
  CHECK(std::isinf(y[1]));
  CHECK(y[1] < 0.0f);
  CHECK(std::isnan(y[2]));
}

TEST_CASE("a binary op on an empty tensor zeroes the gradient of the broadcast input") {
  for (Kind kind : kinds) {
    INFO(name_of(kind));
    const keel::OpMaker& factory = maker(kind);
    Harness h(factory, {}, {{0, 3}, {1, 3}});
    REQUIRE(h.output_shape() == Shape{0, 3});
    const Floats y = h.forward({{}, {1.0f, 2.0f, 3.0f}})[0];
    CHECK(y.empty());
    const auto grads = h.backward({{}, {1.0f, 2.0f, 3.0f}}, {y}, {{}});
    CHECK(grads[0].empty());
    CHECK(grads[1] == Floats{0.0f, 0.0f, 0.0f});
  }
}

TEST_CASE("sub and div carry symbolic sizes and reject shapes that do not broadcast, naming both") {
  using layertest::batch;
  for (Kind kind : {Kind::sub, Kind::div}) {
    INFO(name_of(kind));
    const auto r = layertest::infer(maker(kind), {}, f32_specs({{batch, 1, 4}, {3, 1}}));
    REQUIRE(r.status.ok());
    CHECK(r.outputs[0].shape == Shape{batch, 3, 4});
  }
  CHECK(layertest::infer_error(maker(Kind::sub), {}, f32_specs({{2, 3}, {4, 3}})) ==
        "sub: a is [2, 3] and b is [4, 3]: dimensions 2 and 4 do not broadcast (axis 0 of the result)");
  CHECK(layertest::infer_error(maker(Kind::div), {}, {{keel::DType::f32, {3}}, {keel::DType::i64, {3}}}) ==
        "div: b has dtype i64; only f32 is supported");
}
