// max_pool2d and avg_pool2d against a naive loop over each window in double
// (ONNX's MaxPool and AveragePool arithmetic, written out cell by cell) and
// central finite differences of it; the PyTorch comparison is in
// import_ops_parity_test.cpp.
#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <numeric>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

using Ints = std::vector<std::int64_t>;

struct Case {
  const char* what;
  bool max;
  Shape x;
  Ints kernel, stride, padding;  // padding as [top, left, bottom, right]
  bool ceil_mode = false;
  Ints dilation = {1, 1};         // max
  bool count_include_pad = true;  // avg
  Shape y;                        // worked out by hand
};

const std::vector<Case> cases = {
    {"max, stride = kernel",
     true,
     {2, 3, 5, 5},
     {2, 2},
     {2, 2},
     {0, 0, 0, 0},
     false,
     {1, 1},
     true,
     {2, 3, 2, 2}},
    // Rows: (6+1-3)/2 rounded up is 2, +1 = 3; columns (7+1-3)/2 up is 3, +1 = 4.
    {"max, per-side padding, ceil mode",
     true,
     {1, 2, 6, 7},
     {3, 3},
     {2, 2},
     {1, 0, 0, 1},
     true,
     {1, 1},
     true,
     {1, 2, 3, 4}},
    {"max, dilated, overlapping",
     true,
     {1, 1, 5, 5},
     {2, 2},
     {1, 1},
     {1, 1, 1, 1},
     false,
     {2, 2},
     true,
     {1, 1, 5, 5}},
    // ceil mode's third window would start at row 4, in the bottom padding:
    // dropped (PyTorch and ONNX), 2 windows each way.
    {"max, ceil mode dropping a window in the padding",
     true,
     {1, 1, 4, 4},
     {3, 3},
     {2, 2},
     {0, 0, 2, 2},
     true,
     {1, 1},
     true,
     {1, 1, 2, 2}},
    // The last window of each axis covers cells 5, 6 (padding) and 7 (past it):
    // it is divided by 2, not 3, per axis.
    {"avg, padding counted, ceil mode past the padding",
     false,
     {1, 2, 6, 6},
     {3, 3},
     {2, 2},
     {1, 1, 1, 1},
     true,
     {1, 1},
     true,
     {1, 2, 4, 4}},
    {"avg, per-side padding not counted, ceil mode",
     false,
     {2, 1, 4, 5},
     {2, 3},
     {1, 2},
     {0, 2, 1, 0},
     true,
     {1, 1},
     false,
     {2, 1, 4, 3}},
    {"avg, per-side padding counted",
     false,
     {1, 2, 5, 4},
     {3, 2},
     {2, 1},
     {2, 0, 1, 1},
     false,
     {1, 1},
     true,
     {1, 2, 3, 4}},
    // Stride 3 over a 2x2 kernel: rows and columns 2 and 5 feed nothing.
    {"avg, stride beyond the kernel",
     false,
     {1, 1, 7, 7},
     {2, 2},
     {3, 3},
     {0, 0, 0, 0},
     false,
     {1, 1},
     true,
     {1, 1, 2, 2}},
};

keel::Attrs attrs_of(const Case& c) {
  std::map<std::string, keel::AttrValue> a{{"kernel", ints_attr(c.kernel)},
                                           {"stride", ints_attr(c.stride)},
                                           {"padding", ints_attr(c.padding)},
                                           {"ceil_mode", keel::AttrValue{c.ceil_mode}}};
  if (c.max)
    a["dilation"] = ints_attr(c.dilation);
  else
    a["count_include_pad"] = keel::AttrValue{c.count_include_pad};
  return attrs(std::move(a));
}

const keel::OpMaker& maker(const Case& c) { return op_maker(c.max ? "max_pool2d" : "avg_pool2d"); }

// Every output cell from its window, one tap at a time: a tap in the image
// counts (max, sum); one in the padding [-top, H + bottom) counts for the
// divisor only with count_include_pad; one beyond it never.
Reference reference(const Case& c) {
  return [c](const std::vector<Doubles>& in) {
    const auto planes = std::size_t(c.x[0] * c.x[1]);
    const std::int64_t h = c.x[2], w = c.x[3], ho = c.y[2], wo = c.y[3];
    Doubles y(planes * std::size_t(ho * wo));
    for (std::size_t p = 0; p < planes; ++p)
      for (std::int64_t i = 0; i < ho; ++i)
        for (std::int64_t j = 0; j < wo; ++j) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
          int image = 0, padded = 0;
          for (std::int64_t u = 0; u < c.kernel[0]; ++u)
            for (std::int64_t v = 0; v < c.kernel[1]; ++v) {
              const std::int64_t r = i * c.stride[0] - c.padding[0] + u * c.dilation[0];
              const std::int64_t q = j * c.stride[1] - c.padding[1] + v * c.dilation[1];
              if (r < h + c.padding[2] && q < w + c.padding[3]) ++padded;
              if (r < 0 || r >= h || q < 0 || q >= w) continue;
              const double value =
                  in[0][(p * std::size_t(h) + std::size_t(r)) * std::size_t(w) + std::size_t(q)];
              best = std::max(best, value);
              sum += value;
              ++image;
            }
          y[(p * std::size_t(ho) + std::size_t(i)) * std::size_t(wo) + std::size_t(j)] =
              c.max ? best : sum / (c.count_include_pad ? padded : image);
        }
    return y;
  };
}

// Distinct values 0.01 apart, shuffled: no two taps of a window tie, so the
// maximum is smooth within the finite-difference step.
Floats distinct_values(std::mt19937& rng, std::size_t n) {
  Floats v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = -1.0f + 0.01f * float(i);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// A maximum is one of the inputs; a mean of at most 9 values in [-1, 2],
// and each gradient element a sum of at most 9 grad_y terms, round a few
// times in f32.
constexpr double tol = 1e-6;

}  // namespace

TEST_CASE("max_pool2d and avg_pool2d match a naive loop over every window, training and inference") {
  std::mt19937 rng(61);
  for (const Case& c : cases)
    for (bool training : {true, false}) {
      INFO(c.what << (training ? ", training" : ", inference"));
      Harness h(maker(c), attrs_of(c), std::vector<Shape>{c.x}, training);
      REQUIRE(h.output_shape() == c.y);
      const Floats x = distinct_values(rng, count(c.x));
      check_close(h.forward({x})[0], reference(c)({to_double(x)}), tol, tol, "y");
    }
}

TEST_CASE("max_pool2d and avg_pool2d gradients match finite differences, cells no window reads included") {
  std::mt19937 rng(62);
  for (const Case& c : cases) {
    INFO(c.what);
    Harness h(maker(c), attrs_of(c), {c.x});
    const Floats x = distinct_values(rng, count(c.x));
    const Floats gy = random_floats(rng, count(c.y));
    const Floats y = h.forward({x})[0];
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    check_close(gx, numeric_grad(reference(c), {to_double(x)}, 0, to_double(gy)), tol, tol, "grad_x");
  }
}

TEST_CASE("max_pool2d prepared once finds each step's maxima for its backward") {
  const Case& c = cases[2];  // overlapping windows: a cell may be the maximum of several
  std::mt19937 rng(63);
  Harness h(maker(c), attrs_of(c), {c.x});
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    const Floats x = distinct_values(rng, count(c.x)), gy = random_floats(rng, count(c.y));
    const Floats y = h.forward({x})[0];
    check_close(y, reference(c)({to_double(x)}), tol, tol, "y");
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    check_close(gx, numeric_grad(reference(c), {to_double(x)}, 0, to_double(gy)), tol, tol, "grad_x");
  }
}

TEST_CASE("pooling an empty batch runs nothing") {
  for (const char* op : {"max_pool2d", "avg_pool2d"}) {
    INFO(op);
    Harness h(op_maker(op), attrs({{"kernel", ints_attr({2})}}), {{0, 2, 4, 4}});
    REQUIRE(h.output_shape() == Shape{0, 2, 2, 2});
    CHECK(h.forward({{}})[0].empty());
    CHECK(h.backward({{}}, {{}}, {{}})[0].empty());
  }
}

TEST_CASE("pooling keeps named batch and channel sizes; stride defaults to the kernel") {
  for (const char* op : {"max_pool2d", "avg_pool2d"}) {
    INFO(op);
    CHECK(inferred_shape(op_maker(op), attrs({{"kernel", ints_attr({2, 3})}}), {batch, seq, 8, 9}) ==
          Shape{batch, seq, 4, 3});
    CHECK(inferred_shape(op_maker(op), attrs({{"kernel", ints_attr({3})}, {"stride", ints_attr({1})}}),
                         {batch, 3, 8, 9}) == Shape{batch, 3, 6, 7});
  }
}

TEST_CASE("pooling refuses what it cannot pool, in one line") {
  const auto max = op_maker("max_pool2d"), avg = op_maker("avg_pool2d");
  const keel::Attrs k2 = attrs({{"kernel", ints_attr({2})}});
  CHECK(infer_error(max, k2, Shape{2, 3, 4}) == "max_pool2d: x must be [N, C, H, W], got [2, 3, 4]");
  CHECK(infer_error(avg, k2, Shape{2, 3, batch, 4}) ==
        "avg_pool2d: x is [2, 3, ?, 4]: height and width must be fixed sizes");
  CHECK(infer_error(max, k2, {{keel::DType::i32, {2, 3, 4, 4}}}) ==
        "max_pool2d: x has dtype i32; only f32 is supported");
  CHECK(infer_error(max, attrs({{"kernel", ints_attr({5})}, {"padding", ints_attr({1, 0, 0, 0})}}),
                    Shape{1, 1, 3, 3}) ==
        "max_pool2d: a 5x5 kernel with dilation 1x1 does not fit the 3x3 input padded by [1, 0, 0, 0]");
  CHECK(infer_error(avg, attrs({{"kernel", ints_attr({4, 2})}}), Shape{1, 1, 3, 3}) ==
        "avg_pool2d: a 4x2 kernel does not fit the 3x3 input padded by 0x0");
  CHECK(
      infer_error(max, attrs({{"kernel", ints_attr({2})}, {"padding", ints_attr({0, 0, 2, 0})}}),
                  Shape{1, 1, 6, 6}) ==
      "max_pool2d: padding [0, 0, 2, 0] must be smaller than the 2x2 kernel with dilation 1x1 on every side, "
      "so that every window holds a pixel of the image");
  CHECK(infer_error(avg, attrs({{"kernel", ints_attr({2})}, {"padding", ints_attr({1, 1, 1})}}),
                    Shape{1, 1, 6, 6}) ==
        "avg_pool2d: padding must have 1, 2 (height, width) or 4 (top, left, bottom, right) values, got 3");
  CHECK(infer_error(max, attrs({{"kernel", ints_attr({2})}, {"stride", ints_attr({1, 1, 1})}}),
                    Shape{1, 1, 6, 6}) ==
        "max_pool2d: stride must have 1 or 2 values (height, width), got 3");
  // Dilation widens the window, so the same padding fits.
  CHECK(inferred_shape(max,
                       attrs({{"kernel", ints_attr({2})},
                              {"padding", ints_attr({0, 0, 2, 0})},
                              {"dilation", ints_attr({2})}}),
                       {1, 1, 6, 6}) == Shape{1, 1, 3, 2});
}
