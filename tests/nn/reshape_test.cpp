#include <catch2/catch.hpp>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

keel::Attrs axis_attrs(std::int64_t axis) { return attrs({{"axis", int_attr(axis)}}); }
keel::Attrs shape_attrs(std::vector<std::int64_t> s) { return attrs({{"shape", ints_attr(std::move(s))}}); }

// Both ops keep every element in C order: the reference is the identity.
const Reference identity = [](const std::vector<Doubles>& in) { return in[0]; };

void check_copy(const keel::OpMaker& factory, const keel::Attrs& a, const Shape& x, const Shape& want) {
  std::mt19937 rng(61);
  INFO("x " << keel::shape_str(x));
  Harness h(factory, a, {x});
  REQUIRE(h.output_shape() == want);
  const Floats in = random_floats(rng, count(x)), gy = random_floats(rng, count(want));
  const Floats y = h.forward({in})[0];
  CHECK(y == in);
  const Floats gx = h.backward({in}, {y}, {gy})[0];
  CHECK(gx == gy);
  check_close(gx, numeric_grad(identity, {to_double(in)}, 0, to_double(gy)), 1e-9, 1e-9, "grad_x");
}

}  // namespace

TEST_CASE("flatten merges the axes from `axis` on, as torch.flatten, and copies data and gradients") {
  check_copy(op_maker("flatten"), {}, {2, 3, 4}, {2, 12});
  check_copy(op_maker("flatten"), axis_attrs(0), {2, 3, 4}, {24});
  check_copy(op_maker("flatten"), axis_attrs(2), {2, 3, 4}, {2, 3, 4});
  check_copy(op_maker("flatten"), axis_attrs(-2), {2, 3, 4, 5}, {2, 3, 20});
  check_copy(op_maker("flatten"), axis_attrs(1), {5, 1}, {5, 1});
  check_copy(op_maker("flatten"), {}, {0, 3, 4}, {0, 12});
}

TEST_CASE("reshape fills in -1 and copies data and gradients") {
  check_copy(op_maker("reshape"), shape_attrs({4, -1}), {2, 3, 4}, {4, 6});
  check_copy(op_maker("reshape"), shape_attrs({6, 4}), {2, 3, 4}, {6, 4});
  check_copy(op_maker("reshape"), shape_attrs({-1}), {2, 3, 4}, {24});
  check_copy(op_maker("reshape"), shape_attrs({1, 1, 1}), {}, {1, 1, 1});
  check_copy(op_maker("reshape"), shape_attrs({}), {1, 1}, {});
  check_copy(op_maker("reshape"), shape_attrs({-1, 8, 8}), {0, 64}, {0, 8, 8});
}

TEST_CASE("flatten keeps a symbolic leading size and a symbol merged only with ones") {
  CHECK(inferred_shape(op_maker("flatten"), {}, {batch, 8, 8}) == Shape{batch, 64});
  CHECK(inferred_shape(op_maker("flatten"), axis_attrs(1), {batch, seq, 1}) == Shape{batch, seq});
  CHECK(inferred_shape(op_maker("flatten"), axis_attrs(1), {2, 1, batch}) == Shape{2, batch});
  CHECK(infer_error(op_maker("flatten"), axis_attrs(0), Shape{batch, 8}) ==
        "flatten: cannot merge axes 0 to 1 of [?, 8] into one: it would multiply a symbolic size by other "
        "sizes");
  CHECK(infer_error(op_maker("flatten"), axis_attrs(0), Shape{batch, seq}) ==
        "flatten: cannot merge axes 0 to 1 of [?, ?] into one: it would multiply a symbolic size by other "
        "sizes");
}

TEST_CASE("reshape gives a symbolic size to the -1 when the other sizes match") {
  CHECK(inferred_shape(op_maker("reshape"), shape_attrs({-1, 8, 8}), {batch, 64}) == Shape{batch, 8, 8});
  CHECK(inferred_shape(op_maker("reshape"), shape_attrs({8, -1}), {2, 4, seq}) == Shape{8, seq});
  const char* rule =
      ": with a symbolic size, x must have exactly one, the shape exactly one -1 to carry it, and the other "
      "sizes must multiply to the same count";
  CHECK(infer_error(op_maker("reshape"), shape_attrs({-1, 32}), Shape{batch, 64}) ==
        std::string("reshape: cannot reshape x [?, 64] into [-1, 32]") + rule);
  CHECK(infer_error(op_maker("reshape"), shape_attrs({2, 64}), Shape{batch, 64}) ==
        std::string("reshape: cannot reshape x [?, 64] into [2, 64]") + rule);
  CHECK(infer_error(op_maker("reshape"), shape_attrs({-1}), Shape{batch, seq}) ==
        std::string("reshape: cannot reshape x [?, ?] into [-1]") + rule);
}

TEST_CASE("reshape rejects bad target shapes with the shape in the message") {
  CHECK(infer_error(op_maker("reshape"), shape_attrs({5, -1}), Shape{2, 3, 4}) ==
        "reshape: cannot reshape x [2, 3, 4] (24 elements) into [5, -1]");
  CHECK(infer_error(op_maker("reshape"), shape_attrs({5, 5}), Shape{2, 3, 4}) ==
        "reshape: cannot reshape x [2, 3, 4] (24 elements) into [5, 5]");
  CHECK(infer_error(op_maker("reshape"), shape_attrs({-1, -1}), Shape{2, 3}) ==
        "reshape: shape [-1, -1] has more than one -1");
  CHECK(infer_error(op_maker("reshape"), shape_attrs({0, 6}), Shape{2, 3}) ==
        "reshape: shape [0, 6] may hold sizes >= 1 and one -1, not 0");
  CHECK(infer_error(op_maker("reshape"), shape_attrs({-2, 3}), Shape{2, 3}) ==
        "reshape: shape [-2, 3] may hold sizes >= 1 and one -1, not -2");
  const std::int64_t huge = std::int64_t{1} << 40;
  CHECK(infer_error(op_maker("reshape"), shape_attrs({huge, huge}), Shape{2, 3}) ==
        "reshape: shape [1099511627776, 1099511627776] has too many elements");
  CHECK(infer_error(op_maker("reshape"), shape_attrs({-1}), Shape{huge, huge}) ==
        "reshape: x [1099511627776, 1099511627776] has too many elements");
  CHECK(infer_error(op_maker("flatten"), {}, Shape{2, huge, huge}) ==
        "flatten: x [2, 1099511627776, 1099511627776] has too many elements");
}

TEST_CASE("flatten rejects scalars and axes outside the rank") {
  CHECK(infer_error(op_maker("flatten"), {}, Shape{}) == "flatten: x must have rank 1 or more, got a scalar");
  CHECK(infer_error(op_maker("flatten"), axis_attrs(3), Shape{2, 3, 4}) ==
        "flatten: axis 3 is out of range for rank 3 (allowed -3 to 2)");
  CHECK(infer_error(op_maker("flatten"), {}, {{keel::DType::u8, {2, 3}}}) ==
        "flatten: x has dtype u8; only f32 is supported");
}

TEST_CASE("reshape refuses to copy when the buffers it is given differ from what prepare planned") {
  auto op = op_maker("reshape")(shape_attrs({3, 2}));
  const std::vector<keel::TensorSpec> in = f32_specs({{2, 3}});
  keel::InferContext ic{in, {}, {}};
  REQUIRE(op->infer(ic).ok());
  REQUIRE(op->prepare({in, ic.outputs, {}, true}).ok());
  Floats x(6, 1.0f), y(4, 0.0f);
  const Shape wrong{2, 2};
  const keel::ConstTensorView xv{keel::DType::f32, in[0].shape, x.data()};
  const keel::TensorView yv{keel::DType::f32, wrong, y.data()};
  keel::ForwardContext fc{{&xv, 1}, {&yv, 1}, {}, true, 0, 0};
  const keel::Status st = op->forward(fc);
  CHECK(st.message() == "reshape: expected 6 elements, got 6 and 4");
  CHECK(y == Floats(4, 0.0f));
}
