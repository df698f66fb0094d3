// batchnorm forward in both modes and the running-statistic updates, against
// the naive double reference (norm_reference.hpp) and the closed-form
// momentum recurrence.
#include <catch2/catch.hpp>
#include <cmath>

#include "norm_reference.hpp"
#include "norm_test_util.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using normtest::attrs;
using normtest::channel_data;

namespace {

// Both ranks, and both ways the op lays data out for oneDNN: C % 16 == 0
// without spatial axes is a zero-copy view, everything else is reordered.
const std::vector<Shape> shapes = {{6, 4}, {5, 16}, {3, 5, 2, 3}, {2, 16, 3, 2}, {4, 3, 1, 1}, {4, 32, 1, 1}};

// f32 statistics over at most 36 values and one f32 normalization per
// element: for |y| up to ~10 the error stays well below 2e-5.
constexpr double y_tol = 2e-5;
// One f32 multiply-add per update on values of order 1.
constexpr double stat_tol = 1e-5;

std::size_t channels(const Shape& s) { return std::size_t(s[1]); }

void set_affine(Harness& h, std::mt19937& rng, std::size_t c) {
  h.params()[0] = random_floats(rng, c, 0.5f, 1.5f);
  h.params()[1] = random_floats(rng, c, -1.0f, 1.0f);
}

void set_running(Harness& h, std::mt19937& rng, std::size_t c) {
  h.params()[2] = random_floats(rng, c, -1.0f, 1.0f);
  h.params()[3] = random_floats(rng, c, 0.2f, 2.0f);
}

// Unbiased variance, as the running estimate uses it.
Doubles unbiased(const Doubles& biased, const Shape& shape) {
  const double n = double(normref::NcsShape(shape).per_channel());
  Doubles v = biased;
  for (double& e : v) e *= n / (n - 1);
  return v;
}

}  // namespace

TEST_CASE("batchnorm training forward normalizes each channel with the batch's own statistics") {
  std::mt19937 rng(11);
  for (const Shape& shape : shapes) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("batchnorm"), attrs(), {shape});
    REQUIRE(h.output_shape() == shape);
    REQUIRE(h.param_count() == 4);
    for (std::size_t p = 0; p < 4; ++p) CHECK(h.param_shape(p) == Shape{shape[1]});
    set_affine(h, rng, channels(shape));
    set_running(h, rng, channels(shape));
    const Floats x = channel_data(rng, shape);
    const Floats y = h.forward({x})[0];
    const Doubles want = normref::batchnorm_train(
        shape, 1e-5)({to_double(x), to_double(h.params()[0]), to_double(h.params()[1])});
    check_close(y, want, y_tol, y_tol, "y");
  }
}

TEST_CASE("batchnorm inference forward normalizes with the running statistics and leaves them unchanged") {
  std::mt19937 rng(12);
  for (const Shape& shape : shapes) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("batchnorm"), attrs({{"epsilon", 1e-3}}), {shape}, /*training=*/false);
    set_affine(h, rng, channels(shape));
    set_running(h, rng, channels(shape));
    const std::vector<Floats> before = h.params();
    const Floats x = channel_data(rng, shape);
    const Floats y = h.forward({x})[0];
    const Doubles want =
        normref::batchnorm_infer(to_double(x), shape, to_double(before[0]), to_double(before[1]),
                                 to_double(before[2]), to_double(before[3]), 1e-3);
    check_close(y, want, y_tol, y_tol, "y");
    CHECK(h.params() == before);
  }
}

TEST_CASE("batchnorm prepared for training also runs inference forwards with the running statistics") {
  std::mt19937 rng(13);
  for (const Shape& shape : {Shape{6, 4}, Shape{5, 16}, Shape{3, 5, 2, 3}}) {
    INFO("x " << keel::shape_str(shape));
    normtest::Direct d(op_maker("batchnorm"), attrs(), shape, /*prepare_training=*/true);
    const std::size_t c = channels(shape);
    d.params = {random_floats(rng, c, 0.5f, 1.5f), random_floats(rng, c), random_floats(rng, c),
                random_floats(rng, c, 0.2f, 2.0f)};
    const std::vector<Floats> before = d.params;
    const Floats x = channel_data(rng, shape);
    Floats y;
    REQUIRE(d.forward(x, y, /*training=*/false).ok());
    check_close(y,
                normref::batchnorm_infer(to_double(x), shape, to_double(before[0]), to_double(before[1]),
                                         to_double(before[2]), to_double(before[3]), 1e-5),
                y_tol, y_tol, "y");
    CHECK(d.params == before);
  }
}

TEST_CASE(
    "one training step moves the running statistics by momentum toward the batch's, variance unbiased") {
  std::mt19937 rng(21);
  for (double momentum : {0.1, 0.25}) {
    for (const Shape& shape : shapes) {
      INFO("x " << keel::shape_str(shape) << ", momentum " << momentum);
      Harness h(op_maker("batchnorm"), attrs({{"momentum", momentum}}), {shape});
      set_affine(h, rng, channels(shape));
      set_running(h, rng, channels(shape));
      const Doubles r_mean = to_double(h.params()[2]), r_var = to_double(h.params()[3]);
      const Floats x = channel_data(rng, shape);
      h.forward({x});
      const normref::ChannelStats st = normref::batch_stats(to_double(x), shape);
      const Doubles batch_var = unbiased(st.var, shape);
      Doubles want_mean(r_mean.size()), want_var(r_var.size());
      for (std::size_t c = 0; c < want_mean.size(); ++c) {
        want_mean[c] = (1 - momentum) * r_mean[c] + momentum * st.mean[c];
        want_var[c] = (1 - momentum) * r_var[c] + momentum * batch_var[c];
      }
      check_close(h.params()[2], want_mean, stat_tol, stat_tol, "running_mean");
      check_close(h.params()[3], want_var, stat_tol, stat_tol, "running_var");
    }
  }
}

TEST_CASE("after several training steps the running statistics equal the closed-form momentum average") {
  // running_k = (1 - m)^k running_0 + sum_i m (1 - m)^(k - i) batch_i
  std::mt19937 rng(22);
  const double m = 0.2;
  const int steps = 6;
  for (const Shape& shape : {Shape{6, 4}, Shape{5, 16}, Shape{2, 16, 3, 2}}) {
    INFO("x " << keel::shape_str(shape));
    Harness h(op_maker("batchnorm"), attrs({{"momentum", m}}), {shape});
    const std::size_t c = channels(shape);
    set_affine(h, rng, c);
    set_running(h, rng, c);
    Doubles want_mean(c), want_var(c);
    for (std::size_t k = 0; k < c; ++k) {
      want_mean[k] = std::pow(1 - m, steps) * h.params()[2][k];
      want_var[k] = std::pow(1 - m, steps) * h.params()[3][k];
    }
    for (int i = 1; i <= steps; ++i) {
      const Floats x = channel_data(rng, shape);
      h.forward({x});
      const normref::ChannelStats st = normref::batch_stats(to_double(x), shape);
      const Doubles var = unbiased(st.var, shape);
      const double weight = m * std::pow(1 - m, steps - i);
      for (std::size_t k = 0; k < c; ++k) {
        want_mean[k] += weight * st.mean[k];
        want_var[k] += weight * var[k];
      }
    }
    // Six rounded updates instead of one: the error grows by at most 6x.
    check_close(h.params()[2], want_mean, 6 * stat_tol, 6 * stat_tol, "running_mean");
    check_close(h.params()[3], want_var, 6 * stat_tol, 6 * stat_tol, "running_var");
  }
}

TEST_CASE("momentum 0 keeps the running statistics and momentum 1 replaces them with the batch's") {
  std::mt19937 rng(23);
  const Shape shape{8, 16};
  const Floats x = channel_data(rng, shape);
  const normref::ChannelStats st = normref::batch_stats(to_double(x), shape);
  for (double m : {0.0, 1.0}) {
    INFO("momentum " << m);
    Harness h(op_maker("batchnorm"), attrs({{"momentum", m}}), {shape});
    set_running(h, rng, 16);
    const std::vector<Floats> before = h.params();
    h.forward({x});
    if (m == 0.0) {
      CHECK(h.params() == before);
    } else {
      check_close(h.params()[2], st.mean, stat_tol, stat_tol, "running_mean");
      check_close(h.params()[3], unbiased(st.var, shape), stat_tol, stat_tol, "running_var");
    }
  }
}
