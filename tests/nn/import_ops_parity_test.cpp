// The ops ONNX models need (sub, div, log_softmax, transpose, max_pool2d,
// avg_pool2d, per-side padding of conv2d and conv_transpose2d) against
// PyTorch: fixtures written by tests/parity/make_nn_import.py, forward and
// every gradient.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

std::filesystem::path case_dir(const std::string& name) { return parity::case_dir("nn_import", name); }

std::vector<std::int64_t> ints(const std::filesystem::path& dir, const std::string& name) {
  const Floats v = parity::load(dir, name);
  return std::vector<std::int64_t>(v.begin(), v.end());
}

bool flag(const std::filesystem::path& dir, const std::string& name) { return ints(dir, name).at(0) != 0; }

struct Tolerance {
  double y, grad;
};

// Runs `op` on the case's inputs and parameters as PyTorch saw them and
// compares y, each input's gradient and each parameter's gradient.
void check_case(const char* op, const std::string& name, const keel::Attrs& attrs,
                const std::vector<std::string>& inputs, const std::vector<std::string>& params,
                Tolerance tol) {
  INFO("case " << name);
  const auto dir = case_dir(name);
  std::vector<Shape> shapes;
  std::vector<Floats> in;
  for (const std::string& port : inputs) {
    shapes.push_back(parity::shape(dir, port));
    in.push_back(parity::load(dir, port));
  }
  Harness h(op_maker(op), attrs, shapes);
  REQUIRE(h.output_shape() == parity::shape(dir, "y"));
  REQUIRE(h.param_count() == params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    REQUIRE(h.param_shape(i) == parity::shape(dir, "param_" + params[i]));
    h.params()[i] = parity::load(dir, "param_" + params[i]);
  }
  const Floats y = h.forward(in)[0];
  check_close(y, to_double(parity::load(dir, "y")), tol.y, tol.y, "y");
  const auto grads = h.backward(in, {y}, {parity::load(dir, "grad_y")});
  for (std::size_t i = 0; i < inputs.size(); ++i)
    check_close(grads[i], to_double(parity::load(dir, "grad_" + inputs[i])), tol.grad, tol.grad,
                "grad_" + inputs[i]);
  for (std::size_t i = 0; i < params.size(); ++i)
    check_close(h.param_grads()[i], to_double(parity::load(dir, "grad_param_" + params[i])), tol.grad,
                tol.grad, "grad_" + params[i]);
}

keel::Attrs pool_attrs(const std::filesystem::path& dir) {
  std::map<std::string, keel::AttrValue> a{{"kernel", ints(dir, "attr_kernel")},
                                           {"stride", ints(dir, "attr_stride")},
                                           {"padding", ints(dir, "attr_padding")},
                                           {"ceil_mode", flag(dir, "attr_ceil_mode")}};
  if (parity::has(dir, "attr_dilation")) a["dilation"] = ints(dir, "attr_dilation");
  if (parity::has(dir, "attr_count_include_pad"))
    a["count_include_pad"] = flag(dir, "attr_count_include_pad");
  return keel::Attrs(std::move(a));
}

keel::Attrs conv_attrs(const std::filesystem::path& dir) {
  std::map<std::string, keel::AttrValue> a{{"filters", ints(dir, "attr_filters")[0]},
                                           {"kernel", ints(dir, "attr_kernel")},
                                           {"stride", ints(dir, "attr_stride")},
                                           {"padding", ints(dir, "attr_padding")}};
  if (parity::has(dir, "attr_dilation")) a["dilation"] = ints(dir, "attr_dilation");
  if (parity::has(dir, "attr_output_padding")) a["output_padding"] = ints(dir, "attr_output_padding");
  return keel::Attrs(std::move(a));
}

// One correctly rounded operation per output; a gradient sums at most 24
// terms of one or two roundings each, of values up to ~10.
constexpr Tolerance binary_tol{1e-6, 1e-5};
// Log-probabilities down to about -30 through oneDNN's exp and log: a few
// ulps of 30 is ~1e-5.
constexpr Tolerance log_softmax_tol{2e-5, 2e-5};
// A transpose moves bytes and rounds nothing.
constexpr Tolerance exact{0.0, 0.0};
// A maximum is one of its inputs; its gradient sums at most a few grad_y
// values, a mean at most 9 values over a count, each rounded a few times.
constexpr Tolerance pool_tol{1e-6, 1e-6};
// As tests/nn/spatial_parity_test.cpp: sums of up to 27 products of size ~1
// rounded in different orders; a wrong tap moves results by ~0.1.
constexpr Tolerance conv_tol{1e-4, 1e-4};

}  // namespace

TEST_CASE("sub and div match PyTorch with broadcasting, forward and gradients") {
  for (const char* name : {"sub_b_broadcast", "sub_a_broadcast"})
    check_case("sub", name, {}, {"a", "b"}, {}, binary_tol);
  for (const char* name : {"div_both_broadcast", "div_a_broadcast"})
    check_case("div", name, {}, {"a", "b"}, {}, binary_tol);
}

TEST_CASE("log_softmax matches torch.log_softmax on every axis, extreme values included") {
  for (const char* name :
       {"log_softmax_rows", "log_softmax_middle", "log_softmax_first", "log_softmax_extreme"})
    check_case("log_softmax", name, keel::Attrs({{"axis", ints(case_dir(name), "attr_axis")[0]}}), {"x"}, {},
               log_softmax_tol);
}

TEST_CASE("transpose matches torch's permute for 2-D, 3-D and 4-D perms and the reversing default") {
  for (const char* name : {"transpose_3d", "transpose_nchw_to_nhwc", "transpose_4d_mixed",
                           "transpose_4d_default", "transpose_matrix_default"})
    check_case("transpose", name, keel::Attrs({{"perm", ints(case_dir(name), "attr_perm")}}), {"x"}, {},
               exact);
}

TEST_CASE("max_pool2d matches PyTorch: default stride, ceil mode, dilation, per-side padding") {
  for (const char* name : {"max_k2_default_stride", "max_k3_s2_p1_ceil", "max_dilated_overlapping",
                           "max_asymmetric_ceil", "max_asymmetric_dilated"})
    check_case("max_pool2d", name, pool_attrs(case_dir(name)), {"x"}, {}, pool_tol);
}

TEST_CASE(
    "avg_pool2d matches PyTorch: padding counted or not, ceil mode past the padding, per-side padding") {
  for (const char* name : {"avg_k2_default_stride", "avg_ceil_counts_padding", "avg_ceil_excludes_padding",
                           "avg_asymmetric_ceil_counts_padding", "avg_asymmetric_excludes_padding"})
    check_case("avg_pool2d", name, pool_attrs(case_dir(name)), {"x"}, {}, pool_tol);
}

TEST_CASE("pooling prepared for inference gives PyTorch's forward") {
  for (const char* name :
       {"max_asymmetric_ceil", "avg_ceil_counts_padding", "avg_asymmetric_ceil_counts_padding"}) {
    INFO("case " << name);
    const auto dir = case_dir(name);
    const char* op = name[0] == 'm' ? "max_pool2d" : "avg_pool2d";
    Harness h(op_maker(op), pool_attrs(dir), std::vector<Shape>{parity::shape(dir, "x")}, /*training=*/false);
    check_close(h.forward({parity::load(dir, "x")})[0], to_double(parity::load(dir, "y")), pool_tol.y,
                pool_tol.y, "y");
  }
}

TEST_CASE("conv2d and conv_transpose2d take ONNX's per-side padding as PyTorch after F.pad or a crop") {
  for (const char* name : {"conv2d_asymmetric_padding", "conv2d_asymmetric_rect"})
    check_case("conv2d", name, conv_attrs(case_dir(name)), {"x"}, {"weight", "bias"}, conv_tol);
  for (const char* name : {"conv_transpose2d_asymmetric_padding", "conv_transpose2d_asymmetric_rect"})
    check_case("conv_transpose2d", name, conv_attrs(case_dir(name)), {"x"}, {"weight", "bias"}, conv_tol);
}
