#include <catch2/catch.hpp>

#include "common/keel_conv.hpp"
#include "conv_reference.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using convref::ConvSpec;

namespace {

ConvSpec spec(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t f, std::int64_t kh,
              std::int64_t kw) {
  ConvSpec s;
  s.n = n, s.c = c, s.h = h, s.w = w, s.f = f, s.kh = kh, s.kw = kw;
  return s;
}

ConvSpec with(ConvSpec s, std::int64_t sh, std::int64_t sw, std::int64_t ph, std::int64_t pw, std::int64_t dh,
              std::int64_t dw, bool bias) {
  s.sh = sh, s.sw = sw, s.ph = ph, s.pw = pw, s.dh = dh, s.dw = dw, s.bias = bias;
  return s;
}

// Plain, strided, padded, dilated, rectangular, 1x1, bias-free, and a kernel
// as large as the padded input.
const std::vector<ConvSpec> cases = {
    spec(2, 3, 5, 6, 4, 3, 3),
    with(spec(1, 2, 7, 7, 3, 3, 2), 2, 1, 1, 0, 1, 1, true),
    with(spec(2, 2, 8, 7, 2, 3, 3), 1, 1, 2, 2, 2, 2, false),
    spec(1, 4, 5, 5, 8, 1, 1),
    with(spec(3, 1, 4, 4, 2, 4, 4), 3, 3, 1, 1, 1, 1, true),
    with(spec(1, 3, 6, 5, 2, 2, 3), 2, 2, 1, 1, 2, 1, false),
    with(spec(1, 2, 3, 3, 1, 5, 5), 1, 1, 1, 1, 1, 1, true),
};

std::string describe(const ConvSpec& s) {
  std::ostringstream os;
  os << "x " << keel::shape_str(s.x_shape()) << " filters " << s.f << " kernel " << s.kh << "x" << s.kw
     << " stride " << s.sh << "x" << s.sw << " padding " << s.ph << "x" << s.pw << " dilation " << s.dh << "x"
     << s.dw << (s.bias ? " bias" : " no bias");
  return os.str();
}

// Inputs of the reference: {x, weight, bias}.
Reference reference(const ConvSpec& s) {
  return [s](const std::vector<Doubles>& in) { return convref::conv2d(s, in[0], in[1], in[2]); };
}

// Each output sums at most C*kh*kw = 25 products of values in [-1, 1] in
// f32, in whatever order the kernel picks: its rounding stays below 1e-5.
constexpr double forward_tol = 1e-5;
// A weight gradient sums up to N*Ho*Wo = 90 such products.
constexpr double grad_tol = 3e-5;

struct Data {
  Floats x, w, b, gy;
};

Data draw(std::mt19937& rng, const ConvSpec& s) {
  return {random_floats(rng, count(s.x_shape())), random_floats(rng, count(s.w_shape())),
          random_floats(rng, std::size_t(s.f)), random_floats(rng, count(s.y_shape()))};
}

}  // namespace

TEST_CASE("conv2d infers the output size from stride, padding and dilation, and keeps a named batch") {
  ConvSpec s = with(spec(1, 3, 9, 8, 5, 3, 2), 2, 3, 1, 2, 2, 1, true);
  auto op = op_maker("conv2d")(s.attrs());
  const std::vector<keel::TensorSpec> in = {{keel::DType::f32, {keel::symbolic_dim(0), 3, 9, 8}}};
  keel::InferContext ctx{in, {}, {}};
  REQUIRE(op->infer(ctx).ok());
  // Ho = floor((9 + 2 - 2*2 - 1) / 2) + 1 = 4; Wo = floor((8 + 4 - 1 - 1) / 3) + 1 = 4.
  CHECK(ctx.outputs[0].shape == keel::Shape{keel::symbolic_dim(0), 5, 4, 4});
  CHECK(ctx.param_shapes == std::vector<keel::Shape>{{5, 3, 3, 2}, {5}});
}

TEST_CASE("conv2d accepts a single kernel size as a square kernel") {
  keel::Attrs a({{"filters", std::int64_t(2)},
                 {"kernel", std::vector<std::int64_t>{3}},
                 {"stride", std::vector<std::int64_t>{1}},
                 {"padding", std::vector<std::int64_t>{1, 0}},
                 {"dilation", std::vector<std::int64_t>{1, 1}},
                 {"bias", true}});
  Harness h(op_maker("conv2d"), a, {{1, 1, 4, 5}});
  CHECK(h.output_shape() == keel::Shape{1, 2, 4, 3});
  CHECK(h.param_shape(0) == keel::Shape{2, 1, 3, 3});
}

TEST_CASE("conv2d rejects bad shapes and attributes with a clear message") {
  auto infer_error = [](const keel::Attrs& a, keel::TensorSpec x) {
    auto op = op_maker("conv2d")(a);
    const std::vector<keel::TensorSpec> in = {x};
    keel::InferContext ctx{in, {}, {}};
    const keel::Status st = op->infer(ctx);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  const keel::Attrs good = spec(1, 1, 1, 1, 2, 3, 3).attrs();
  using keel::DType;
  CHECK_THAT(infer_error(good, {DType::f32, {1, 3, 8}}), Catch::Contains("must be [N, C, H, W]"));
  CHECK_THAT(infer_error(good, {DType::f32, {1, keel::symbolic_dim(1), 8, 8}}),
             Catch::Contains("only the batch may be named"));
  CHECK_THAT(infer_error(good, {DType::f64, {1, 3, 8, 8}}), Catch::Contains("only f32"));
  CHECK_THAT(infer_error(good, {DType::f32, {1, 3, 2, 8}}), Catch::Contains("does not fit"));
  CHECK_THAT(infer_error(good, {DType::f32, {1, 0, 8, 8}}), Catch::Contains("at least 1"));
  keel::Attrs three({{"filters", std::int64_t(2)},
                     {"kernel", std::vector<std::int64_t>{3, 3, 3}},
                     {"stride", std::vector<std::int64_t>{1, 1}},
                     {"padding", std::vector<std::int64_t>{0, 0}},
                     {"dilation", std::vector<std::int64_t>{1, 1}},
                     {"bias", true}});
  CHECK_THAT(infer_error(three, {DType::f32, {1, 3, 8, 8}}),
             Catch::Contains("kernel must have 1 or 2 values"));
  ConvSpec zero_stride = spec(1, 1, 1, 1, 2, 3, 3);
  zero_stride.sh = 0;
  CHECK_THAT(infer_error(zero_stride.attrs(), {DType::f32, {1, 3, 8, 8}}), Catch::Contains("stride values"));
}

TEST_CASE("conv2d forward matches a naive convolution, training and inference") {
  std::mt19937 rng(11);
  for (const ConvSpec& s : cases)
    for (bool training : {true, false}) {
      INFO(describe(s) << (training ? " training" : " inference"));
      Harness h(op_maker("conv2d"), s.attrs(), std::vector<Shape>{s.x_shape()}, training);
      REQUIRE(h.output_shape() == s.y_shape());
      const Data d = draw(rng, s);
      h.params() = {d.w, d.b};
      const Floats y = h.forward({d.x})[0];
      check_close(y, convref::conv2d(s, to_double(d.x), to_double(d.w), to_double(d.b)), forward_tol,
                  forward_tol, "y");
    }
}

TEST_CASE("conv2d gradients of x, weight and bias match finite differences") {
  std::mt19937 rng(12);
  for (const ConvSpec& s : cases) {
    INFO(describe(s));
    Harness h(op_maker("conv2d"), s.attrs(), {s.x_shape()});
    const Data d = draw(rng, s);
    h.params() = {d.w, d.b};
    const Floats y = h.forward({d.x})[0];
    const auto grads = h.backward({d.x}, {y}, {d.gy});
    const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
    const Doubles gy = to_double(d.gy);
    check_close(grads[0], numeric_grad(reference(s), in, 0, gy), grad_tol, grad_tol, "grad_x");
    check_close(h.param_grads()[0], numeric_grad(reference(s), in, 1, gy), grad_tol, grad_tol, "grad_weight");
    // Without a bias term the reference ignores b, so its gradient is zero.
    check_close(h.param_grads()[1], numeric_grad(reference(s), in, 2, gy), grad_tol, grad_tol, "grad_bias");
  }
}

TEST_CASE("conv2d without bias ignores the bias parameter's values") {
  std::mt19937 rng(13);
  const ConvSpec s = cases[2];
  REQUIRE_FALSE(s.bias);
  Harness h(op_maker("conv2d"), s.attrs(), {s.x_shape()});
  const Data d = draw(rng, s);
  h.params() = {d.w, Floats(std::size_t(s.f), 100.0f)};
  check_close(h.forward({d.x})[0], convref::conv2d(s, to_double(d.x), to_double(d.w), {}), forward_tol,
              forward_tol, "y");
}

TEST_CASE("conv2d backward skips grad_x nobody needs and still computes the parameter gradients") {
  std::mt19937 rng(14);
  const ConvSpec s = cases[1];
  Harness h(op_maker("conv2d"), s.attrs(), {s.x_shape()});
  const Data d = draw(rng, s);
  h.params() = {d.w, d.b};
  const Floats y = h.forward({d.x})[0];
  const auto grads = h.backward({d.x}, {y}, {d.gy}, {false});
  CHECK(grads[0].empty());
  const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
  check_close(h.param_grads()[0], numeric_grad(reference(s), in, 1, to_double(d.gy)), grad_tol, grad_tol,
              "grad_weight");
}

TEST_CASE("conv2d prepared once stays correct for new data and weights on every step") {
  std::mt19937 rng(15);
  const ConvSpec s = cases[5];
  Harness h(op_maker("conv2d"), s.attrs(), {s.x_shape()});
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    const Data d = draw(rng, s);
    h.params() = {d.w, d.b};
    const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
    const Floats y = h.forward({d.x})[0];
    check_close(y, reference(s)(in), forward_tol, forward_tol, "y");
    const auto grads = h.backward({d.x}, {y}, {d.gy});
    check_close(grads[0], numeric_grad(reference(s), in, 0, to_double(d.gy)), grad_tol, grad_tol, "grad_x");
    check_close(h.param_grads()[0], numeric_grad(reference(s), in, 1, to_double(d.gy)), grad_tol, grad_tol,
                "grad_weight");
  }
}

TEST_CASE("conv2d on an empty batch writes nothing and zero parameter gradients") {
  ConvSpec s = spec(0, 2, 4, 4, 3, 3, 3);
  Harness h(op_maker("conv2d"), s.attrs(), {s.x_shape()});
  CHECK(h.output_shape() == keel::Shape{0, 3, 2, 2});
  const Floats y = h.forward({{}})[0];
  CHECK(y.empty());
  h.backward({{}}, {y}, {{}});
  for (const Floats& g : h.param_grads())
    for (float v : g) CHECK(v == 0.0f);
}

TEST_CASE("the shared convolution runs optimized oneDNN kernels, never reference ones") {
  // Shapes of a small image network: first layer, 3x3 body, 1x1 bottleneck, strided.
  for (const ConvSpec& s :
       {spec(8, 3, 32, 32, 16, 3, 3), with(spec(4, 16, 16, 16, 16, 3, 3), 1, 1, 1, 1, 1, 1, true),
        spec(4, 64, 8, 8, 16, 1, 1), with(spec(4, 16, 16, 16, 32, 3, 3), 2, 2, 1, 1, 1, 1, true)}) {
    keel::dnnl_util::Conv2dGeometry g;
    g.n = s.n, g.c_in = s.c, g.h = s.h, g.w = s.w, g.c_out = s.f, g.kh = s.kh, g.kw = s.kw;
    g.stride_h = s.sh, g.stride_w = s.sw, g.pad_h = s.ph, g.pad_w = s.pw;
    keel::dnnl_util::Conv2d conv;
    conv.prepare(g, true);
    REQUIRE(conv.implementations().size() == 3);
    for (const std::string& impl : conv.implementations()) {
      INFO(describe(s) << ": " << impl);
      CHECK(impl.find("ref") == std::string::npos);
    }
  }
}

TEST_CASE(
    "conv2d takes per-side padding [top, left, bottom, right] and names it when the kernel does not fit") {
  auto attrs = [](std::vector<std::int64_t> padding, std::int64_t k) {
    return keel::Attrs({{"filters", std::int64_t(2)},
                        {"kernel", std::vector<std::int64_t>{k}},
                        {"stride", std::vector<std::int64_t>{1}},
                        {"padding", std::move(padding)},
                        {"dilation", std::vector<std::int64_t>{1}},
                        {"bias", true}});
  };
  // Ho = 5 + 0 + 2 - 3 + 1 = 5; Wo = 6 + 1 + 0 - 3 + 1 = 5.
  Harness h(op_maker("conv2d"), attrs({0, 1, 2, 0}, 3), {{1, 1, 5, 6}});
  CHECK(h.output_shape() == keel::Shape{1, 2, 5, 5});
  const std::vector<keel::TensorSpec> small = {{keel::DType::f32, {1, 1, 2, 2}}};
  auto error = [&](const keel::Attrs& a) {
    auto op = op_maker("conv2d")(a);
    keel::InferContext ctx{small, {}, {}};
    const keel::Status st = op->infer(ctx);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  CHECK(error(attrs({0, 0, 1, 0}, 4)) ==
        "conv2d: a 4x4 kernel with dilation 1x1 does not fit the 2x2 input padded by [0, 0, 1, 0]");
  CHECK(error(attrs({1, 1, 1}, 1)) ==
        "conv2d: padding must have 1, 2 (height, width) or 4 (top, left, bottom, right) values, got 3");
}
