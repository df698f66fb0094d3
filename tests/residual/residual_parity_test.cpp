// residual and residual_block against PyTorch (fixtures written by
// tests/parity/op_maker("residual").py).
#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

Doubles fixture(const std::filesystem::path& dir, const std::string& name) {
  return to_double(parity::load(dir, name));
}

// A parameter the case does not use has no file and no elements.
Floats param_or_empty(const std::filesystem::path& dir, const std::string& name) {
  return parity::has(dir, name) ? parity::load(dir, name) : Floats{};
}

// Inputs are standard normal, weights in [-0.5, 0.5]. The residual sums at
// most 8 products (grad_gain sums 96), the block's convolutions up to 45 and
// its weight gradients up to ~150 terms of size ~1; PyTorch and oneDNN
// round those f32 sums in different orders, a few 1e-6 relative to their
// magnitude. 1e-4 leaves margin and still catches any wrong term (~0.1).
constexpr double tol = 1e-4;

}  // namespace

TEST_CASE("residual matches PyTorch for identity, linear and 1x1-convolution skips, with and without gain") {
  for (const char* name :
       {"identity", "identity_learned_gain", "linear_projection", "linear_projection_learned_gain",
        "conv_projection", "conv_projection_learned_gain"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("residual", name);
    const bool learned = parity::load(dir, "attr_gain")[0] != 0.0f;
    const keel::Attrs attrs({{"projection", std::string("auto")},
                             {"gain", std::string(learned ? "learned" : "none")},
                             {"gain_init", double(parity::load(dir, "attr_gain_init")[0])}});
    Harness h(op_maker("residual"), attrs, {parity::shape(dir, "branch"), parity::shape(dir, "skip")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    h.params() = {param_or_empty(dir, "param_proj_weight"), param_or_empty(dir, "param_gain")};
    REQUIRE(h.params()[0].size() == count(h.param_shape(0)));
    REQUIRE(h.params()[1].size() == count(h.param_shape(1)));
    const Floats branch = parity::load(dir, "branch"), skip = parity::load(dir, "skip");
    const Floats y = h.forward({branch, skip})[0];
    check_close(y, fixture(dir, "y"), tol, tol, "y");
    const auto grads = h.backward({branch, skip}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], fixture(dir, "grad_branch"), tol, tol, "grad_branch");
    check_close(grads[1], fixture(dir, "grad_skip"), tol, tol, "grad_skip");
    if (parity::has(dir, "grad_param_proj_weight"))
      check_close(h.param_grads()[0], fixture(dir, "grad_param_proj_weight"), tol, tol, "grad_proj_weight");
    if (learned) check_close(h.param_grads()[1], fixture(dir, "grad_param_gain"), tol, tol, "grad_gain");
  }
}

TEST_CASE("residual_block matches PyTorch's Conv2d -> ReLU -> Conv2d plus skip") {
  for (const char* name : {"block", "block_same_width"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("residual", name);
    const keel::Attrs attrs({{"width", std::int64_t(parity::load(dir, "attr_width")[0])}});
    Harness h(op_maker("residual_block"), attrs, {parity::shape(dir, "x")});
    const char* params[] = {"conv1_weight", "conv1_bias", "conv2_weight", "conv2_bias"};
    for (std::size_t p = 0; p < 4; ++p) {
      REQUIRE(h.param_shape(p) == parity::shape(dir, std::string("param_") + params[p]));
      h.params()[p] = parity::load(dir, std::string("param_") + params[p]);
    }
    const Floats x = parity::load(dir, "x");
    const Floats y = h.forward({x})[0];
    check_close(y, fixture(dir, "y"), tol, tol, "y");
    const auto grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], fixture(dir, "grad_x"), tol, tol, "grad_x");
    for (std::size_t p = 0; p < 4; ++p)
      check_close(h.param_grads()[p], fixture(dir, std::string("grad_param_") + params[p]), tol, tol,
                  std::string("grad_") + params[p]);
  }
}
