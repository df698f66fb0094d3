// conv2d and global_avg_pool against PyTorch (fixtures written by
// tests/parity/make_spatial.py).
#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

Doubles doubles(const Floats& v) { return to_double(v); }

std::vector<std::int64_t> ints(const std::filesystem::path& dir, const std::string& name) {
  const Floats v = parity::load(dir, name);
  return std::vector<std::int64_t>(v.begin(), v.end());
}

keel::Attrs conv_attrs(const std::filesystem::path& dir) {
  return keel::Attrs({{"filters", ints(dir, "attr_filters")[0]},
                      {"kernel", ints(dir, "attr_kernel")},
                      {"stride", ints(dir, "attr_stride")},
                      {"padding", ints(dir, "attr_padding")},
                      {"dilation", ints(dir, "attr_dilation")},
                      {"bias", ints(dir, "attr_bias")[0] != 0}});
}

// Inputs are standard normal and weights in [-0.5, 0.5]: an output sums up
// to 27 products of size ~1 and a weight gradient up to ~130, so PyTorch
// and oneDNN, each rounding in its own order in f32, agree to ~1e-5
// relative to the sums' magnitude (a few units); 1e-4 absolute leaves
// margin without hiding a wrong tap (which moves results by ~0.1 or more).
constexpr double conv_tol = 1e-4;
// Means and their broadcast gradient: a handful of roundings.
constexpr double pool_tol = 1e-6;

}  // namespace

TEST_CASE("conv2d matches PyTorch's Conv2d forward and gradients") {
  for (const char* name :
       {"conv2d_3x3", "conv2d_strided_rect", "conv2d_dilated_no_bias", "conv2d_pointwise"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("spatial", name);
    const keel::Shape x_shape = parity::shape(dir, "x");
    Harness h(op_maker("conv2d"), conv_attrs(dir), {x_shape});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    REQUIRE(h.param_shape(0) == parity::shape(dir, "param_weight"));
    const Floats x = parity::load(dir, "x");
    h.params() = {parity::load(dir, "param_weight"), parity::load(dir, "param_bias")};
    const Floats y = h.forward({x})[0];
    check_close(y, doubles(parity::load(dir, "y")), conv_tol, conv_tol, "y");
    const auto grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], doubles(parity::load(dir, "grad_x")), conv_tol, conv_tol, "grad_x");
    check_close(h.param_grads()[0], doubles(parity::load(dir, "grad_param_weight")), conv_tol, conv_tol,
                "grad_weight");
    check_close(h.param_grads()[1], doubles(parity::load(dir, "grad_param_bias")), conv_tol, conv_tol,
                "grad_bias");
  }
}

TEST_CASE("global_avg_pool matches PyTorch's adaptive_avg_pool2d to one pixel") {
  for (const char* name : {"global_avg_pool", "global_avg_pool_single_pixel"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("spatial", name);
    Harness h(op_maker("global_avg_pool"), {}, {parity::shape(dir, "x")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    const Floats x = parity::load(dir, "x");
    const Floats y = h.forward({x})[0];
    check_close(y, doubles(parity::load(dir, "y")), pool_tol, pool_tol, "y");
    const auto grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], doubles(parity::load(dir, "grad_x")), pool_tol, pool_tol, "grad_x");
  }
}
