#include <catch2/catch.hpp>
#include <cmath>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

struct Case {
  Shape x;
  std::int64_t axis;
};

const std::vector<Case> cases = {
    {{4, 5}, -1},                // rows of class scores
    {{2, 3, 4}, 1},              // a middle axis: strided slices
    {{2, 3, 4}, 0},              // the first axis
    {{2, 3, 4}, -3},             // the same, counted from the end
    {{6}, 0},                    // one vector
    {{3, 1}, 1},                 // a slice of one element: all ones
    {{2, 1, 3, 1, 2, 1, 2}, 2},  // rank 7, beyond oneDNN's format tags
    {{3, 70}, 1},                // longer rows
};

std::string describe(const Case& c) {
  return "x " + keel::shape_str(c.x) + ", axis " + std::to_string(c.axis);
}

keel::Attrs axis_attrs(std::int64_t axis) { return attrs({{"axis", int_attr(axis)}}); }

// Max-shifted, in double: exp never overflows and each slice sums to 1.
// softmax (or, with `log`, log_softmax) along the case's axis, from the
// max-shifted exponentials in double.
Reference softmax_reference(const Case& c, bool log) {
  return [c, log](const std::vector<Doubles>& in) {
    const std::size_t rank = c.x.size();
    const std::size_t axis =
        static_cast<std::size_t>(c.axis < 0 ? c.axis + static_cast<std::int64_t>(rank) : c.axis);
    std::size_t inner = 1;
    for (std::size_t i = axis + 1; i < rank; ++i) inner *= static_cast<std::size_t>(c.x[i]);
    const auto n = static_cast<std::size_t>(c.x[axis]);
    const std::size_t outer = count(c.x) / (n * inner);
    Doubles y(in[0].size());
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t i = 0; i < inner; ++i) {
        auto at = [&](std::size_t k) { return (o * n + k) * inner + i; };
        double top = in[0][at(0)];
        for (std::size_t k = 1; k < n; ++k) top = std::max(top, in[0][at(k)]);
        double sum = 0.0;
        for (std::size_t k = 0; k < n; ++k) sum += std::exp(in[0][at(k)] - top);
        for (std::size_t k = 0; k < n; ++k)
          y[at(k)] = log ? in[0][at(k)] - top - std::log(sum) : std::exp(in[0][at(k)] - top) / sum;
      }
    return y;
  };
}

Reference reference(const Case& c) { return softmax_reference(c, false); }

// Probabilities lie in [0, 1]; oneDNN's exp approximation and the f32 sum
// over at most 70 terms stay within a few 1e-7 of them.
constexpr double tol = 2e-6;

}  // namespace

// The op against `ref(case)` on every case, training and inference.
template <class Reference>
void check_forward(const char* op, Reference ref, unsigned seed, double tolerance) {
  std::mt19937 rng(seed);
  for (bool training : {true, false})
    for (const Case& c : cases) {
      INFO(describe(c) << (training ? ", training" : ", inference"));
      Harness h(op_maker(op), axis_attrs(c.axis), std::vector<Shape>{c.x}, training);
      REQUIRE(h.output_shape() == c.x);
      const Floats x = random_floats(rng, count(c.x), -5.0f, 5.0f);
      check_close(h.forward({x})[0], ref(c)({to_double(x)}), tolerance, tolerance, "y");
    }
}

// The op's gradient against central finite differences of `ref(case)`.
template <class Reference>
void check_gradient(const char* op, Reference ref, unsigned seed) {
  std::mt19937 rng(seed);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(op_maker(op), axis_attrs(c.axis), {c.x});
    const Floats x = random_floats(rng, count(c.x), -3.0f, 3.0f);
    const Floats gy = random_floats(rng, count(c.x));
    const Floats y = h.forward({x})[0];
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    check_close(gx, numeric_grad(ref(c), {to_double(x)}, 0, to_double(gy)), 1e-5, 1e-5, "grad_x");
  }
}

TEST_CASE("softmax matches a naive max-shifted loop on every axis, training and inference") {
  check_forward("softmax", reference, 51, tol);
}

TEST_CASE("softmax gradients match finite differences on every axis") {
  check_gradient("softmax", reference, 52);
}

TEST_CASE("softmax stays finite for inputs whose exp overflows f32") {
  const Case c{{2, 3}, -1};
  Harness h(op_maker("softmax"), {}, {c.x});
  const Floats x = {1000.0f, 999.0f, 998.0f, -1000.0f, -1001.0f, -1002.0f};
  const Floats y = h.forward({x})[0];
  check_close(y, reference(c)({to_double(x)}), tol, tol, "y");
}

TEST_CASE("softmax prepared once stays correct for new data on every step") {
  const Case c{{2, 3, 4}, 1};
  std::mt19937 rng(53);
  Harness h(op_maker("softmax"), axis_attrs(c.axis), {c.x});
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const Floats x = random_floats(rng, 24, -3.0f, 3.0f), gy = random_floats(rng, 24);
    const Floats y = h.forward({x})[0];
    check_close(y, reference(c)({to_double(x)}), tol, tol, "y");
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    check_close(gx, numeric_grad(reference(c), {to_double(x)}, 0, to_double(gy)), 1e-5, 1e-5, "grad_x");
  }
}

TEST_CASE("softmax handles an empty tensor without running anything") {
  Harness h(op_maker("softmax"), {}, {{0, 5}});
  CHECK(h.forward({{}})[0].empty());
  CHECK(h.backward({{}}, {{}}, {{}})[0].empty());
}

TEST_CASE("softmax keeps symbolic shapes and rejects axes outside the rank") {
  CHECK(inferred_shape(op_maker("softmax"), {}, {batch, 10}) == Shape{batch, 10});
  CHECK(inferred_shape(op_maker("softmax"), axis_attrs(0), {batch, 10}) == Shape{batch, 10});
  CHECK(infer_error(op_maker("softmax"), axis_attrs(2), Shape{batch, 10}) ==
        "softmax: axis 2 is out of range for rank 2 (allowed -2 to 1)");
  CHECK(infer_error(op_maker("softmax"), axis_attrs(-3), Shape{4, 10}) ==
        "softmax: axis -3 is out of range for rank 2 (allowed -2 to 1)");
  CHECK(infer_error(op_maker("softmax"), {}, Shape{}) == "softmax: x must have rank 1 or more, got a scalar");
  CHECK(infer_error(op_maker("softmax"), {}, {{keel::DType::i64, {3}}}) ==
        "softmax: x has dtype i64; only f32 is supported");
}

namespace {

// x - max - log(sum(exp(x - max))) along the axis, in double: no exp of a
// large value, and no log of an exp that underflowed.
Reference log_reference(const Case& c) { return softmax_reference(c, true); }

// Log-probabilities of inputs in [-5, 5] over at most 70 classes lie above
// -15; oneDNN's exp and log approximations stay within a few 1e-7 of them
// relative to that range.
constexpr double log_tol = 4e-6;

}  // namespace

TEST_CASE(
    "log_softmax matches the log of a naive max-shifted softmax on every axis, training and inference") {
  check_forward("log_softmax", log_reference, 54, log_tol);
}

TEST_CASE("log_softmax gradients match finite differences on every axis") {
  check_gradient("log_softmax", log_reference, 55);
}

TEST_CASE("log_softmax stays finite where exp overflows or underflows f32") {
  const Case c{{2, 3}, -1};
  Harness h(op_maker("log_softmax"), {}, {c.x});
  const Floats x = {1000.0f, 999.0f, 900.0f, -1000.0f, -1001.0f, 0.0f};
  const Floats y = h.forward({x})[0];
  // exp(-100) and exp(-1000) are 0 in f32, yet their logs are plain numbers.
  check_close(y, log_reference(c)({to_double(x)}), 1e-6, 1e-4, "y");
  CHECK(y[2] == Approx(-100.0 - std::log1p(std::exp(-1.0))).margin(1e-4));
}

TEST_CASE("log_softmax handles an empty tensor and rejects axes outside the rank") {
  Harness h(op_maker("log_softmax"), {}, {{0, 5}});
  CHECK(h.forward({{}})[0].empty());
  CHECK(h.backward({{}}, {{}}, {{}})[0].empty());
  CHECK(inferred_shape(op_maker("log_softmax"), {}, {batch, 10}) == Shape{batch, 10});
  CHECK(infer_error(op_maker("log_softmax"), axis_attrs(2), Shape{batch, 10}) ==
        "log_softmax: axis 2 is out of range for rank 2 (allowed -2 to 1)");
  CHECK(infer_error(op_maker("log_softmax"), {}, Shape{}) ==
        "log_softmax: x must have rank 1 or more, got a scalar");
}
