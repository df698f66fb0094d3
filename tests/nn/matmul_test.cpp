#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

struct Case {
  Shape a, b, y;
};

const std::vector<Case> cases = {
    {{4, 3}, {3, 2}, {4, 2}},                    // non-square
    {{2, 5, 3}, {3, 4}, {2, 5, 4}},              // b shared across a's leading axis
    {{3, 4, 5}, {3, 5, 2}, {3, 4, 2}},           // batched
    {{2, 2, 3, 4}, {2, 2, 4, 1}, {2, 2, 3, 1}},  // two batch axes, N = 1
    {{1, 1}, {1, 1}, {1, 1}},                    //
    {{1, 7}, {7, 1}, {1, 1}},                    // M = N = 1
    {{6, 1}, {1, 5}, {6, 5}},                    // K = 1
    {{5, 64}, {64, 6}, {5, 6}},                  // the largest K tested
    {{2, 3, 64}, {2, 64, 9}, {2, 3, 9}},
};

std::string describe(const Case& c) { return "a " + keel::shape_str(c.a) + ", b " + keel::shape_str(c.b); }

// y[t, m, n] = sum_k a[t, m, k] * b[t or 0, k, n], where a shared b has
// every leading axis of a folded into m.
Reference reference(const Case& c) {
  return [c](const std::vector<Doubles>& in) {
    const bool shared = c.b.size() == 2;
    const std::size_t K = static_cast<std::size_t>(c.a.back());
    const std::size_t N = static_cast<std::size_t>(c.b.back());
    const std::size_t M = shared ? count(c.a) / K : static_cast<std::size_t>(c.a[c.a.size() - 2]);
    const std::size_t batches = shared ? 1 : count(c.a) / (M * K);
    Doubles y(batches * M * N, 0.0);
    for (std::size_t t = 0; t < batches; ++t)
      for (std::size_t m = 0; m < M; ++m)
        for (std::size_t n = 0; n < N; ++n) {
          double s = 0.0;
          for (std::size_t k = 0; k < K; ++k) s += in[0][(t * M + m) * K + k] * in[1][(t * K + k) * N + n];
          y[(t * M + m) * N + n] = s;
        }
    return y;
  };
}

// Dot products of up to 64 f32 terms in [-1, 1]: the accumulated rounding
// error is bounded by about K * 2^-24 * sum|a_k b_k| < 2.5e-4 in the worst
// case and is orders of magnitude smaller for random data, so 1e-4 holds.
constexpr double tol = 1e-4;

}  // namespace

TEST_CASE("matmul matches a naive triple loop, shared-b, batched, non-square and size-1") {
  std::mt19937 rng(21);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(op_maker("matmul"), {}, {c.a, c.b});
    REQUIRE(h.output_shape() == c.y);
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = random_floats(rng, count(c.b));
    check_close(h.forward({a, b})[0], reference(c)({to_double(a), to_double(b)}), tol, tol, "y");
  }
}

TEST_CASE("matmul gradients of a and b match finite differences") {
  std::mt19937 rng(22);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(op_maker("matmul"), {}, {c.a, c.b});
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = random_floats(rng, count(c.b));
    const Floats gy = random_floats(rng, count(c.y));
    const Floats y = h.forward({a, b})[0];
    const auto grads = h.backward({a, b}, {y}, {gy});
    const std::vector<Doubles> in = {to_double(a), to_double(b)};
    check_close(grads[0], numeric_grad(reference(c), in, 0, to_double(gy)), tol, tol, "grad_a");
    check_close(grads[1], numeric_grad(reference(c), in, 1, to_double(gy)), tol, tol, "grad_b");
  }
}

TEST_CASE("matmul prepared once is correct for new data on every step") {
  const Case c{{3, 4, 5}, {3, 5, 2}, {3, 4, 2}};
  std::mt19937 rng(23);
  Harness h(op_maker("matmul"), {}, {c.a, c.b});
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const Floats a = random_floats(rng, count(c.a));
    const Floats b = random_floats(rng, count(c.b));
    const Floats gy = random_floats(rng, count(c.y));
    const std::vector<Doubles> in = {to_double(a), to_double(b)};
    const Floats y = h.forward({a, b})[0];
    check_close(y, reference(c)(in), tol, tol, "y");
    const auto grads = h.backward({a, b}, {y}, {gy}, {step % 2 == 0, true});
    if (step % 2 == 0)
      check_close(grads[0], numeric_grad(reference(c), in, 0, to_double(gy)), tol, tol, "grad_a");
    else
      CHECK(grads[0].empty());
    check_close(grads[1], numeric_grad(reference(c), in, 1, to_double(gy)), tol, tol, "grad_b");
  }
}

TEST_CASE("matmul with an empty inner dimension gives zeros") {
  Harness h(op_maker("matmul"), {}, {{2, 0}, {0, 3}});
  REQUIRE(h.output_shape() == Shape{2, 3});
  const Floats y = h.forward({{}, {}})[0];
  CHECK(y == Floats(6, 0.0f));
  const auto grads = h.backward({{}, {}}, {y}, {Floats(6, 1.0f)});
  CHECK(grads[0].empty());
  CHECK(grads[1].empty());

  Harness no_rows(op_maker("matmul"), {}, {{0, 2}, {2, 3}});
  const auto g = no_rows.backward({{}, Floats(6, 1.0f)}, {{}}, {{}});
  CHECK(g[1] == Floats(6, 0.0f));
}

TEST_CASE("matmul prepared for inference runs forward") {
  Harness h(op_maker("matmul"), {}, std::vector<Shape>{{2, 2}, {2, 2}}, /*training=*/false);
  CHECK(h.forward({{1, 2, 3, 4}, {5, 6, 7, 8}})[0] == Floats{19, 22, 43, 50});
}
