// Loads the built keel_generative.so the way a runner would (dlopen,
// RTLD_NOW) and checks what its one entry symbol describes and registers.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "keel/keel.hpp"
#include "keel/testing.hpp"
#include "plugin_module.hpp"
#include "plugin_ops.hpp"

using plugintest::PluginModule;
using plugintest::RecordingRegistrar;

TEST_CASE("the generative plugin loads and registers its four ops, fully documented") {
  PluginModule module(KEEL_GENERATIVE_PLUGIN_PATH);
  const keel_plugin_table* t = module.table();
  CHECK(t->abi_version == KEEL_ABI_VERSION);
  CHECK(std::string(t->name) == "generative");
  const RecordingRegistrar r = module.registered();
  REQUIRE(r.schemas.size() == 4);
  const std::map<std::string, bool> differentiable{
      {"gaussian_sample", true}, {"kl_normal", true}, {"noise_like", false}, {"noise", false}};
  for (const auto& [op, has_backward] : differentiable) {
    INFO(op);
    REQUIRE(r.schemas.count(op) == 1);
    const keel::OpSchema& s = r.schemas.at(op);
    CHECK(s.has_backward == has_backward);
    CHECK(s.role == keel::Role::none);
    CHECK_FALSE(s.doc.empty());
    for (const auto& p : s.inputs) CHECK_FALSE(p.doc.empty());
    for (const auto& p : s.outputs) CHECK_FALSE(p.doc.empty());
    for (const auto& a : s.attrs) CHECK_FALSE(a.doc.empty());
    CHECK_FALSE(s.examples.empty());
  }
  // An op made by the module runs its own infer across the boundary.
  auto made = r.factories.at("noise")(keel::Attrs({{"count", std::int64_t(5)},
                                                   {"shape", std::vector<std::int64_t>{2, 3}},
                                                   {"distribution", std::string("normal")},
                                                   {"mean", 0.0},
                                                   {"std", 1.0},
                                                   {"low", 0.0},
                                                   {"high", 1.0}}));
  keel::InferContext ctx{{}, {}, {}};
  CHECK(made->infer(ctx).ok());
  CHECK(ctx.outputs.at(0).shape == keel::Shape{5, 2, 3});
}

TEST_CASE("every generative op passes the conformance kit through the plugin's C table") {
  const auto ops = keel::testing::ops_of(*keel_get_plugin_table());
  REQUIRE(ops.size() == 4);
  for (const auto& op : ops) {
    const keel::testing::Report report = keel::testing::check_op(op.schema, op.factory);
    INFO(op.schema.name << "\n" << report.text());
    CHECK(report.ok());
  }
}
