// Loads the built keel_nn.so the way a runner would (dlopen, RTLD_NOW) and
// checks what its one entry symbol describes and registers.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "keel/keel.hpp"
#include "op_harness.hpp"
#include "plugin_module.hpp"

using plugintest::PluginModule;
using plugintest::RecordingRegistrar;

TEST_CASE("the nn plugin describes itself with this build's ABI version and table layout") {
  PluginModule p(KEEL_NN_PLUGIN_PATH);
  const keel_plugin_table* t = p.table();
  CHECK(t->abi_version == KEEL_ABI_VERSION);
  CHECK(t->table_size == sizeof(keel_plugin_table));
  CHECK(t->op_entry_size == sizeof(keel_op_entry));
  CHECK(t->error == nullptr);
  CHECK(t->n_codecs == 0);
  CHECK(std::string(t->name) == "nn");
  CHECK(std::string(t->version) == "1.0.0");
}

TEST_CASE("the nn plugin registers add, mul, scale, relu and matmul among its ops, all documented") {
  PluginModule p(KEEL_NN_PLUGIN_PATH);
  const RecordingRegistrar r = p.registered();
  for (const auto& [name, s] : r.schemas) {
    INFO("op " << name);
    CHECK_FALSE(s.doc.empty());
    CHECK(s.doc.find('\n') == std::string::npos);
    // constant alone takes no input: its value comes with the parameters.
    if (name != "constant") CHECK_FALSE(s.inputs.empty());
    REQUIRE_FALSE(s.outputs.empty());
    for (const auto& port : s.inputs) CHECK_FALSE(port.doc.empty());
    CHECK_FALSE(s.outputs[0].doc.empty());
    for (const auto& attr : s.attrs) CHECK_FALSE(attr.doc.empty());
  }
  CHECK(r.order.size() == r.schemas.size());  // no op registered twice
  for (const char* basic : {"add", "mul", "scale", "relu", "matmul"}) {
    INFO(basic);
    CHECK(r.schemas.count(basic) == 1);
  }
  const std::set<std::string> basics{"add", "mul", "scale", "relu", "matmul"};
  for (const auto& [name, s] : r.schemas)
    if (basics.count(name)) CHECK(s.has_backward);

  const keel::OpSchema* scale = &r.schemas.at("scale");
  REQUIRE(scale->attrs.size() == 1);
  CHECK(scale->attrs[0].name == "factor");
  CHECK(scale->attrs[0].type == keel::AttrType::Float);
  REQUIRE(scale->attrs[0].default_value.has_value());
  CHECK(std::get<double>(*scale->attrs[0].default_value) == 1.0);
}

TEST_CASE("an op made by the loaded plugin's factory runs forward and backward") {
  PluginModule p(KEEL_NN_PLUGIN_PATH);
  const RecordingRegistrar r = p.registered();
  // The op must die before the library is closed: scope it.
  {
    optest::Harness h(r.factories.at("matmul"), {}, {{1, 2}, {2, 1}});
    const auto y = h.forward({{2.0f, 3.0f}, {5.0f, 7.0f}});
    CHECK(y[0] == optest::Floats{31.0f});
    const auto g = h.backward({{2.0f, 3.0f}, {5.0f, 7.0f}}, y, {{1.0f}});
    CHECK(g[0] == optest::Floats{5.0f, 7.0f});
    CHECK(g[1] == optest::Floats{2.0f, 3.0f});
  }
}
