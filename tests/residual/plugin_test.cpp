// Loads the built keel_residual.so the way a runner would (dlopen,
// RTLD_NOW) and checks what its one entry symbol describes and registers.
#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "keel/keel.hpp"

namespace {

class RecordingRegistrar final : public keel::Registrar {
 public:
  void add(keel::OpSchema schema, keel::OpFactory factory) override {
    factories[schema.name] = factory;
    schemas[schema.name] = std::move(schema);
  }
  std::map<std::string, keel::OpSchema> schemas;
  std::map<std::string, keel::OpFactory> factories;
};

}  // namespace

TEST_CASE("the residual plugin loads and registers residual and residual_block, fully documented") {
  void* handle = dlopen(KEEL_RESIDUAL_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  INFO((handle == nullptr ? dlerror() : ""));
  REQUIRE(handle != nullptr);
  {
    using Entry = const keel::PluginDescriptor* (*)();
    void* sym = dlsym(handle, KEEL_PLUGIN_ENTRY_SYMBOL);
    REQUIRE(sym != nullptr);
    const keel::PluginDescriptor* d = reinterpret_cast<Entry>(sym)();
    CHECK(d->abi_version == KEEL_ABI_VERSION);
    CHECK(std::string(d->name) == "residual");
    CHECK(std::string(d->dnnl_version) == KEEL_FINGERPRINT_DNNL);
    RecordingRegistrar r;
    d->register_ops(r);
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
      auto made = r.factories.at(op)(keel::Attrs(op == std::string("residual")
                                                     ? std::map<std::string, keel::AttrValue>{
                                                           {"projection", std::string("auto")},
                                                           {"gain", std::string("none")},
                                                           {"gain_init", 0.0}}
                                                     : std::map<std::string, keel::AttrValue>{
                                                           {"width", std::int64_t(0)}}));
      const std::vector<keel::TensorSpec> in(s.inputs.size(), {keel::DType::f32, {2, 3, 4, 4}});
      keel::InferContext ctx{in, {}, {}};
      CHECK(made->infer(ctx).ok());
      CHECK(ctx.outputs.at(0).shape == keel::Shape{2, 3, 4, 4});
    }
  }
  dlclose(handle);
}
