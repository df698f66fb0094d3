// Loads the built keel_optimizer.so the way a runner would (dlopen,
// RTLD_NOW) and checks what its one entry symbol describes and registers.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "keel/keel.hpp"
#include "plugin_module.hpp"
#include "update_driver.hpp"

using plugintest::PluginModule;
using plugintest::RecordingRegistrar;

TEST_CASE(
    "the optimizer plugin loads and registers sgd, adam and adamw, fully documented, updating in place") {
  PluginModule module(KEEL_OPTIMIZER_PLUGIN_PATH);
  {
    const keel_plugin_table* t = module.table();
    CHECK(t->abi_version == KEEL_ABI_VERSION);
    CHECK(std::string(t->name) == "optimizer");
    const RecordingRegistrar r = module.registered();
    REQUIRE(r.schemas.size() == 3);
    for (const char* op : {"sgd", "adam", "adamw"}) {
      INFO(op);
      REQUIRE(r.schemas.count(op) == 1);
      const keel::OpSchema& s = r.schemas.at(op);
      CHECK_FALSE(s.has_backward);
      CHECK_FALSE(s.doc.empty());
      for (const auto& p : s.inputs) CHECK_FALSE(p.doc.empty());
      for (const auto& p : s.outputs) CHECK_FALSE(p.doc.empty());
      for (const auto& a : s.attrs) CHECK_FALSE(a.doc.empty());
      for (const auto& p : s.params) CHECK_FALSE(p.doc.empty());
      // An op made by the module runs across the boundary: one plain step
      // with zero state is param - lr * grad for all three at step 0 and
      // no decay (adam's first step is lr * sign(grad) up to eps).
      opttest::UpdateDriver driver(r.factories.at(op), opttest::attrs_for(s, {{"weight_decay", 0.0}}), {4});
      opttest::Floats param{1.0f, -1.0f, 0.5f, 0.0f};
      driver.update(param, {0.5f, -0.25f, 2.0f, -1.0f}, 0.25f, 1.0f, 0);
      const bool sgd = std::string(op) == "sgd";
      CHECK(param[0] == Approx(sgd ? 0.875 : 0.75));
      CHECK(param[1] == Approx(sgd ? -0.9375 : -0.75));
      CHECK(param[2] == Approx(sgd ? 0.0 : 0.25).margin(1e-6));
      CHECK(param[3] == Approx(0.25));
    }
  }
}
