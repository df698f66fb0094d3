// The nn ops for generative models against PyTorch: fixtures written by
// tests/parity/make_generative_nn.py with
// torch.nn.functional.binary_cross_entropy_with_logits, torch.cat,
// torch.chunk(x, 2), x.detach() and torch.full_like.
#include <catch2/catch.hpp>
#include <cmath>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

keel::Attrs one_attr(const char* name, keel::AttrValue v) { return keel::Attrs({{name, std::move(v)}}); }

Doubles loaded(const std::filesystem::path& dir, const std::string& name) {
  return to_double(parity::load(dir, name));
}

std::int64_t axis_of(const std::filesystem::path& dir) {
  return static_cast<std::int64_t>(parity::load(dir, "attr_axis").at(0));
}

void check_all_finite(const Floats& v, const char* what) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO(what << " element " << i << " is " << v[i]);
    CHECK(std::isfinite(v[i]));
  }
}

}  // namespace

TEST_CASE("bce_with_logits matches PyTorch's binary_cross_entropy_with_logits, including logits of +-1e4") {
  for (const char* name : {"bce_mean", "bce_sum", "bce_extreme"}) {
    const auto dir = parity::case_dir("generative_nn", name);
    INFO(dir);
    const std::string reduction = std::string(name) == "bce_sum" ? "sum" : "mean";
    const keel::Shape shape = parity::shape(dir, "logits");
    Harness h(op_maker("bce_with_logits"), one_attr("reduction", keel::AttrValue{reduction}), {shape, shape});
    const Floats x = parity::load(dir, "logits"), t = parity::load(dir, "target");
    const Floats loss = h.forward({x, t})[0];
    check_all_finite(loss, "loss");
    // PyTorch sums at most 24 f32 terms (~24 * 2^-24 relative), the op in
    // double rounded once.
    check_close(loss, loaded(dir, "loss"), 5e-6, 0, "loss");
    const auto grads = h.backward({x, t}, {loss}, {parity::load(dir, "grad_loss")});
    check_all_finite(grads[0], "grad_logits");
    check_all_finite(grads[1], "grad_target");
    // Elementwise: a sigmoid and a product in f32 against double rounded
    // once, a few 2^-24 relative, plus an absolute floor for the sigmoid's
    // rounding near 0 and 1.
    check_close(grads[0], loaded(dir, "grad_logits"), 1e-5, 1e-7, "grad_logits");
    check_close(grads[1], loaded(dir, "grad_target"), 1e-6, 1e-7, "grad_target");
  }
}

TEST_CASE("concat matches torch.cat and splits the gradient as autograd does") {
  for (const char* name : {"concat_batch", "concat_features", "concat_negative_axis"}) {
    const auto dir = parity::case_dir("generative_nn", name);
    INFO(dir);
    Harness h(op_maker("concat"), one_attr("axis", keel::AttrValue{axis_of(dir)}),
              {parity::shape(dir, "a"), parity::shape(dir, "b")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    const Floats a = parity::load(dir, "a"), b = parity::load(dir, "b");
    const Floats y = h.forward({a, b})[0];
    // Copies: exact.
    check_close(y, loaded(dir, "y"), 0, 0, "y");
    const auto grads = h.backward({a, b}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], loaded(dir, "grad_a"), 0, 0, "grad_a");
    check_close(grads[1], loaded(dir, "grad_b"), 0, 0, "grad_b");
  }
}

TEST_CASE("split matches torch.chunk into two and joins the gradients as autograd does") {
  for (const char* name : {"split_batch", "split_middle", "split_negative_axis"}) {
    const auto dir = parity::case_dir("generative_nn", name);
    INFO(dir);
    Harness h(op_maker("split"), one_attr("axis", keel::AttrValue{axis_of(dir)}), {parity::shape(dir, "x")});
    REQUIRE(h.output_shape(0) == parity::shape(dir, "a"));
    REQUIRE(h.output_shape(1) == parity::shape(dir, "b"));
    const Floats x = parity::load(dir, "x");
    const auto out = h.forward({x});
    check_close(out[0], loaded(dir, "a"), 0, 0, "a");
    check_close(out[1], loaded(dir, "b"), 0, 0, "b");
    const auto gx = h.backward({x}, out, {parity::load(dir, "grad_a"), parity::load(dir, "grad_b")})[0];
    check_close(gx, loaded(dir, "grad_x"), 0, 0, "grad_x");
  }
}

TEST_CASE("stop_gradient gives the values of torch's detach()") {
  const auto dir = parity::case_dir("generative_nn", "stop_gradient");
  Harness h(op_maker("stop_gradient"), {}, {parity::shape(dir, "x")});
  check_close(h.forward({parity::load(dir, "x")})[0], loaded(dir, "y"), 0, 0, "y");
  // detach() leaves x without a gradient; the op declares the same.
  CHECK_FALSE(op_schema("stop_gradient").inputs[0].differentiable);
}

TEST_CASE("full_like matches torch.full_like for ones, zeros and another value") {
  for (const char* name : {"full_like_ones", "full_like_zeros", "full_like_value"}) {
    const auto dir = parity::case_dir("generative_nn", name);
    INFO(dir);
    const double value = parity::load(dir, "attr_value").at(0);
    Harness h(op_maker("full_like"), one_attr("value", keel::AttrValue{value}), {parity::shape(dir, "x")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    check_close(h.forward({parity::load(dir, "x")})[0], loaded(dir, "y"), 0, 0, "y");
  }
}
