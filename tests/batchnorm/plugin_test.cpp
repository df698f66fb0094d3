// Loads the built keel_batchnorm.so the way a runner would (dlopen, RTLD_NOW)
// and checks what its one entry symbol describes and registers.
#include <catch2/catch.hpp>
#include <map>

#include "keel/keel.hpp"
#include "op_harness.hpp"
#include "plugin_module.hpp"

using plugintest::PluginModule;
using plugintest::RecordingRegistrar;

TEST_CASE(
    "the batchnorm plugin registers batchnorm and layernorm, documented, with this build's ABI version") {
  PluginModule p(KEEL_BATCHNORM_PLUGIN_PATH);
  const keel_plugin_table* t = p.table();
  CHECK(t->abi_version == KEEL_ABI_VERSION);
  CHECK(std::string(t->name) == "batchnorm");
  const RecordingRegistrar r = p.registered();
  REQUIRE(r.schemas.size() == 2);
  for (const auto& [name, s] : r.schemas) {
    INFO("op " << name);
    CHECK(s.has_backward);
    CHECK_FALSE(s.doc.empty());
    CHECK(s.doc.find('\n') == std::string::npos);
    for (const auto& port : s.inputs) CHECK_FALSE(port.doc.empty());
    for (const auto& port : s.outputs) CHECK_FALSE(port.doc.empty());
    for (const auto& attr : s.attrs) CHECK_FALSE(attr.doc.empty());
    for (const auto& param : s.params) CHECK_FALSE(param.doc.empty());
  }
  const keel::OpSchema& bn = r.schemas.at("batchnorm");
  REQUIRE(bn.params.size() == 4);
  CHECK(bn.params[0].init == keel::Init::Ones);
  CHECK(bn.params[1].init == keel::Init::Zeros);
  CHECK(bn.params[2].name == "running_mean");
  CHECK_FALSE(bn.params[2].trainable);
  CHECK(bn.params[3].init == keel::Init::Ones);
  CHECK_FALSE(bn.params[3].trainable);
  REQUIRE(bn.attrs.size() == 3);
  CHECK(std::get<double>(*bn.attrs[0].default_value) == 0.1);
  CHECK(std::get<double>(*bn.attrs[1].default_value) == 1e-5);
  CHECK(bn.attrs[2].name == "sync");
  CHECK_FALSE(std::get<bool>(*bn.attrs[2].default_value));
  CHECK(r.schemas.at("layernorm").params.size() == 2);
}

TEST_CASE("a batchnorm made by the loaded plugin's factory normalizes a batch") {
  PluginModule p(KEEL_BATCHNORM_PLUGIN_PATH);
  const RecordingRegistrar r = p.registered();
  {  // the op must die before the library is closed
    optest::Harness h(r.factories.at("batchnorm"), {}, {{2, 1}});
    h.params()[0] = {1.0f};
    // Batch {1, 3}: mean 2, biased variance 1, so y = (x - 2) / sqrt(1 + 1e-5).
    const auto y = h.forward({{1.0f, 3.0f}})[0];
    CHECK(y[0] == Approx(-1.0).epsilon(1e-5));
    CHECK(y[1] == Approx(1.0).epsilon(1e-5));
    // Unbiased variance 2: running_var = 0.9 * 0 + 0.1 * 2.
    CHECK(h.params()[3][0] == Approx(0.2).epsilon(1e-6));
  }
}
