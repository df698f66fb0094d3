// concat and split against an index-by-index reference (each output
// element looked up by its coordinates), their shape rules with symbolic
// sizes, and the one-line errors for inputs they refuse. PyTorch parity is
// in generative_parity_test.cpp.
#include <catch2/catch.hpp>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;
using keel::DType;
using keel::TensorSpec;

namespace {

keel::Attrs axis_attrs(std::int64_t axis) { return attrs({{"axis", int_attr(axis)}}); }

// The C-order coordinates of element `flat` of `shape`.
std::vector<std::int64_t> coords(std::size_t flat, const Shape& shape) {
  std::vector<std::int64_t> c(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    c[d] = static_cast<std::int64_t>(flat % static_cast<std::size_t>(shape[d]));
    flat /= static_cast<std::size_t>(shape[d]);
  }
  return c;
}

std::size_t flat_index(const std::vector<std::int64_t>& c, const Shape& shape) {
  std::size_t i = 0;
  for (std::size_t d = 0; d < shape.size(); ++d)
    i = i * static_cast<std::size_t>(shape[d]) + std::size_t(c[d]);
  return i;
}

// y[..., k, ...] is a[..., k, ...] for k < a's size along the axis, else
// b[..., k - that size, ...]: torch.cat's definition, element by element.
Floats concat_reference(const Floats& a, const Shape& as, const Floats& b, const Shape& bs,
                        std::size_t axis) {
  Shape ys = as;
  ys[axis] += bs[axis];
  Floats y(count(ys));
  for (std::size_t i = 0; i < y.size(); ++i) {
    auto c = coords(i, ys);
    if (c[axis] < as[axis]) {
      y[i] = a[flat_index(c, as)];
    } else {
      c[axis] -= as[axis];
      y[i] = b[flat_index(c, bs)];
    }
  }
  return y;
}

Doubles doubles(const Floats& v) { return to_double(v); }

}  // namespace

TEST_CASE("concat joins along any axis as torch.cat defines it, and splits the gradient back") {
  struct Case {
    Shape a, b;
    std::int64_t axis;
    std::size_t normalized;
  };
  std::mt19937 rng(91);
  for (const Case& c :
       {Case{{2, 3}, {4, 3}, 0, 0}, Case{{2, 3}, {2, 1}, 1, 1}, Case{{2, 3, 4}, {2, 2, 4}, -2, 1},
        Case{{2, 3, 4}, {2, 3, 5}, -1, 2}, Case{{3}, {0}, 0, 0}, Case{{0, 2}, {0, 3}, 1, 1}}) {
    INFO(keel::shape_str(c.a) << " + " << keel::shape_str(c.b) << " along " << c.axis);
    Harness h(op_maker("concat"), axis_attrs(c.axis), {c.a, c.b});
    Shape want = c.a;
    want[c.normalized] += c.b[c.normalized];
    REQUIRE(h.output_shape() == want);
    const Floats a = random_floats(rng, count(c.a)), b = random_floats(rng, count(c.b));
    const Floats y = h.forward({a, b})[0];
    CHECK(y == concat_reference(a, c.a, b, c.b, c.normalized));
    // y is a permutation of a and b, so the gradient of sum(gy * y) with
    // respect to a element is the gy at the place it went to.
    const Floats gy = random_floats(rng, y.size());
    const auto grads = h.backward({a, b}, {y}, {gy});
    const Reference f = [&](const std::vector<Doubles>& in) {
      Floats fa(in[0].begin(), in[0].end()), fb(in[1].begin(), in[1].end());
      return doubles(concat_reference(fa, c.a, fb, c.b, c.normalized));
    };
    check_close(grads[0], numeric_grad(f, {doubles(a), doubles(b)}, 0, doubles(gy), 0.5), 0, 1e-6, "grad_a");
    check_close(grads[1], numeric_grad(f, {doubles(a), doubles(b)}, 1, doubles(gy), 0.5), 0, 1e-6, "grad_b");
  }
}

TEST_CASE("concat writes only the gradients asked for") {
  Harness h(op_maker("concat"), axis_attrs(1), {{2, 2}, {2, 1}});
  const Floats a{1, 2, 3, 4}, b{5, 6};
  const Floats y = h.forward({a, b})[0];
  CHECK(y == Floats{1, 2, 5, 3, 4, 6});
  const auto grads = h.backward({a, b}, {y}, {{10, 20, 30, 40, 50, 60}}, {false, true});
  CHECK(grads[0].empty());
  CHECK(grads[1] == Floats{30, 60});
}

TEST_CASE("split cuts the two equal halves torch.chunk gives, and joins their gradients") {
  struct Case {
    Shape x;
    std::int64_t axis;
    std::size_t normalized;
  };
  std::mt19937 rng(92);
  for (const Case& c : {Case{{6, 1}, 0, 0}, Case{{2, 4, 3}, 1, 1}, Case{{3, 2, 6}, -1, 2}, Case{{4}, -1, 0},
                        Case{{0, 4}, 1, 1}}) {
    INFO(keel::shape_str(c.x) << " along " << c.axis);
    Harness h(op_maker("split"), axis_attrs(c.axis), {c.x});
    Shape half = c.x;
    half[c.normalized] /= 2;
    REQUIRE(h.output_shape(0) == half);
    REQUIRE(h.output_shape(1) == half);
    const Floats x = random_floats(rng, count(c.x));
    const auto out = h.forward({x});
    // split is concat's inverse: joining the halves gives x back.
    CHECK(concat_reference(out[0], half, out[1], half, c.normalized) == x);
    for (std::size_t i = 0; i < out[0].size(); ++i) {
      auto k = coords(i, half);
      CHECK(out[0][i] == x[flat_index(k, c.x)]);
      k[c.normalized] += half[c.normalized];
      CHECK(out[1][i] == x[flat_index(k, c.x)]);
    }
    const Floats ga = random_floats(rng, out[0].size()), gb = random_floats(rng, out[1].size());
    CHECK(h.backward({x}, out, {ga, gb})[0] == concat_reference(ga, half, gb, half, c.normalized));
  }
}

TEST_CASE("concat and split keep symbolic sizes off the axis they work on") {
  const auto concat = infer(op_maker("concat"), axis_attrs(1), f32_specs({{batch, 3, seq}, {batch, 2, seq}}));
  REQUIRE(concat.status.ok());
  CHECK(concat.outputs[0].shape == Shape{batch, 5, seq});
  const auto split = infer(op_maker("split"), axis_attrs(-1), f32_specs({{batch, seq, 8}}));
  REQUIRE(split.status.ok());
  CHECK(split.outputs[0].shape == Shape{batch, seq, 4});
  CHECK(split.outputs[1].shape == Shape{batch, seq, 4});
}

TEST_CASE("split gives back the named size concat doubled, so a GAN's halves match its batch") {
  // concat(real, fake) of [batch, 3] each, then the discriminator's logits
  // [2 batch, 1] split back: each half is [batch, 1], the size of `real`.
  const auto both = infer(op_maker("concat"), {}, f32_specs({{batch, 3}, {batch, 3}}));
  REQUIRE(both.status.ok());
  const keel::Dim doubled = both.outputs[0].shape[0];
  CHECK_FALSE(keel::is_static(doubled));
  CHECK(doubled != batch);
  CHECK(both.outputs[0].shape[1] == 3);
  const auto halves = infer(op_maker("split"), {}, f32_specs({{doubled, 1}}));
  REQUIRE(halves.status.ok());
  CHECK(halves.outputs[0].shape == Shape{batch, 1});
  CHECK(halves.outputs[1].shape == Shape{batch, 1});
  // The same join twice is the same size (targets = concat(ones, zeros)
  // matches the logits); a join of another name is another size.
  const auto again = infer(op_maker("concat"), {}, f32_specs({{batch, 1}, {batch, 1}}));
  CHECK(again.outputs.at(0).shape == Shape{doubled, 1});
  const auto other = infer(op_maker("concat"), {}, f32_specs({{seq, 1}, {seq, 1}}));
  CHECK(other.outputs.at(0).shape[0] != doubled);
  // Four batches: (batch + batch) + (batch + batch) halves to two.
  const auto four = infer(op_maker("concat"), {}, f32_specs({{doubled, 1}, {doubled, 1}}));
  REQUIRE(four.status.ok());
  const auto two = infer(op_maker("split"), {}, f32_specs({four.outputs[0].shape}));
  CHECK(two.outputs.at(0).shape == Shape{doubled, 1});
  // batch + 2 batch = 3 batch, which has no two named halves.
  const auto three = infer(op_maker("concat"), {}, f32_specs({{batch, 1}, {doubled, 1}}));
  REQUIRE(three.status.ok());
  CHECK(infer_error(op_maker("split"), {}, three.outputs[0].shape).find("not known to be even") !=
        std::string::npos);
}

TEST_CASE("concat refuses inputs it cannot join, in one line naming the shapes") {
  const auto& concat = op_maker("concat");
  CHECK(infer_error(concat, {}, f32_specs({{2, 3}, {2, 3, 1}})) ==
        "concat: a is [2, 3] and b is [2, 3, 1]; they must have the same rank");
  CHECK(
      infer_error(concat, axis_attrs(1), f32_specs({{2, 3}, {4, 3}})) ==
      "concat: a is [2, 3] and b is [4, 3]; they must have the same sizes except along axis 1, and differ at "
      "axis 0");
  CHECK(
      infer_error(concat, axis_attrs(0), f32_specs({{batch, 3}, {seq, 3}})) ==
      "concat: a is [?, 3] and b is [?, 3]; along axis 0 a named size can only be joined with the same named "
      "size (batch and batch), not with a fixed or another named size");
  CHECK(infer_error(concat, axis_attrs(0), f32_specs({{batch, 3}, {4, 3}})).find("not with a fixed") !=
        std::string::npos);
  CHECK(infer_error(concat, axis_attrs(2), f32_specs({{2, 3}, {2, 3}})) ==
        "concat: axis 2 is out of range for rank 2 (allowed -2 to 1)");
  CHECK(infer_error(concat, {}, f32_specs({{}, {}})) == "concat: a must have rank 1 or more, got a scalar");
  CHECK(infer_error(concat, {}, {TensorSpec{DType::f32, {2}}, TensorSpec{DType::i64, {2}}}) ==
        "concat: b has dtype i64; only f32 is supported");
}

TEST_CASE("split refuses an odd size, a named size not known to be even and other dtypes, in one line") {
  const auto& split = op_maker("split");
  CHECK(infer_error(split, axis_attrs(1), Shape{4, 5}) ==
        "split: x is [4, 5]; its size along axis 1 is 5, which is odd, so it has no two equal halves");
  CHECK(infer_error(split, {}, Shape{batch, 4}) ==
        "split: x is [?, 4]; its size along axis 0 is a named dimension, not known to be even: split a fixed "
        "size, or one that concat joined from two equal named sizes");
  CHECK(infer_error(split, axis_attrs(-3), Shape{2, 2}) ==
        "split: axis -3 is out of range for rank 2 (allowed -2 to 1)");
  CHECK(infer_error(split, {}, Shape{}) == "split: x must have rank 1 or more, got a scalar");
  CHECK(infer_error(split, {}, {TensorSpec{DType::u8, {2}}}) ==
        "split: x has dtype u8; only f32 is supported");
}
