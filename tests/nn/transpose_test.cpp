// transpose against index arithmetic written out here (y at index i is x at
// the index whose axis perm[k] is i[k]); the PyTorch comparison is in
// import_ops_parity_test.cpp.
#include <catch2/catch.hpp>
#include <numeric>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

using Ints = std::vector<std::int64_t>;

keel::Attrs perm_attrs(Ints perm) { return attrs({{"perm", ints_attr(std::move(perm))}}); }

// y = x.permute(perm), by walking y's indices in C order.
Reference reference(const Shape& x, const Ints& perm) {
  return [x, perm](const std::vector<Doubles>& in) {
    const std::size_t rank = x.size();
    std::vector<std::size_t> x_stride(rank, 1);
    for (std::size_t k = rank; k-- > 1;) x_stride[k - 1] = x_stride[k] * std::size_t(x[k]);
    Doubles y(in[0].size());
    std::vector<std::size_t> index(rank, 0);  // into y
    for (double& out : y) {
      std::size_t from = 0;
      for (std::size_t k = 0; k < rank; ++k) from += index[k] * x_stride[std::size_t(perm[k])];
      out = in[0][from];
      for (std::size_t k = rank; k-- > 0;) {
        if (++index[k] < std::size_t(x[std::size_t(perm[k])])) break;
        index[k] = 0;
      }
    }
    return y;
  };
}

struct Case {
  Shape x;
  Ints perm;  // empty: the op's default, reversed axes
};

const std::vector<Case> cases = {
    {{2, 3, 4}, {1, 2, 0}},
    {{2, 3, 4, 5}, {0, 3, 1, 2}},  // NHWC -> NCHW
    {{2, 3, 1, 4, 2}, {4, 0, 3, 1, 2}},
    {{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 3}, {11, 3, 0, 9, 5, 1, 7, 10, 2, 8, 4, 6}},  // oneDNN's largest rank
    {{3, 4}, {}},
    {{2, 3, 4}, {0, 1, 2}},  // the identity
    {{7}, {}},
    {{}, {}},  // a scalar
};

Ints resolved(const Case& c) {
  if (!c.perm.empty()) return c.perm;
  Ints p(c.x.size());
  std::iota(p.rbegin(), p.rend(), 0);
  return p;
}

std::string describe(const Case& c) {
  std::string s = "x " + keel::shape_str(c.x) + ", perm [";
  for (std::size_t i = 0; i < c.perm.size(); ++i) s += (i ? ", " : "") + std::to_string(c.perm[i]);
  return s + "]";
}

}  // namespace

TEST_CASE("transpose moves every element where index arithmetic puts it, and its gradient back") {
  std::mt19937 rng(71);
  for (const Case& c : cases) {
    INFO(describe(c));
    const Ints perm = resolved(c);
    Harness h(op_maker("transpose"), perm_attrs(c.perm), {c.x});
    Shape y_shape;
    for (std::int64_t p : perm) y_shape.push_back(c.x[std::size_t(p)]);
    REQUIRE(h.output_shape() == y_shape);
    const Floats x = random_floats(rng, count(c.x)), gy = random_floats(rng, count(c.x));
    const Floats y = h.forward({x})[0];
    check_close(y, reference(c.x, perm)({to_double(x)}), 0.0, 0.0, "y");
    // A permutation is linear: its finite differences are exact.
    const Floats gx = h.backward({x}, {y}, {gy})[0];
    check_close(gx, numeric_grad(reference(c.x, perm), {to_double(x)}, 0, to_double(gy)), 1e-9, 1e-9,
                "grad_x");
  }
}

TEST_CASE("transpose prepared for inference, or on an empty tensor") {
  std::mt19937 rng(72);
  const Case c{{2, 3, 4}, {2, 0, 1}};
  Harness infer_only(op_maker("transpose"), perm_attrs(c.perm), std::vector<Shape>{c.x}, /*training=*/false);
  const Floats x = random_floats(rng, 24);
  check_close(infer_only.forward({x})[0], reference(c.x, c.perm)({to_double(x)}), 0.0, 0.0, "y");

  Harness empty(op_maker("transpose"), {}, {{0, 3}});
  REQUIRE(empty.output_shape() == Shape{3, 0});
  CHECK(empty.forward({{}})[0].empty());
  CHECK(empty.backward({{}}, {{}}, {{}})[0].empty());
}

TEST_CASE("transpose permutes named sizes and refuses what is not a permutation of x's axes") {
  const auto op = op_maker("transpose");
  CHECK(inferred_shape(op, perm_attrs({2, 0, 1}), {batch, 3, seq}) == Shape{seq, batch, 3});
  CHECK(inferred_shape(op, {}, {batch, 3, seq}) == Shape{seq, 3, batch});
  CHECK(infer_error(op, perm_attrs({1, 0}), Shape{2, 3, 4}) ==
        "transpose: perm [1, 0] has 2 axes; x [2, 3, 4] has 3");
  CHECK(infer_error(op, perm_attrs({0, 0, 1}), Shape{2, 3, 4}) ==
        "transpose: perm [0, 0, 1] is not a permutation of the axes 0 to 2 of x [2, 3, 4]");
  CHECK(infer_error(op, perm_attrs({0, 3, 1}), Shape{batch, 3, 4}) ==
        "transpose: perm [0, 3, 1] is not a permutation of the axes 0 to 2 of x [?, 3, 4]");
  CHECK(infer_error(op, {}, Shape(13, 1)) ==
        "transpose: x [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] has rank 13; at most 12 is supported");
  CHECK(infer_error(op, {}, {{keel::DType::i64, {2, 3}}}) ==
        "transpose: x has dtype i64; only f32 is supported");
}
