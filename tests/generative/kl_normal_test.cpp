// kl_normal against values worked out by hand, the closed form written as a
// double-precision loop here, and central finite differences of that loop.
// PyTorch parity is in generative_parity_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

// The definition, per element, summed and averaged over `rows`.
Doubles kl_reference(const std::vector<Doubles>& in, std::size_t rows) {
  double s = 0;
  for (std::size_t i = 0; i < in[0].size(); ++i) s += 1 + in[1][i] - in[0][i] * in[0][i] - std::exp(in[1][i]);
  return {-0.5 * s / double(rows)};
}

float kl(const Floats& mean, const Floats& logvar, const Shape& shape) {
  Harness h(op_maker("kl_normal"), keel::Attrs{}, {shape, shape});
  REQUIRE(h.output_shape().empty());
  return h.forward({mean, logvar})[0][0];
}

keel::Status infer_error(const std::vector<keel::TensorSpec>& in) {
  auto op = op_maker("kl_normal")(keel::Attrs{});
  keel::InferContext ctx{in, {}, {}};
  return op->infer(ctx);
}

}  // namespace

TEST_CASE("kl_normal is zero for the standard normal and matches hand-worked values") {
  CHECK(kl(Floats(6, 0.0f), Floats(6, 0.0f), {2, 3}) == 0.0f);
  // One row, one element: mean 1, logvar 0 gives -0.5 * (1 + 0 - 1 - 1) = 0.5.
  CHECK(kl({1.0f}, {0.0f}, {1, 1}) == Approx(0.5).epsilon(1e-7));
  // logvar = ln 2 (variance 2), mean 0: -0.5 * (1 + ln 2 - 2) = 0.5 - ln(2) / 2.
  CHECK(kl({0.0f}, {float(std::log(2.0))}, {1, 1}) == Approx(0.5 - std::log(2.0) / 2).epsilon(1e-6));
  // Two rows that are each 0.5: the average over the batch is 0.5, not their sum.
  CHECK(kl({1.0f, 0.0f, -1.0f, 0.0f}, Floats(4, 0.0f), {2, 2}) == Approx(0.5).epsilon(1e-7));
}

TEST_CASE("kl_normal sums every dimension but the first and averages over the first") {
  std::mt19937 rng(8);
  const Shape shape{3, 2, 4, 5};
  const std::size_t n = count(shape);
  const Floats mean = random_floats(rng, n, -2.0f, 2.0f), logvar = random_floats(rng, n, -3.0f, 2.0f);
  const Doubles want = kl_reference({to_double(mean), to_double(logvar)}, 3);
  check_close({kl(mean, logvar, shape)}, want, 1e-6, 0, "loss");
  CHECK(want[0] >= 0);  // a KL divergence is never negative
}

TEST_CASE("kl_normal gradients match central finite differences") {
  std::mt19937 rng(9);
  const Shape shape{4, 3};
  const std::size_t n = count(shape);
  const Floats mean = random_floats(rng, n, -2.0f, 2.0f), logvar = random_floats(rng, n, -2.0f, 1.5f);
  const Floats g{0.7f};
  Harness h(op_maker("kl_normal"), keel::Attrs{}, {shape, shape});
  const Floats loss = h.forward({mean, logvar})[0];
  const auto grads = h.backward({mean, logvar}, {loss}, {g});
  const std::vector<Doubles> in{to_double(mean), to_double(logvar)};
  auto f = [&](const std::vector<Doubles>& x) { return kl_reference(x, 4); };
  check_close(grads[0], numeric_grad(f, in, 0, {0.7}), 1e-5, 1e-7, "grad_mean");
  check_close(grads[1], numeric_grad(f, in, 1, {0.7}), 1e-5, 1e-7, "grad_logvar");
}

TEST_CASE("kl_normal stays accurate for a large batch: its sum runs in double") {
  // 2^22 elements of equal terms: a float sum would drift by far more than
  // 1e-6 of the result.
  const Shape shape{1 << 12, 1 << 10};
  const std::size_t n = count(shape);
  const float m = 0.3f, l = 0.25f;
  const double per_element = -0.5 * (1 + double(l) - double(m) * double(m) - std::exp(double(l)));
  const float got = kl(Floats(n, m), Floats(n, l), shape);
  CHECK(got == Approx(per_element * (1 << 10)).epsilon(1e-6));
}

TEST_CASE("kl_normal refuses mismatched shapes, scalars, other dtypes and empty batches, saying why") {
  using keel::DType;
  keel::Status st = infer_error({{DType::f32, {4, 3}}, {DType::f32, {4, 2}}});
  CHECK(st.message() == "kl_normal: mean is [4, 3] but logvar is [4, 2]; they must have the same shape");
  st = infer_error({{DType::f32, {}}, {DType::f32, {}}});
  CHECK(st.message().find("kl_normal: mean is a scalar; it must be [batch, ...]") == 0);
  st = infer_error({{DType::i64, {4}}, {DType::f32, {4}}});
  CHECK(st.message() == "kl_normal: mean is i64 and logvar is f32; both must be f32");

  keel::testing::Instance inst;
  REQUIRE(
      inst.create(op_maker("kl_normal"), keel::Attrs{}, {{DType::f32, {0, 3}}, {DType::f32, {0, 3}}}).ok());
  st = inst.prepare(true);
  CHECK(st.message() == "kl_normal: the batch is empty, and the mean over no rows is undefined");
}
