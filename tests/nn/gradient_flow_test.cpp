// stop_gradient and full_like as single ops: their values (the identity,
// and a constant of x's shape, for every dtype), stop_gradient run in place,
// and the declarations that keep gradients out of their inputs. That the
// engine then trains around them is in gradient_flow_graph_test.cpp.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using keel::DType;
using keel::TensorSpec;

TEST_CASE("stop_gradient passes values of every dtype through unchanged") {
  std::mt19937 rng(81);
  const Floats x = random_floats(rng, 12, -3, 3);
  Harness f32(op_maker("stop_gradient"), {}, {{3, 4}});
  CHECK(f32.output_dtype() == DType::f32);
  CHECK(f32.forward({x})[0] == x);
  Harness i64(op_maker("stop_gradient"), {}, TypedInputs{{{DType::i64, {2, 3}}}});
  CHECK(i64.output_dtype() == DType::i64);
  CHECK(i64.output_shape() == Shape{2, 3});
  CHECK(i64.forward({{-5, 0, 7, 1, 2, 3}})[0] == Floats{-5, 0, 7, 1, 2, 3});
  Harness scalar(op_maker("stop_gradient"), {}, {Shape{}});
  CHECK(scalar.forward({{2.5f}})[0] == Floats{2.5f});
}

TEST_CASE("stop_gradient gives the same values when its output is its input's memory") {
  PreparedOp p(op_maker("stop_gradient"), {}, f32_specs({{2, 5}}), true);
  auto& inst = p.instance();
  Floats buffer{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const Floats before = buffer;
  const std::vector<keel::ConstTensorView> in{{DType::f32, inst.inputs[0].shape, buffer.data()}};
  const std::vector<keel::TensorView> out{{DType::f32, inst.outputs[0].shape, buffer.data()}};
  REQUIRE(inst.op->forward(keel::ForwardContext{in, out, {}, true, 0, 0}).ok());
  CHECK(buffer == before);
}

TEST_CASE("stop_gradient and full_like declare no gradient into their input and have no backward") {
  for (const char* name : {"stop_gradient", "full_like"}) {
    INFO(name);
    const keel::OpSchema& s = op_schema(name);
    REQUIRE(s.inputs.size() == 1);
    // The planner's autodiff reads exactly this: an output computed only
    // from non-differentiable inputs depends on no trained parameter.
    CHECK_FALSE(s.inputs[0].differentiable);
    CHECK_FALSE(s.has_backward);
    CHECK(s.params.empty());
  }
  CHECK(op_schema("stop_gradient").inplace);
}

TEST_CASE("full_like fills an f32 tensor of x's shape with the value, whatever x's dtype") {
  struct Case {
    TensorSpec x;
    double value;
    float want;
  };
  for (const Case& c : {Case{{DType::f32, {4, 1}}, 1.0, 1.0f}, Case{{DType::i64, {3}}, 0.0, 0.0f},
                        Case{{DType::u8, {2, 2, 2}}, -2.75, -2.75f}, Case{{DType::f64, {}}, 0.1, 0.1f},
                        Case{{DType::boolean, {0, 3}}, 5.0, 5.0f}}) {
    INFO(keel::dtype_name(c.x.dtype) << " " << keel::shape_str(c.x.shape) << " value " << c.value);
    Harness h(op_maker("full_like"), layertest::attrs({{"value", keel::AttrValue{c.value}}}),
              TypedInputs{{c.x}});
    CHECK(h.output_dtype() == DType::f32);
    CHECK(h.output_shape() == c.x.shape);
    const Floats y = h.forward({Floats(count(c.x.shape), 9.0f)})[0];
    CHECK(y == Floats(count(c.x.shape), c.want));
  }
}

TEST_CASE("full_like keeps symbolic sizes, and its value defaults to zero") {
  const auto r = layertest::infer(op_maker("full_like"), {}, {TensorSpec{DType::i32, {layertest::batch, 2}}});
  REQUIRE(r.status.ok());
  CHECK(r.outputs.at(0) == TensorSpec{DType::f32, {layertest::batch, 2}});
  Harness h(op_maker("full_like"), {}, std::vector<Shape>{{3}});
  CHECK(h.forward({{4, 5, 6}})[0] == Floats{0, 0, 0});
}
