// bce_with_logits against the textbook definition in double precision,
// -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), and finite differences
// of it; extreme logits against the limits the stable form must reach; and
// its errors. PyTorch parity is in generative_parity_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"
#include "raw_op.hpp"

using namespace optest;
using keel::DType;
using keel::TensorSpec;

namespace {

keel::Attrs reduction(const char* r) { return keel::Attrs({{"reduction", keel::AttrValue{std::string(r)}}}); }

// The naive form: fine in double for the |x| <= 6 used with it here.
Reference textbook(bool mean) {
  return [mean](const std::vector<Doubles>& in) {
    double s = 0.0;
    for (std::size_t i = 0; i < in[0].size(); ++i) {
      const double p = 1.0 / (1.0 + std::exp(-in[0][i]));
      s -= in[1][i] * std::log(p) + (1.0 - in[1][i]) * std::log(1.0 - p);
    }
    return Doubles{mean ? s / static_cast<double>(in[0].size()) : s};
  };
}

}  // namespace

TEST_CASE("bce_with_logits matches the textbook cross entropy of sigmoid(logits), as a mean or a sum") {
  std::mt19937 rng(71);
  for (const Shape& shape : {Shape{}, Shape{7}, Shape{3, 4}, Shape{2, 3, 2}}) {
    for (bool mean : {true, false}) {
      INFO(keel::shape_str(shape) << (mean ? " mean" : " sum"));
      Harness h(op_maker("bce_with_logits"), reduction(mean ? "mean" : "sum"), {shape, shape});
      REQUIRE(h.output_shape().empty());
      const Floats x = random_floats(rng, count(shape), -6, 6), t = random_floats(rng, count(shape), 0, 1);
      // One f32 rounding of a double sum.
      check_close(h.forward({x, t})[0], textbook(mean)({to_double(x), to_double(t)}), 1e-6, 0, "loss");
    }
  }
}

TEST_CASE("bce_with_logits gradients of logits and target match finite differences") {
  std::mt19937 rng(72);
  const Shape shape{3, 5};
  for (bool mean : {true, false}) {
    INFO((mean ? "mean" : "sum"));
    Harness h(op_maker("bce_with_logits"), reduction(mean ? "mean" : "sum"), {shape, shape});
    const Floats x = random_floats(rng, count(shape), -4, 4), t = random_floats(rng, count(shape), 0, 1);
    const Floats loss = h.forward({x, t})[0];
    const Floats g{0.75f};
    const auto grads = h.backward({x, t}, {loss}, {g});
    const std::vector<Doubles> in{to_double(x), to_double(t)};
    // Central differences with h = 1e-4 of a smooth function in double: the
    // error is ~h^2 |f'''| / 6 < 1e-9, below the f32 rounding of the result.
    check_close(grads[0], numeric_grad(textbook(mean), in, 0, to_double(g)), 1e-5, 1e-7, "grad_logits");
    check_close(grads[1], numeric_grad(textbook(mean), in, 1, to_double(g)), 1e-5, 1e-7, "grad_target");
  }
}

TEST_CASE("bce_with_logits stays finite at logits of +-1e4, where the sigmoid rounds to 0 or 1") {
  Harness h(op_maker("bce_with_logits"), reduction("sum"), {{4}, {4}});
  const Floats x{1e4f, -1e4f, 1e4f, -1e4f}, t{1, 0, 0, 1};
  const Floats loss = h.forward({x, t})[0];
  // Right answers cost log(1 + e^-1e4) ~ 0; the two wrong ones cost 1e4 each.
  check_close(loss, {2e4}, 1e-7, 0, "loss");
  const auto grads = h.backward({x, t}, {loss}, {{1.0f}});
  // sigmoid(x) - t: 0, 0, 1, -1; and -x for the target.
  check_close(grads[0], {0, 0, 1, -1}, 0, 1e-30, "grad_logits");
  check_close(grads[1], {-1e4, 1e4, -1e4, 1e4}, 0, 0, "grad_target");
}

TEST_CASE("bce_with_logits refuses mismatched shapes, other dtypes and an empty mean in one line") {
  const auto& bce = op_maker("bce_with_logits");
  CHECK(layertest::infer_error(bce, {}, f32_specs({{4, 1}, {4}})) ==
        "bce_with_logits: logits are [4, 1] but target is [4]; they must have the same shape");
  CHECK(layertest::infer_error(bce, {}, {TensorSpec{DType::f32, {4}}, TensorSpec{DType::i64, {4}}}) ==
        "bce_with_logits: target has dtype i64; only f32 is supported");
  keel::testing::Instance empty;
  REQUIRE(empty.create(bce, {}, f32_specs({{0, 3}, {0, 3}})).ok());
  const keel::Status st = empty.prepare(true);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "bce_with_logits: logits are empty, and the mean of no elements is undefined");
  Harness sum(bce, reduction("sum"), {{0, 3}, {0, 3}});
  CHECK(sum.forward({{}, {}})[0] == Floats{0.0f});
}

TEST_CASE("bce_with_logits is a loss without a metric, and both inputs take gradients") {
  const keel::OpSchema& s = op_schema("bce_with_logits");
  CHECK(s.role == keel::Role::loss);
  CHECK(s.metric == keel::Metric::none);
  CHECK(s.has_backward);
  CHECK(s.inputs.at(0).differentiable);
  CHECK(s.inputs.at(1).differentiable);
}
