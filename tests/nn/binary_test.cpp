#include <catch2/catch.hpp>

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

Reference reference(bool is_add, const Case& c) {
  return [is_add, c](const std::vector<Doubles>& in) {
    Doubles y(count(c.y));
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double a = in[0][broadcast_source_index(i, c.y, c.a)];
      const double b = in[1][broadcast_source_index(i, c.y, c.b)];
      y[i] = is_add ? a + b : a * b;
    }
    return y;
  };
}

// One correctly rounded f32 operation per element: relative error <= 2^-24.
constexpr double forward_rel_tol = 1e-6;
// A gradient entry sums at most 24 products of values in [-1, 1] in f32;
// the worst-case rounding of such a sum stays below 1e-5.
constexpr double grad_tol = 1e-5;

void check_forward(const keel::OpMaker& factory, bool is_add) {
  std::mt19937 rng(1234);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(factory, {}, {c.a, c.b});
    REQUIRE(h.output_shape() == c.y);
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = random_floats(rng, count(c.b));
    const Floats y = h.forward({a, b})[0];
    check_close(y, reference(is_add, c)({to_double(a), to_double(b)}), forward_rel_tol, 0.0, "y");
  }
}

void check_gradients(const keel::OpMaker& factory, bool is_add) {
  std::mt19937 rng(99);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(factory, {}, {c.a, c.b});
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = random_floats(rng, count(c.b));
    const Floats gy = random_floats(rng, count(c.y));
    const Floats y = h.forward({a, b})[0];
    const std::vector<Floats> grads = h.backward({a, b}, {y}, {gy});
    const std::vector<Doubles> in = {to_double(a), to_double(b)};
    check_close(grads[0], numeric_grad(reference(is_add, c), in, 0, to_double(gy)), grad_tol, grad_tol,
                "grad_a");
    check_close(grads[1], numeric_grad(reference(is_add, c), in, 1, to_double(gy)), grad_tol, grad_tol,
                "grad_b");
  }
}

}  // namespace

TEST_CASE("add matches a naive loop for every broadcasting pattern") { check_forward(op_maker("add"), true); }

TEST_CASE("mul matches a naive loop for every broadcasting pattern") {
  check_forward(op_maker("mul"), false);
}

TEST_CASE("add gradients match finite differences, summed over broadcast axes") {
  check_gradients(op_maker("add"), true);
}

TEST_CASE("mul gradients match finite differences, summed over broadcast axes") {
  check_gradients(op_maker("mul"), false);
}

TEST_CASE("binary backward leaves a gradient nobody needs unwritten and computes the other") {
  const Case c{{3, 1}, {1, 4}, {3, 4}};
  std::mt19937 rng(5);
  for (bool is_add : {true, false}) {
    Harness h(is_add ? op_maker("add") : op_maker("mul"), {}, {c.a, c.b});
    const Floats a = random_floats(rng, 3), b = random_floats(rng, 4), gy = random_floats(rng, 12);
    const Floats y = h.forward({a, b})[0];
    const std::vector<Doubles> in = {to_double(a), to_double(b)};
    const auto only_b = h.backward({a, b}, {y}, {gy}, {false, true});
    CHECK(only_b[0].empty());
    check_close(only_b[1], numeric_grad(reference(is_add, c), in, 1, to_double(gy)), grad_tol, grad_tol,
                "grad_b");
    const auto only_a = h.backward({a, b}, {y}, {gy}, {true, false});
    check_close(only_a[0], numeric_grad(reference(is_add, c), in, 0, to_double(gy)), grad_tol, grad_tol,
                "grad_a");
  }
}

TEST_CASE("a binary op prepared once is correct for new data on every step") {
  // Both inputs broadcast: the path with the most cached state.
  const Case c{{2, 1, 4}, {3, 1}, {2, 3, 4}};
  std::mt19937 rng(77);
  for (bool is_add : {true, false}) {
    Harness h(is_add ? op_maker("add") : op_maker("mul"), {}, {c.a, c.b});
    for (int step = 0; step < 5; ++step) {
      INFO("step " << step);
      const Floats a = random_floats(rng, count(c.a), -5.0f, 5.0f);
      const Floats b = random_floats(rng, count(c.b), -5.0f, 5.0f);
      const Floats gy = random_floats(rng, count(c.y));
      const std::vector<Doubles> in = {to_double(a), to_double(b)};
      const Floats y = h.forward({a, b})[0];
      check_close(y, reference(is_add, c)(in), forward_rel_tol, 0.0, "y");
      const auto grads = h.backward({a, b}, {y}, {gy});
      // Inputs up to 5 in magnitude: the gradient sums scale by 5 too.
      check_close(grads[1], numeric_grad(reference(is_add, c), in, 1, to_double(gy)), 5 * grad_tol,
                  5 * grad_tol, "grad_b");
    }
  }
}

TEST_CASE("a binary op prepared for inference runs forward") {
  const Case c{{4}, {2, 3, 4}, {2, 3, 4}};
  std::mt19937 rng(3);
  Harness h(op_maker("mul"), {}, {c.a, c.b}, /*training=*/false);
  const Floats a = random_floats(rng, 4), b = random_floats(rng, 24);
  check_close(h.forward({a, b})[0], reference(false, c)({to_double(a), to_double(b)}), forward_rel_tol, 0.0,
              "y");
}

TEST_CASE("a binary op on an empty tensor zeroes the gradient of the broadcast input") {
  for (auto factory : {op_maker("add"), op_maker("mul")}) {
    Harness h(factory, {}, {{0, 3}, {1, 3}});
    REQUIRE(h.output_shape() == Shape{0, 3});
    const Floats y = h.forward({{}, {1.0f, 2.0f, 3.0f}})[0];
    CHECK(y.empty());
    const auto grads = h.backward({{}, {1.0f, 2.0f, 3.0f}}, {y}, {{}});
    CHECK(grads[0].empty());
    CHECK(grads[1] == Floats{0.0f, 0.0f, 0.0f});
  }
}
