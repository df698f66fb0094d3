#include <algorithm>
#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

// One correctly rounded f32 operation per element.
constexpr double rel_tol = 1e-6;

keel::Attrs factor(double f) { return keel::Attrs({{"factor", keel::AttrValue{f}}}); }

Reference scale_reference(double f) {
  return [f](const std::vector<Doubles>& in) {
    Doubles y = in[0];
    for (double& v : y) v *= f;
    return y;
  };
}

Doubles relu_reference_one(const Doubles& x) {
  Doubles y = x;
  for (double& v : y) v = std::max(v, 0.0);
  return y;
}

const Reference relu_reference = [](const std::vector<Doubles>& in) { return relu_reference_one(in[0]); };

// Values in [-1, -0.1] or [0.1, 1]: finite differences with a step of 1e-4
// never straddle relu's kink at 0.
Floats away_from_zero(std::mt19937& rng, std::size_t n) {
  Floats v = random_floats(rng, n, 0.1f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  for (float& x : v)
    if (negative(rng)) x = -x;
  return v;
}

}  // namespace

TEST_CASE("scale multiplies every element by its factor, forward and backward") {
  std::mt19937 rng(11);
  for (double f : {2.5, -0.5, 0.0, 1.0}) {
    for (const Shape& shape : {Shape{7}, Shape{2, 3, 4}, Shape{}, Shape{1, 1}}) {
      INFO("factor " << f << ", shape " << keel::shape_str(shape));
      Harness h(op_maker("scale"), factor(f), {shape});
      REQUIRE(h.output_shape() == shape);
      const Floats x = random_floats(rng, count(shape));
      const Floats gy = random_floats(rng, count(shape));
      const Floats y = h.forward({x})[0];
      check_close(y, scale_reference(f)({to_double(x)}), rel_tol, 0.0, "y");
      const Floats gx = h.backward({x}, {y}, {gy})[0];
      check_close(gx, numeric_grad(scale_reference(f), {to_double(x)}, 0, to_double(gy)), 1e-6, 1e-9,
                  "grad_x");
    }
  }
}

TEST_CASE("scale without a factor attribute is the identity") {
  std::mt19937 rng(12);
  Harness h(op_maker("scale"), {}, {{3, 2}});
  const Floats x = random_floats(rng, 6);
  CHECK(h.forward({x})[0] == x);
}

TEST_CASE("relu matches max(x, 0) and its gradient matches finite differences away from 0") {
  std::mt19937 rng(13);
  for (const Shape& shape : {Shape{16}, Shape{3, 5, 2}, Shape{}, Shape{1}}) {
    INFO("shape " << keel::shape_str(shape));
    Harness h(op_maker("relu"), {}, {shape});
    const Floats x = away_from_zero(rng, count(shape));
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    check_close(y, relu_reference({to_double(x)}), 0.0, 0.0, "y");
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    check_close(gx, numeric_grad(relu_reference, {to_double(x)}, 0, to_double(gy)), 1e-6, 1e-9, "grad_x");
  }
}

TEST_CASE("relu prepared once is correct for new data on every step") {
  std::mt19937 rng(14);
  const Shape shape{4, 8};
  Harness h(op_maker("relu"), {}, {shape});
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const Floats x = away_from_zero(rng, count(shape));
    const Floats gy = random_floats(rng, count(shape));
    const Floats y = h.forward({x})[0];
    check_close(y, relu_reference({to_double(x)}), 0.0, 0.0, "y");
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(gx[i] == (x[i] > 0 ? gy[i] : 0.0f));
  }
}

TEST_CASE("unary ops accept empty tensors and inference-only prepare") {
  Harness empty(op_maker("relu"), {}, {{0, 4}});
  CHECK(empty.forward({{}})[0].empty());
  CHECK(empty.backward({{}}, {{}}, {{}})[0].empty());

  Harness inference(op_maker("scale"), factor(3.0), std::vector<Shape>{{2}}, /*training=*/false);
  CHECK(inference.forward({{1.0f, -2.0f}})[0] == Floats{3.0f, -6.0f});
}
