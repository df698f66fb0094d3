// conv_transpose2d against PyTorch's ConvTranspose2d (fixtures written by
// tests/parity/make_generative_spatial.py), against a naive scatter loop with
// finite-difference gradients, on the inputs it must refuse, and for its initial weights.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "deconv2d.hpp"
#include "op_harness.hpp"
#include "parity.hpp"
#include "planner/init.hpp"
#include "plugin_ops.hpp"
#include "raw_op.hpp"

using namespace optest;

namespace {

using V = std::vector<std::int64_t>;

struct Geometry {
  std::int64_t n = 1, c = 1, h = 1, w = 1, f = 1, kh = 1, kw = 1;
  std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, oph = 0, opw = 0;
  bool bias = true;

  std::int64_t ho() const { return (h - 1) * sh - 2 * ph + kh + oph; }
  std::int64_t wo() const { return (w - 1) * sw - 2 * pw + kw + opw; }
  Shape x_shape() const { return {n, c, h, w}; }
  Shape w_shape() const { return {c, f, kh, kw}; }
  Shape y_shape() const { return {n, f, ho(), wo()}; }
  keel::Attrs attrs() const {
    return keel::Attrs({{"filters", f},
                        {"kernel", V{kh, kw}},
                        {"stride", V{sh, sw}},
                        {"padding", V{ph, pw}},
                        {"output_padding", V{oph, opw}},
                        {"bias", bias}});
  }
};

std::string describe(const Geometry& g) {
  std::ostringstream os;
  os << "x " << keel::shape_str(g.x_shape()) << " filters " << g.f << " kernel " << g.kh << "x" << g.kw
     << " stride " << g.sh << "x" << g.sw << " padding " << g.ph << "x" << g.pw << " output_padding " << g.oph
     << "x" << g.opw << (g.bias ? " bias" : " no bias");
  return os.str();
}

// The definition as a scatter: input pixel (i, j) adds w[c, f, a, e] * x to
// output pixel (i*sh - ph + a, j*sw - pw + e) when that lies in the output.
// Inputs {x, weight, bias}; bias ignored when g.bias is false.
Doubles conv_transpose(const Geometry& g, const std::vector<Doubles>& in) {
  const Doubles &x = in[0], &wt = in[1], &b = in[2];
  const std::int64_t ho = g.ho(), wo = g.wo();
  Doubles y(std::size_t(g.n * g.f * ho * wo), 0.0);
  for (std::int64_t n = 0; n < g.n; ++n)
    for (std::int64_t f = 0; f < g.f; ++f) {
      for (std::int64_t k = 0; k < ho * wo; ++k)
        y[std::size_t((n * g.f + f) * ho * wo + k)] = g.bias ? b[std::size_t(f)] : 0.0;
      for (std::int64_t c = 0; c < g.c; ++c)
        for (std::int64_t i = 0; i < g.h; ++i)
          for (std::int64_t j = 0; j < g.w; ++j)
            for (std::int64_t a = 0; a < g.kh; ++a)
              for (std::int64_t e = 0; e < g.kw; ++e) {
                const std::int64_t r = i * g.sh - g.ph + a, q = j * g.sw - g.pw + e;
                if (r < 0 || r >= ho || q < 0 || q >= wo) continue;
                y[std::size_t(((n * g.f + f) * ho + r) * wo + q)] +=
                    wt[std::size_t(((c * g.f + f) * g.kh + a) * g.kw + e)] *
                    x[std::size_t(((n * g.c + c) * g.h + i) * g.w + j)];
              }
    }
  return y;
}

Geometry geo(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t f, std::int64_t kh,
             std::int64_t kw) {
  Geometry g;
  g.n = n, g.c = c, g.h = h, g.w = w, g.f = f, g.kh = kh, g.kw = kw;
  return g;
}

Geometry with(Geometry g, std::int64_t sh, std::int64_t sw, std::int64_t ph, std::int64_t pw,
              std::int64_t oph, std::int64_t opw, bool bias) {
  g.sh = sh, g.sw = sw, g.ph = ph, g.pw = pw, g.oph = oph, g.opw = opw, g.bias = bias;
  return g;
}

// Stride 1, the DCGAN doubling block, rectangular with output padding past
// the padding, a heavy crop, a 1x1 code grown to 4x4, and 1x1 kernels.
const std::vector<Geometry> cases = {
    geo(2, 3, 4, 5, 2, 3, 3),
    with(geo(2, 3, 3, 3, 2, 4, 4), 2, 2, 1, 1, 0, 0, true),
    with(geo(1, 2, 3, 2, 3, 3, 2), 2, 3, 0, 1, 1, 2, false),
    with(geo(2, 2, 4, 3, 2, 3, 3), 3, 2, 3, 2, 2, 1, true),
    geo(3, 4, 1, 1, 3, 4, 4),
    with(geo(1, 3, 3, 4, 2, 1, 1), 2, 2, 0, 0, 1, 1, true),
};

// Finite differences of the double reference are exact up to rounding (the
// op is bilinear); the op sums at most C*kh*kw = 48 products of values in
// [-1, 1] per output and up to N*Ho*Wo ~ 150 per weight gradient in f32.
constexpr double forward_tol = 1e-5;
constexpr double grad_tol = 3e-5;

// PyTorch fixtures: inputs standard normal, weights in [-0.5, 0.5]; an
// output sums up to C*kh*kw = 48 products of size ~1 and a weight gradient
// up to N*H*W ~ 60 products of size ~1 with standard normal grad_y, so the
// two libraries, each rounding in f32 in its own order, differ by ~1e-5
// relative to sums of size ~10. 1e-4 leaves margin without hiding a
// misplaced tap, which moves values by ~0.1 or more.
constexpr double parity_tol = 1e-4;

keel::Attrs fixture_attrs(const std::filesystem::path& dir) {
  auto ints = [&](const char* name) {
    const Floats v = parity::load(dir, name);
    return V(v.begin(), v.end());
  };
  return keel::Attrs({{"filters", ints("attr_filters")[0]},
                      {"kernel", ints("attr_kernel")},
                      {"stride", ints("attr_stride")},
                      {"padding", ints("attr_padding")},
                      {"output_padding", ints("attr_output_padding")},
                      {"bias", ints("attr_bias")[0] != 0}});
}

std::string infer_error(const keel::Attrs& a, keel::TensorSpec x) {
  auto op = op_maker("conv_transpose2d")(a);
  const std::vector<keel::TensorSpec> in = {x};
  keel::InferContext ctx{in, {}, {}};
  const keel::Status st = op->infer(ctx);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().rfind("conv_transpose2d: ", 0) == 0);
  CHECK(st.message().find('\n') == std::string::npos);
  return st.message();
}

struct Data {
  Floats x, w, b, gy;
};

Data draw(std::mt19937& rng, const Geometry& g) {
  return {random_floats(rng, count(g.x_shape())), random_floats(rng, count(g.w_shape())),
          random_floats(rng, std::size_t(g.f)), random_floats(rng, count(g.y_shape()))};
}

}  // namespace

TEST_CASE("conv_transpose2d matches PyTorch's ConvTranspose2d forward and gradients") {
  for (const char* name : {"project_1x1_to_4x4", "double_k4_s2_p1", "stride1_3x3",
                           "rect_output_padding_no_bias", "crop_k3_s2_p2_op1"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("generative_spatial", name);
    Harness h(op_maker("conv_transpose2d"), fixture_attrs(dir), {parity::shape(dir, "x")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    REQUIRE(h.param_shape(0) == parity::shape(dir, "param_weight"));
    const Floats x = parity::load(dir, "x");
    h.params() = {parity::load(dir, "param_weight"), parity::load(dir, "param_bias")};
    const Floats y = h.forward({x})[0];
    check_close(y, to_double(parity::load(dir, "y")), parity_tol, parity_tol, "y");
    const auto grads = h.backward({x}, {y}, {parity::load(dir, "grad_y")});
    check_close(grads[0], to_double(parity::load(dir, "grad_x")), parity_tol, parity_tol, "grad_x");
    check_close(h.param_grads()[0], to_double(parity::load(dir, "grad_param_weight")), parity_tol, parity_tol,
                "grad_weight");
    check_close(h.param_grads()[1], to_double(parity::load(dir, "grad_param_bias")), parity_tol, parity_tol,
                "grad_bias");
  }
}

TEST_CASE("conv_transpose2d infers PyTorch's output size and weight layout, and keeps a named batch") {
  const Geometry g = with(geo(1, 3, 5, 4, 7, 3, 2), 2, 3, 1, 0, 1, 2, true);
  auto op = op_maker("conv_transpose2d")(g.attrs());
  const std::vector<keel::TensorSpec> in = {{keel::DType::f32, {keel::symbolic_dim(0), 3, 5, 4}}};
  keel::InferContext ctx{in, {}, {}};
  REQUIRE(op->infer(ctx).ok());
  // Ho = (5-1)*2 - 2*1 + 3 + 1 = 10; Wo = (4-1)*3 - 0 + 2 + 2 = 13.
  CHECK(ctx.outputs[0].shape == keel::Shape{keel::symbolic_dim(0), 7, 10, 13});
  CHECK(ctx.param_shapes == std::vector<keel::Shape>{{3, 7, 3, 2}, {7}});
}

TEST_CASE("conv_transpose2d doubles an 8x8 generator image with kernel 4, stride 2 and padding 1") {
  keel::Attrs a({{"filters", std::int64_t(1)},
                 {"kernel", V{4}},
                 {"stride", V{2}},
                 {"padding", V{1}},
                 {"output_padding", V{0}},
                 {"bias", true}});
  Harness h(op_maker("conv_transpose2d"), a, {{4, 16, 4, 4}});
  CHECK(h.output_shape() == keel::Shape{4, 1, 8, 8});
  CHECK(h.param_shape(0) == keel::Shape{16, 1, 4, 4});
}

TEST_CASE("conv_transpose2d declares PyTorch's weight layout, he_uniform over its fan and a zero bias") {
  const keel::OpSchema& s = op_schema("conv_transpose2d");
  REQUIRE(s.params.size() == 2);
  CHECK(s.params[0].name == "weight");
  CHECK(s.params[0].init == keel::Init::HeUniform);
  // The planner's fan_in for [d0, d1, k...] is d1*prod(k): filters*kh*kw
  // for [C, filters, kh, kw], what PyTorch computes for ConvTranspose2d.
  CHECK_THAT(s.params[0].doc, Catch::Contains("fan_in = filters*kh*kw"));
  CHECK(s.params[1].init == keel::Init::Zeros);
  CHECK(s.has_backward);
}

TEST_CASE("conv_transpose2d's weight starts uniform within sqrt(6 / (filters*kh*kw)), PyTorch's fan") {
  // 64 inputs, 8 filters, 4x4 kernel: fan_in is 8*16 = 128 (bound 0.217);
  // the other fan, 64*16, would give a bound of 0.077.
  const Geometry g = with(geo(1, 64, 2, 2, 8, 4, 4), 2, 2, 1, 1, 0, 0, true);
  const Inference r = infer_only(op_maker("conv_transpose2d"), g.attrs(), f32_specs({g.x_shape()}));
  REQUIRE(r.status.ok());
  keel::Tensor w(keel::DType::f32, r.param_shapes[0]);
  keel::initialize(w, op_schema("conv_transpose2d").params[0].init, 7, "up.weight");
  const double bound = std::sqrt(6.0 / (8 * 4 * 4));
  double lo = 0, hi = 0, sq = 0;
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    const double v = w.as<float>()[i];
    lo = std::min(lo, v), hi = std::max(hi, v), sq += v * v;
  }
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  // 8192 uniform draws reach within 1% of each end; their mean square is
  // bound^2 / 3 to within ~2%.
  CHECK(lo < -0.99 * bound);
  CHECK(hi > 0.99 * bound);
  CHECK(sq / double(w.numel()) == Approx(bound * bound / 3).epsilon(0.05));
}

TEST_CASE("conv_transpose2d rejects bad inputs and attributes with one line naming the op") {
  using keel::DType;
  const keel::Attrs good = geo(1, 1, 1, 1, 2, 3, 3).attrs();
  CHECK_THAT(infer_error(good, {DType::f32, {1, 3, 8}}),
             Catch::Contains("x must be [N, C, H, W], got [1, 3, 8]"));
  CHECK_THAT(infer_error(good, {DType::f32, {1, 3, 8, 8, 1}}), Catch::Contains("must be [N, C, H, W]"));
  CHECK_THAT(infer_error(good, {DType::f64, {1, 3, 8, 8}}), Catch::Contains("only f32"));
  CHECK_THAT(infer_error(good, {DType::f32, {1, keel::symbolic_dim(1), 8, 8}}),
             Catch::Contains("only the batch may be named"));
  CHECK_THAT(infer_error(good, {DType::f32, {1, 0, 8, 8}}), Catch::Contains("at least 1"));
  // Padding 2 crops 4 rows from the 3 a 1x1 input makes with a 3x3 kernel.
  CHECK_THAT(
      infer_error(with(geo(1, 1, 1, 1, 2, 3, 3), 1, 1, 2, 0, 0, 0, true).attrs(), {DType::f32, {1, 1, 1, 1}}),
      Catch::Contains("crops away the whole output"));
  CHECK_THAT(
      infer_error(with(geo(1, 1, 1, 1, 2, 3, 3), 2, 2, 0, 0, 2, 0, true).attrs(), {DType::f32, {1, 1, 4, 4}}),
      Catch::Contains("output_padding 2x0 must be smaller than stride 2x2"));
  CHECK_THAT(
      infer_error(with(geo(1, 1, 1, 1, 2, 3, 3), 1, 1, 0, 0, 0, 1, true).attrs(), {DType::f32, {1, 1, 4, 4}}),
      Catch::Contains("must be smaller than stride"));
  keel::Attrs three({{"filters", std::int64_t(2)},
                     {"kernel", V{3, 3, 3}},
                     {"stride", V{1}},
                     {"padding", V{0}},
                     {"output_padding", V{0}},
                     {"bias", true}});
  CHECK_THAT(infer_error(three, {DType::f32, {1, 3, 8, 8}}),
             Catch::Contains("kernel must have 1 or 2 values"));
  Geometry zero_stride = geo(1, 1, 1, 1, 2, 3, 3);
  zero_stride.sw = 0;
  CHECK_THAT(infer_error(zero_stride.attrs(), {DType::f32, {1, 3, 8, 8}}), Catch::Contains("stride values"));
}

TEST_CASE("conv_transpose2d forward matches a naive scatter, training and inference") {
  std::mt19937 rng(31);
  for (const Geometry& g : cases)
    for (bool training : {true, false}) {
      INFO(describe(g) << (training ? " training" : " inference"));
      Harness h(op_maker("conv_transpose2d"), g.attrs(), std::vector<Shape>{g.x_shape()}, training);
      REQUIRE(h.output_shape() == g.y_shape());
      const Data d = draw(rng, g);
      h.params() = {d.w, d.b};
      check_close(h.forward({d.x})[0], conv_transpose(g, {to_double(d.x), to_double(d.w), to_double(d.b)}),
                  forward_tol, forward_tol, "y");
    }
}

TEST_CASE("conv_transpose2d gradients of x, weight and bias match finite differences") {
  std::mt19937 rng(32);
  for (const Geometry& g : cases) {
    INFO(describe(g));
    Harness h(op_maker("conv_transpose2d"), g.attrs(), {g.x_shape()});
    const Data d = draw(rng, g);
    h.params() = {d.w, d.b};
    const Floats y = h.forward({d.x})[0];
    const auto grads = h.backward({d.x}, {y}, {d.gy});
    const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
    const Reference ref = [g](const std::vector<Doubles>& v) { return conv_transpose(g, v); };
    const Doubles gy = to_double(d.gy);
    check_close(grads[0], numeric_grad(ref, in, 0, gy), grad_tol, grad_tol, "grad_x");
    check_close(h.param_grads()[0], numeric_grad(ref, in, 1, gy), grad_tol, grad_tol, "grad_weight");
    // Without a bias term the reference ignores b, so its gradient is zero.
    check_close(h.param_grads()[1], numeric_grad(ref, in, 2, gy), grad_tol, grad_tol, "grad_bias");
  }
}

TEST_CASE("conv_transpose2d without bias ignores the bias parameter's values") {
  std::mt19937 rng(33);
  const Geometry g = cases[2];
  REQUIRE_FALSE(g.bias);
  Harness h(op_maker("conv_transpose2d"), g.attrs(), {g.x_shape()});
  const Data d = draw(rng, g);
  h.params() = {d.w, Floats(std::size_t(g.f), 100.0f)};
  check_close(h.forward({d.x})[0], conv_transpose(g, {to_double(d.x), to_double(d.w), {}}), forward_tol,
              forward_tol, "y");
}

TEST_CASE("conv_transpose2d backward skips grad_x nobody needs and still computes the parameter gradients") {
  std::mt19937 rng(34);
  const Geometry g = cases[1];
  Harness h(op_maker("conv_transpose2d"), g.attrs(), {g.x_shape()});
  const Data d = draw(rng, g);
  h.params() = {d.w, d.b};
  const Floats y = h.forward({d.x})[0];
  const auto grads = h.backward({d.x}, {y}, {d.gy}, {false});
  CHECK(grads[0].empty());
  const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
  const Reference ref = [g](const std::vector<Doubles>& v) { return conv_transpose(g, v); };
  check_close(h.param_grads()[0], numeric_grad(ref, in, 1, to_double(d.gy)), grad_tol, grad_tol,
              "grad_weight");
}

TEST_CASE("conv_transpose2d on an empty batch writes nothing and zero parameter gradients") {
  const Geometry g = with(geo(0, 2, 3, 3, 3, 4, 4), 2, 2, 1, 1, 0, 0, true);
  Harness h(op_maker("conv_transpose2d"), g.attrs(), {g.x_shape()});
  CHECK(h.output_shape() == keel::Shape{0, 3, 6, 6});
  const Floats y = h.forward({{}})[0];
  CHECK(y.empty());
  h.backward({{}}, {y}, {{}});
  for (const Floats& gr : h.param_grads())
    for (float v : gr) CHECK(v == 0.0f);
}

TEST_CASE("the transposed convolution runs optimized oneDNN kernels, never reference ones") {
  // A DCGAN generator for 8x8 images: project 1x1 -> 4x4, then double to 8x8.
  for (const Geometry& g :
       {geo(16, 32, 1, 1, 64, 4, 4), with(geo(16, 64, 4, 4, 32, 4, 4), 2, 2, 1, 1, 0, 0, true),
        with(geo(16, 32, 4, 4, 1, 4, 4), 2, 2, 1, 1, 0, 0, true)}) {
    keel::dnnl_util::Deconv2dGeometry d;
    d.n = g.n, d.c_in = g.c, d.h = g.h, d.w = g.w, d.c_out = g.f, d.kh = g.kh, d.kw = g.kw;
    d.stride_h = g.sh, d.stride_w = g.sw, d.pad_h = g.ph, d.pad_w = g.pw;
    keel::dnnl_util::Deconv2d deconv;
    deconv.prepare(d, true);
    REQUIRE(deconv.implementations().size() == 3);
    for (const std::string& impl : deconv.implementations()) {
      INFO(describe(g) << ": " << impl);
      CHECK(impl.find("ref") == std::string::npos);
    }
  }
}

TEST_CASE("conv_transpose2d crops per-side padding [top, left, bottom, right] from its output") {
  auto attrs = [](V padding) {
    return keel::Attrs({{"filters", std::int64_t(1)},
                        {"kernel", V{3}},
                        {"stride", V{2}},
                        {"padding", std::move(padding)},
                        {"output_padding", V{1}},
                        {"bias", true}});
  };
  // Ho = (4-1)*2 - 1 - 0 + 3 + 1 = 9; Wo = (3-1)*2 - 2 - 3 + 3 + 1 = 3.
  Harness h(op_maker("conv_transpose2d"), attrs({1, 2, 0, 3}), {{1, 2, 4, 3}});
  CHECK(h.output_shape() == keel::Shape{1, 1, 9, 3});
  CHECK(
      infer_error(attrs({0, 3, 0, 5}), {keel::DType::f32, {1, 1, 3, 3}}) ==
      "conv_transpose2d: padding [0, 3, 0, 5] crops away the whole output of the 3x3 input with a 3x3 kernel "
      "and stride 2x2 (output 8x0)");
}
