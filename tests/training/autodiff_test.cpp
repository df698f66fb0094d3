// The backward pass of whole graphs, with the real plugins: every parameter
// gradient the engine derives agrees with central finite differences of the
// loss, including a value consumed twice (a residual skip), whose gradient
// the engine must sum.
#include "planner/autodiff.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "cli_util.hpp"
#include "executor/executor.hpp"
#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "planner/plan.hpp"
#include "registry/loader.hpp"

using namespace keel;

namespace {

const char* kGraph = R"(keel: 1
seed: 3
inputs:
  x: {dtype: f32, shape: [batch, 3]}
  t: {dtype: f32, shape: [batch, 2]}
nodes:
  - {name: fc1, op: linear, inputs: [x], attrs: {units: 5}}
  - {name: h, op: tanh, inputs: [fc1]}
  - {name: fc2, op: linear, inputs: [h], attrs: {units: 5}}
  - {name: skip, op: add, inputs: [fc2, fc1]}
  - {name: g, op: tanh, inputs: [skip]}
  - {name: sq, op: mul, inputs: [g, g]}
  - {name: head, op: linear, inputs: [sq], attrs: {units: 2}}
  - {name: loss, op: mse, inputs: [head, t]}
outputs: [head, loss]
)";

}  // namespace

TEST_CASE("parameter gradients of a graph with a residual skip match finite differences") {
  Registry registry;
  load_plugins(registry, {std::filesystem::path(KEEL_BUILD_DIR) / "lib/keel/plugins"});
  ValidatedGraph graph = validate_graph(parse_graph_text(kGraph, "g.yaml"), registry);
  Plan plan(graph, registry);
  const std::vector<Tensor> inputs{test::random_tensor({4, 3}, 1), test::random_tensor({4, 2}, 2)};
  plan.bind(inputs, true);
  const int loss_slot = plan.output_slots()[1];
  const GradientPlan gradients = plan_gradients(plan, loss_slot, {});
  CHECK(gradients.trained_params.size() == 6);  // weight and bias of fc1, fc2, head

  Executor exec(plan);
  exec.train_step(inputs, gradients);
  auto loss_now = [&] {
    exec.run(inputs, false);
    return double(exec.value(loss_slot).as<float>()[0]);
  };
  // f32 forward: with h = 1e-2 the truncation error is O(h^2) ~ 1e-4 of the
  // curvature and rounding ~ 1e-7 / h = 1e-5; 2e-3 absolute + 2% relative
  // separates a right gradient from a wrong one (a missing skip term is
  // off by far more).
  const double h = 1e-2;
  for (int p : gradients.trained_params) {
    Parameter& param = plan.params()[std::size_t(p)];
    const Tensor grad = exec.param_grad(p).clone();
    for (std::int64_t i = 0; i < param.value.numel(); ++i) {
      float& w = param.value.as<float>()[i];
      const float saved = w;
      w = saved + float(h);
      const double up = loss_now();
      w = saved - float(h);
      const double down = loss_now();
      w = saved;
      const double numeric = (up - down) / (2 * h);
      INFO(param.name << "[" << i << "]: engine " << grad.as<float>()[i] << ", finite differences "
                      << numeric);
      CHECK(std::abs(grad.as<float>()[i] - numeric) <= 2e-3 + 0.02 * std::abs(numeric));
    }
  }
}

TEST_CASE("frozen parameters get no gradient and a node without backward on the path is refused") {
  Registry registry;
  load_plugins(registry, {std::filesystem::path(KEEL_BUILD_DIR) / "lib/keel/plugins"});
  ValidatedGraph graph = validate_graph(parse_graph_text(kGraph, "g.yaml"), registry);
  Plan plan(graph, registry);
  plan.infer_symbolic();
  const int loss_slot = plan.output_slots()[1];
  const GradientPlan g = plan_gradients(plan, loss_slot, {"fc1", "head.bias"});
  std::vector<std::string> names;
  for (int p : g.trained_params) names.push_back(plan.params()[std::size_t(p)].name);
  CHECK(std::find(names.begin(), names.end(), "fc1.weight") == names.end());
  CHECK(std::find(names.begin(), names.end(), "head.bias") == names.end());
  CHECK(std::find(names.begin(), names.end(), "fc2.weight") != names.end());
  CHECK_THROWS_WITH(plan_gradients(plan, loss_slot, {"fc9"}),
                    Catch::Contains("'fc9' is neither a node nor a parameter"));
}
