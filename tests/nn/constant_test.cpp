// constant: its output is its parameter `value`, which the params file
// provides and training never moves.
#include <catch2/catch.hpp>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

keel::Attrs shape_attrs(std::vector<std::int64_t> shape) {
  return attrs({{"shape", ints_attr(std::move(shape))}});
}

}  // namespace

TEST_CASE("constant declares no input and one parameter, value, that does not train") {
  const keel::OpSchema& s = op_schema("constant");
  CHECK(s.inputs.empty());
  REQUIRE(s.outputs.size() == 1);
  REQUIRE(s.params.size() == 1);
  CHECK(s.params[0].name == "value");
  CHECK_FALSE(s.params[0].trainable);
  CHECK(s.params[0].init == keel::Init::Zeros);
}

TEST_CASE("constant's output and parameter have its shape, a scalar included") {
  for (const Shape& shape : {Shape{2, 3}, Shape{}, Shape{1, 4, 1}}) {
    INFO(keel::shape_str(shape));
    const Inferred r = infer(op_maker("constant"), shape_attrs(shape), {});
    REQUIRE(r.status.ok());
    REQUIRE(r.outputs.size() == 1);
    CHECK(r.outputs[0] == keel::TensorSpec{keel::DType::f32, shape});
    CHECK(r.param_shapes == std::vector<Shape>{shape});
  }
}

TEST_CASE("constant gives the values it was loaded with, every step") {
  Harness h(op_maker("constant"), shape_attrs({2, 3}), std::vector<Shape>{});
  h.params()[0] = {1.5f, -2.0f, 0.0f, 3.25f, 1e30f, -7.0f};
  CHECK(h.forward({})[0] == Floats{1.5f, -2.0f, 0.0f, 3.25f, 1e30f, -7.0f});
  h.params()[0] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f};  // another checkpoint's
  const Floats y = h.forward({})[0];
  CHECK(y == Floats{0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f});
  // y = value: the gradient of value, when asked for, is grad_y itself.
  h.backward({}, {y}, {{0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -3.0f}});
  CHECK(h.param_grads()[0] == Floats{0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -3.0f});
}

TEST_CASE("constant refuses sizes below 1 and tensors too large to be a constant") {
  CHECK(infer(op_maker("constant"), shape_attrs({2, 0}), {}).status.message() ==
        "constant: shape sizes must lie in [1, 2147483648], got 0");
  CHECK(infer(op_maker("constant"), shape_attrs({65536, 65536}), {}).status.message() ==
        "constant: shape [65536, 65536] has more than 2147483648 elements");
}
