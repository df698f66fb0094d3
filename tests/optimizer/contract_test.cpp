// The optimizer-op contract as the engine sees it: schemas, shape
// inference, attribute and hyper-input checks (a clear error, nothing
// written), and the degenerate empty parameter.
#include <catch2/catch.hpp>
#include <cmath>

#include "plugin_ops.hpp"
#include "update_driver.hpp"

using namespace opttest;
using keel::DType;
using keel::Shape;
using optest::op_maker;
using optest::op_schema;

namespace {

struct Entry {
  keel::OpSchema schema;
  keel::OpMaker factory;
  std::vector<std::string> states;
};

std::vector<Entry> entries() {
  using namespace keel::optimizer;
  return {{op_schema("sgd"), op_maker("sgd"), {"momentum_buffer"}},
          {op_schema("adam"), op_maker("adam"), {"exp_avg", "exp_avg_sq"}},
          {op_schema("adamw"), op_maker("adamw"), {"exp_avg", "exp_avg_sq"}}};
}

keel::Status infer(const Entry& e, const std::map<std::string, keel::AttrValue>& attrs,
                   std::vector<keel::TensorSpec> inputs, keel::InferContext* out = nullptr) {
  auto op = e.factory(attrs_for(e.schema, attrs));
  keel::InferContext ctx{inputs, {}, {}};
  keel::Status st = op->infer(ctx);
  if (out != nullptr) *out = ctx;
  return st;
}

std::vector<keel::TensorSpec> specs(Shape param, Shape grad, Shape hyper, DType g = DType::f32) {
  return {{DType::f32, param}, {g, grad}, {DType::f32, hyper}};
}

}  // namespace

TEST_CASE(
    "optimizer schemas declare param, grad, hyper -> updated, zero-initialized untrainable state, no "
    "backward") {
  for (const Entry& e : entries()) {
    INFO(e.schema.name);
    CHECK_FALSE(e.schema.has_backward);
    REQUIRE(e.schema.inputs.size() == 3);
    CHECK(e.schema.inputs[0].name == "param");
    CHECK(e.schema.inputs[1].name == "grad");
    CHECK(e.schema.inputs[2].name == "hyper");
    REQUIRE(e.schema.outputs.size() == 1);
    CHECK(e.schema.outputs[0].name == "updated");
    REQUIRE(e.schema.params.size() == e.states.size());
    for (std::size_t i = 0; i < e.states.size(); ++i) {
      CHECK(e.schema.params[i].name == e.states[i]);
      CHECK(e.schema.params[i].init == keel::Init::Zeros);
      CHECK_FALSE(e.schema.params[i].trainable);
    }
    for (const char* shared : {"clip_value", "l1", "weight_decay"}) {
      bool found = false;
      for (const keel::AttrSpec& a : e.schema.attrs) found = found || a.name == shared;
      CHECK(found);
    }
  }
  CHECK(std::get<double>(*op_schema("adamw").attrs[3].default_value) == 0.01);
  CHECK(std::get<double>(*op_schema("adam").attrs[3].default_value) == 0.0);
}

TEST_CASE(
    "optimizer infer reports param's spec as output and param's shape for every state, symbolic dims too") {
  const Shape symbolic{keel::symbolic_dim(0), 5};
  for (const Entry& e : entries()) {
    INFO(e.schema.name);
    for (const Shape& shape : {Shape{4, 3}, Shape{7}, Shape{}, symbolic}) {
      keel::InferContext ctx{{}, {}, {}};
      REQUIRE(infer(e, {}, specs(shape, shape, {2}), &ctx).ok());
      REQUIRE(ctx.outputs.size() == 1);
      CHECK(ctx.outputs[0] == keel::TensorSpec{DType::f32, shape});
      CHECK(ctx.param_shapes == std::vector<Shape>(e.states.size(), shape));
    }
  }
}

TEST_CASE("optimizer infer rejects a grad of another shape or dtype and a hyper that is not of shape 2") {
  for (const Entry& e : entries()) {
    INFO(e.schema.name);
    CHECK_THAT(infer(e, {}, specs({4, 3}, {3, 4}, {2})).message(), Catch::Contains("grad is [3, 4]"));
    CHECK_THAT(infer(e, {}, specs({4, 3}, {4, 3}, {2}, DType::f64)).message(), Catch::Contains("f64"));
    CHECK_THAT(infer(e, {}, specs({4, 3}, {4, 3}, {3})).message(), Catch::Contains("hyper must be [2]"));
  }
}

TEST_CASE("sgd rejects nesterov without momentum or with dampening, as torch does") {
  const Entry sgd = entries()[0];
  const auto in = specs({4}, {4}, {2});
  CHECK_THAT(infer(sgd, {{"nesterov", true}}, in).message(), Catch::Contains("nesterov needs momentum > 0"));
  CHECK_FALSE(infer(sgd, {{"nesterov", true}, {"momentum", 0.9}, {"dampening", 0.1}}, in).ok());
  CHECK(infer(sgd, {{"nesterov", true}, {"momentum", 0.9}}, in).ok());
  CHECK_FALSE(infer(sgd, {{"momentum", -0.5}}, in).ok());
  CHECK_FALSE(infer(sgd, {{"weight_decay", -1.0}}, in).ok());
}

TEST_CASE(
    "adam and adamw reject betas outside 0 <= beta < 1, eps <= 0 and negative decay, l1 or clip_value") {
  const auto in = specs({4}, {4}, {2});
  for (const Entry& e : {entries()[1], entries()[2]}) {
    INFO(e.schema.name);
    CHECK_THAT(infer(e, {{"beta1", 1.0}}, in).message(), Catch::Contains("beta1 must be in [0, 1)"));
    CHECK_THAT(infer(e, {{"beta2", 1.0}}, in).message(), Catch::Contains("beta2"));
    CHECK_THAT(infer(e, {{"eps", 0.0}}, in).message(), Catch::Contains("eps must be finite and > 0"));
    CHECK_FALSE(infer(e, {{"weight_decay", -0.1}}, in).ok());
    CHECK_FALSE(infer(e, {{"l1", -0.1}}, in).ok());
    CHECK_FALSE(infer(e, {{"clip_value", std::nan("")}}, in).ok());
  }
}

TEST_CASE(
    "an optimizer step with a negative or non-finite learning rate or gradient scale fails, writing "
    "nothing") {
  for (const Entry& e : entries()) {
    INFO(e.schema.name);
    UpdateDriver op(e.factory, attrs_for(e.schema, {}), {3});
    const float bad[] = {-0.1f, std::nanf(""), INFINITY};
    for (float v : bad) {
      Floats param{1.0f, 2.0f, 3.0f};
      const keel::Status lr = op.try_update(param, {1.0f, 1.0f, 1.0f}, v, 1.0f, 0);
      CHECK_THAT(lr.message(), Catch::Contains("learning rate (hyper[0])"));
      const keel::Status scale = op.try_update(param, {1.0f, 1.0f, 1.0f}, 0.1f, v, 0);
      CHECK_THAT(scale.message(), Catch::Contains("gradient scale (hyper[1])"));
      CHECK(param == Floats{1.0f, 2.0f, 3.0f});
      for (const Floats& s : op.state()) CHECK(s == Floats(3, 0.0f));
    }
  }
}

TEST_CASE("an optimizer step on an empty parameter succeeds and touches nothing") {
  for (const Entry& e : entries()) {
    INFO(e.schema.name);
    UpdateDriver op(e.factory, attrs_for(e.schema, {}), {0, 4});
    Floats param;
    op.update(param, {}, 0.1f, 1.0f, 0);
  }
}
