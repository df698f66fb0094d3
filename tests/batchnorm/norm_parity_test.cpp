// batchnorm and layernorm against PyTorch: fixtures written by
// tests/parity/op_maker("batchnorm").py (torch.nn.BatchNorm1d/2d over two training
// steps or in eval mode, torch.nn.LayerNorm).
#include <catch2/catch.hpp>

#include "norm_test_util.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using normtest::attrs;

namespace {

// Both sides compute in f32 with different summation orders. Measured
// differences: at most 1e-6 on outputs of magnitude up to ~10, 1.7e-6 on
// gradients (grad_gamma sums 96 products), 2.4e-7 on running statistics,
// i.e. a few ulps of the largest value. The tolerances below (applied as
// abs + rel * |want|) leave 5-10x room for other CPUs' kernels, whose
// summation order differs again.
constexpr double y_tol = 2e-6;
constexpr double grad_tol = 5e-6;
constexpr double stat_tol = 1e-6;

double scalar(const std::filesystem::path& dir, const char* name) { return parity::load(dir, name).at(0); }

Doubles fixture(const std::filesystem::path& dir, const char* name) {
  return to_double(parity::load(dir, name));
}

}  // namespace

TEST_CASE(
    "batchnorm matches torch BatchNorm1d/2d over two training steps: outputs, gradients, running stats") {
  for (const char* name : {"bn1d_train_c6", "bn1d_train_c32", "bn2d_train_c5", "bn2d_train_c16"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("batchnorm", name);
    const Shape shape = parity::shape(dir, "x");
    Harness h(op_maker("batchnorm"),
              attrs({{"momentum", scalar(dir, "momentum")}, {"epsilon", scalar(dir, "epsilon")}}), {shape});
    h.params() = {parity::load(dir, "param_gamma"), parity::load(dir, "param_beta"),
                  parity::load(dir, "param_running_mean"), parity::load(dir, "param_running_var")};
    const Floats x = parity::load(dir, "x");
    const Floats y = h.forward({x})[0];
    check_close(y, fixture(dir, "y"), y_tol, y_tol, "y");
    check_close(h.params()[2], fixture(dir, "running_mean_1"), stat_tol, stat_tol,
                "running_mean after 1 step");
    check_close(h.params()[3], fixture(dir, "running_var_1"), stat_tol, stat_tol, "running_var after 1 step");
    const std::vector<Floats> grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], fixture(dir, "grad_x"), grad_tol, grad_tol, "grad_x");
    check_close(h.param_grads()[0], fixture(dir, "grad_param_gamma"), grad_tol, grad_tol, "grad_gamma");
    check_close(h.param_grads()[1], fixture(dir, "grad_param_beta"), grad_tol, grad_tol, "grad_beta");
    check_close(h.forward({parity::load(dir, "x2")})[0], fixture(dir, "y2"), y_tol, y_tol, "y of step 2");
    check_close(h.params()[2], fixture(dir, "running_mean_2"), stat_tol, stat_tol,
                "running_mean after 2 steps");
    check_close(h.params()[3], fixture(dir, "running_var_2"), stat_tol, stat_tol,
                "running_var after 2 steps");
  }
}

TEST_CASE("batchnorm inference matches torch BatchNorm1d/2d in eval mode") {
  for (const char* name : {"bn1d_eval_c6", "bn1d_eval_c32", "bn2d_eval_c5"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("batchnorm", name);
    Harness h(op_maker("batchnorm"), attrs({{"epsilon", scalar(dir, "epsilon")}}), {parity::shape(dir, "x")},
              /*training=*/false);
    h.params() = {parity::load(dir, "param_gamma"), parity::load(dir, "param_beta"),
                  parity::load(dir, "param_running_mean"), parity::load(dir, "param_running_var")};
    check_close(h.forward({parity::load(dir, "x")})[0], fixture(dir, "y"), y_tol, y_tol, "y");
  }
}

TEST_CASE("layernorm matches torch LayerNorm with and without the affine parameters") {
  for (const char* name : {"ln_2d", "ln_3d_eps", "ln_no_affine"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("batchnorm", name);
    const bool affine = scalar(dir, "affine") != 0.0;
    const Shape shape = parity::shape(dir, "x");
    Harness h(op_maker("layernorm"),
              attrs({{"elementwise_affine", affine}, {"epsilon", scalar(dir, "epsilon")}}), {shape});
    if (affine) h.params() = {parity::load(dir, "param_gamma"), parity::load(dir, "param_beta")};
    const Floats x = parity::load(dir, "x");
    const Floats y = h.forward({x})[0];
    check_close(y, fixture(dir, "y"), y_tol, y_tol, "y");
    const std::vector<Floats> grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], fixture(dir, "grad_x"), grad_tol, grad_tol, "grad_x");
    if (affine) {
      check_close(h.param_grads()[0], fixture(dir, "grad_param_gamma"), grad_tol, grad_tol, "grad_gamma");
      check_close(h.param_grads()[1], fixture(dir, "grad_param_beta"), grad_tol, grad_tol, "grad_beta");
    }
  }
}
