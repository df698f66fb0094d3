// The planner: symbolic and concrete shape inference, parameter slots,
// binding of named dimensions, and prepare() only when shapes change.
#include "planner/plan.hpp"

#include <catch2/catch.hpp>

#include "base/error.hpp"
#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "test_registry.hpp"

using namespace keel;

namespace {

int g_prepare_calls = 0;

// y = x; owns w of shape [units, x.shape[-1]], which must be static.
class Dense final : public Op {
 public:
  explicit Dense(const Attrs& a) : units_(a.i("units")) {}
  Status infer(InferContext& ctx) const override {
    const Shape& x = ctx.inputs[0].shape;
    if (x.empty()) return fail("dense needs rank >= 1");
    Shape y = x;
    y.back() = units_;
    ctx.outputs = {{ctx.inputs[0].dtype, y}};
    ctx.param_shapes = {{units_, x.back()}};
    return {};
  }
  Status prepare(const PrepareContext&) override {
    ++g_prepare_calls;
    return {};
  }
  Status forward(const ForwardContext&) override { return {}; }

 private:
  std::int64_t units_;
};

// Claims two outputs although its schema declares one: a plugin bug.
class Liar final : public Op {
 public:
  explicit Liar(const Attrs&) {}
  Status infer(InferContext& ctx) const override {
    ctx.outputs = {ctx.inputs[0], ctx.inputs[0]};
    return {};
  }
  Status forward(const ForwardContext&) override { return {}; }
};

// Claims a parameter its schema does not declare: the same bug.
class ExtraParam final : public Op {
 public:
  explicit ExtraParam(const Attrs&) {}
  Status infer(InferContext& ctx) const override {
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes = {{1}};
    return {};
  }
  Status forward(const ForwardContext&) override { return {}; }
};

Registry test_registry() {
  OpSchema dense{"dense", "test dense", {{"x", ""}}, {{"y", ""}}, {}, {{"weight", "", Init::HeUniform}},
                 true};
  dense.attrs.push_back({"units", AttrType::Int, "", std::int64_t(3), 1.0, {}, {}});
  OpSchema liar{"liar", "test liar", {{"x", ""}}, {{"y", ""}}, {}, {}, false};
  OpSchema extra{"extra", "test extra parameter", {{"x", ""}}, {{"y", ""}}, {}, {}, false};
  return plantest::registry_of(
      "testops", {{dense, make_op<Dense>, {}}, {liar, make_op<Liar>, {}}, {extra, make_op<ExtraParam>, {}}});
}

// The error symbolic inference of `graph` (YAML) raises; fails the test when
// there is none.
Error symbolic_error(const std::string& graph) {
  Registry reg = test_registry();
  ValidatedGraph g = validate_graph(parse_graph_text(graph, "g.yaml"), reg);
  Plan plan(g, reg);
  try {
    plan.infer_symbolic();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error");
  return Error(ExitCode::usage, "");
}

const char* kGraph = R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 4]}
  z: {dtype: f32, shape: [batch, 2]}
nodes:
  - {name: a, op: dense, inputs: [x], attrs: {units: 5}}
  - {name: b, op: dense, inputs: [z]}
outputs: [a, b]
)";

}  // namespace

TEST_CASE("symbolic inference keeps named dimensions and sizes parameters") {
  Registry reg = test_registry();
  ValidatedGraph g = validate_graph(parse_graph_text(kGraph, "g.yaml"), reg);
  Plan plan(g, reg);
  plan.infer_symbolic();
  CHECK(plan.describe(plan.values()[std::size_t(plan.output_slots()[0])]) == "f32 [batch, 5]");
  CHECK(plan.describe(plan.values()[std::size_t(plan.output_slots()[1])]) == "f32 [batch, 3]");
  REQUIRE(plan.params().size() == 2);
  CHECK(plan.params()[0].name == "a.weight");
  CHECK(plan.params()[0].shape == Shape{5, 4});
  CHECK(plan.params()[1].shape == Shape{3, 2});
}

TEST_CASE("binding data fixes named dimensions and prepares only when shapes change") {
  Registry reg = test_registry();
  ValidatedGraph g = validate_graph(parse_graph_text(kGraph, "g.yaml"), reg);
  Plan plan(g, reg);
  g_prepare_calls = 0;
  plan.bind({Tensor(DType::f32, {6, 4}), Tensor(DType::f32, {6, 2})}, false);
  CHECK(g_prepare_calls == 2);
  CHECK(plan.values()[std::size_t(plan.output_slots()[0])].shape == Shape{6, 5});
  CHECK_FALSE(plan.params()[0].value.empty());
  plan.bind({Tensor(DType::f32, {6, 4}), Tensor(DType::f32, {6, 2})}, false);
  CHECK(g_prepare_calls == 2);  // same shapes: primitives kept
  plan.bind({Tensor(DType::f32, {9, 4}), Tensor(DType::f32, {9, 2})}, false);
  CHECK(g_prepare_calls == 4);
  // Back to a binding prepared before (a training batch after an evaluation
  // batch): its op objects are reused, nothing is prepared again.
  plan.bind({Tensor(DType::f32, {6, 4}), Tensor(DType::f32, {6, 2})}, false);
  CHECK(g_prepare_calls == 4);
  plan.bind({Tensor(DType::f32, {6, 4}), Tensor(DType::f32, {6, 2})}, true);
  CHECK(g_prepare_calls == 6);  // training mode is a binding of its own
}

TEST_CASE("binding refuses a named dimension with two sizes") {
  Registry reg = test_registry();
  ValidatedGraph g = validate_graph(parse_graph_text(kGraph, "g.yaml"), reg);
  Plan plan(g, reg);
  try {
    plan.bind({Tensor(DType::f32, {6, 4}), Tensor(DType::f32, {7, 2})}, false);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(e.message() == "input 'z' has batch = 7 (dimension 0) but input 'x' has batch = 6");
    CHECK(e.loc().line == 4);
  }
}

TEST_CASE("a parameter whose size would depend on a named dimension is refused") {
  const Error e = symbolic_error(R"(keel: 1
inputs:
  x: {dtype: f32, shape: [4, batch]}
nodes:
  - {name: a, op: dense, inputs: [x]}
outputs: [a]
)");
  CHECK(e.message().find("parameter 'a.weight' would have shape f32 [3, batch]") != std::string::npos);
  CHECK(e.subject().node == "a");
  CHECK(e.subject().plugin == "testops");
}

TEST_CASE("an op whose infer disagrees with its schema is one error naming the node, not trusted") {
  for (const auto& [op, counts] : {std::pair{"liar", "2 outputs and 0 parameter shapes"},
                                   std::pair{"extra", "1 outputs and 1 parameter shapes"}}) {
    INFO(op);
    const Error e = symbolic_error(std::string("keel: 1\ninputs:\n  x: {dtype: f32, shape: [4]}\nnodes:\n"
                                               "  - {name: l, op: ") +
                                   op + ", inputs: [x]}\noutputs: [l]\n");
    CHECK(e.message() ==
          std::string("the op's infer() reported ") + counts + "; its schema declares 1 and 0");
    CHECK(e.subject().node == "l");
    CHECK(e.subject().op == op);
    CHECK(e.subject().plugin == "testops");
    CHECK(e.format().find('\n') == std::string::npos);
  }
}
