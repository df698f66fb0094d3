// The engine updates a parameter in place (output 0 is input 0's buffer).
// In-place and out-of-place calls must give identical bits, the state must
// evolve identically, and buffers that overlap in any other way are
// refused before anything is written.
#include <catch2/catch.hpp>
#include <random>

#include "plugin_ops.hpp"
#include "update_driver.hpp"

using namespace opttest;
using optest::op_maker;
using optest::op_schema;

namespace {

struct Case {
  const char* name;
  keel::OpMaker factory;
  keel::OpSchema schema;
  std::map<std::string, keel::AttrValue> attrs;
};

std::vector<Case> all_cases() {
  using namespace keel::optimizer;
  return {
      {"sgd",
       op_maker("sgd"),
       op_schema("sgd"),
       {{"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 0.01}, {"l1", 0.01}, {"clip_value", 0.5}}},
      {"adam",
       op_maker("adam"),
       op_schema("adam"),
       {{"weight_decay", 0.01}, {"l1", 0.01}, {"clip_value", 0.5}}},
      {"adamw", op_maker("adamw"), op_schema("adamw"), {{"l1", 0.01}, {"clip_value", 0.5}}}};
}

Floats random_floats(std::mt19937& rng, std::size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Floats v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace

TEST_CASE("in-place and out-of-place updates give identical params and state, step after step") {
  for (const Case& c : all_cases()) {
    INFO(c.name);
    const keel::Shape shape{3, 67};
    const std::size_t n = 201;
    UpdateDriver in_place(c.factory, attrs_for(c.schema, c.attrs), shape);
    UpdateDriver copying(c.factory, attrs_for(c.schema, c.attrs), shape);
    std::mt19937 rng(3);
    Floats a = random_floats(rng, n);
    Floats b = a;
    for (std::uint64_t step = 0; step < 4; ++step) {
      const Floats grad = random_floats(rng, n);
      in_place.update(a, grad, 0.05f, 0.8f, step);
      b = copying.update_copy(b, grad, 0.05f, 0.8f, step);
      REQUIRE(a == b);
      REQUIRE(in_place.state() == copying.state());
    }
  }
}

TEST_CASE(
    "an output that partially overlaps param, or a state sharing memory with grad, is refused untouched") {
  for (const Case& c : all_cases()) {
    INFO(c.name);
    const std::size_t n = 40;
    UpdateDriver op(c.factory, attrs_for(c.schema, c.attrs), {40});
    Floats param(n, 0.5f);
    const Floats grad(n, 0.25f);
    // Output one element past param inside the same allocation.
    Floats shared(n + 1, 0.5f);
    const keel::Status partial = op.try_update(shared, grad, 0.1f, 1.0f, 0, shared.data() + 1);
    CHECK_FALSE(partial.ok());
    CHECK_THAT(partial.message(), Catch::Contains("overlaps"));
    CHECK(shared == Floats(n + 1, 0.5f));
    for (const Floats& s : op.state()) CHECK(s == Floats(n, 0.0f));
    // Output aliasing grad.
    Floats grad_copy = grad;
    const keel::Status grad_alias = op.try_update(param, grad_copy, 0.1f, 1.0f, 0, grad_copy.data());
    CHECK_FALSE(grad_alias.ok());
    CHECK(param == Floats(n, 0.5f));
  }
}
