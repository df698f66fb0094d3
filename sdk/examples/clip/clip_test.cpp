// The clip op tested without the runner: its sources are linked in, and the
// plugin's own C table hands over its schema and factory, as to the runner.
#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "keel/testing.hpp"

extern "C" const keel_plugin_table* keel_get_plugin_table();

TEST_CASE("clip keeps the op contract") {
  for (const auto& op : keel::testing::ops_of(*keel_get_plugin_table())) {
    const keel::testing::Report report = keel::testing::check_op(op.schema, op.factory);
    INFO(report.text());
    CHECK(report.ok());
  }
}

TEST_CASE("clip matches min(max(x, low), high)") {
  const auto ops = keel::testing::ops_of(*keel_get_plugin_table());
  REQUIRE(ops.size() == 1);
  auto op = ops[0].factory(keel::Attrs({{"low", -0.5}, {"high", 0.25}}));
  const std::vector<float> x{-3.0f, -0.5f, -0.1f, 0.0f, 0.2f, 0.25f, 7.0f};
  std::vector<float> y(x.size());
  const keel::Shape shape{static_cast<keel::Dim>(x.size())};
  const keel::ConstTensorView in{keel::DType::f32, shape, x.data()};
  const keel::TensorView out{keel::DType::f32, shape, y.data()};
  const keel::ForwardContext ctx{{&in, 1}, {&out, 1}, {}};
  REQUIRE(op->forward(ctx).ok());
  for (std::size_t i = 0; i < x.size(); ++i)
    CHECK(y[i] == (x[i] < -0.5f ? -0.5f : x[i] > 0.25f ? 0.25f : x[i]));
}
