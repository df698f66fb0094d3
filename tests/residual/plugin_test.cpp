// Loads the built keel_residual.so the way a runner would (dlopen,
// RTLD_NOW) and checks what its one entry symbol describes and registers.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "keel/keel.hpp"
#include "plugin_module.hpp"

using plugintest::PluginModule;
using plugintest::RecordingRegistrar;

TEST_CASE("the residual plugin loads and registers residual and residual_block, fully documented") {
  PluginModule module(KEEL_RESIDUAL_PLUGIN_PATH);
  {
    const keel_plugin_table* t = module.table();
    CHECK(t->abi_version == KEEL_ABI_VERSION);
    CHECK(std::string(t->name) == "residual");
    const RecordingRegistrar r = module.registered();
    REQUIRE(r.schemas.size() == 2);
    for (const char* op : {"residual", "residual_block"}) {
      INFO(op);
      REQUIRE(r.schemas.count(op) == 1);
      const keel::OpSchema& s = r.schemas.at(op);
      CHECK(s.has_backward);
      CHECK_FALSE(s.doc.empty());
      for (const auto& p : s.inputs) CHECK_FALSE(p.doc.empty());
      for (const auto& p : s.outputs) CHECK_FALSE(p.doc.empty());
      for (const auto& a : s.attrs) CHECK_FALSE(a.doc.empty());
      for (const auto& p : s.params) CHECK_FALSE(p.doc.empty());
      // An op made by the module runs its own infer across the boundary.
      auto made = r.factories.at(op)(
          keel::Attrs(op == std::string("residual")
                          ? std::map<std::string, keel::AttrValue>{{"projection", std::string("auto")},
                                                                   {"gain", std::string("none")},
                                                                   {"gain_init", 0.0}}
                          : std::map<std::string, keel::AttrValue>{{"width", std::int64_t(0)}}));
      const std::vector<keel::TensorSpec> in(s.inputs.size(), {keel::DType::f32, {2, 3, 4, 4}});
      keel::InferContext ctx{in, {}, {}};
      CHECK(made->infer(ctx).ok());
      CHECK(ctx.outputs.at(0).shape == keel::Shape{2, 3, 4, 4});
    }
  }
}
