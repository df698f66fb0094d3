// Loads the built keel_nn.so the way a runner would (dlopen, RTLD_NOW) and
// checks what its one entry symbol describes and registers.
#include <dlfcn.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "keel/keel.hpp"
#include "op_harness.hpp"

namespace {

struct Plugin {
  Plugin() : handle(dlopen(KEEL_NN_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL)) {}
  ~Plugin() {
    if (handle != nullptr) dlclose(handle);
  }
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;
  void* handle;
};

class RecordingRegistrar final : public keel::Registrar {
 public:
  void add(keel::OpSchema schema, keel::OpFactory factory) override {
    factories[schema.name] = factory;
    schemas.push_back(std::move(schema));
  }
  std::vector<keel::OpSchema> schemas;
  std::map<std::string, keel::OpFactory> factories;
};

const keel::PluginDescriptor* descriptor_of(const Plugin& p) {
  using Entry = const keel::PluginDescriptor* (*)();
  void* sym = dlsym(p.handle, KEEL_PLUGIN_ENTRY_SYMBOL);
  REQUIRE(sym != nullptr);
  return reinterpret_cast<Entry>(sym)();
}

}  // namespace

TEST_CASE("the nn plugin describes itself with this build's ABI and fingerprint") {
  Plugin p;
  INFO((p.handle == nullptr ? dlerror() : ""));
  REQUIRE(p.handle != nullptr);
  const keel::PluginDescriptor* d = descriptor_of(p);
  CHECK(d->abi_version == KEEL_ABI_VERSION);
  CHECK(d->struct_size == sizeof(keel::PluginDescriptor));
  CHECK(std::string(d->compiler) == KEEL_FINGERPRINT_COMPILER);
  CHECK(std::string(d->stdlib_abi) == KEEL_FINGERPRINT_STDLIB);
  CHECK(std::string(d->sdk_version) == KEEL_SDK_VERSION_STRING);
  CHECK(std::string(d->dnnl_version) == KEEL_FINGERPRINT_DNNL);
  CHECK(std::string(d->name) == "nn");
  CHECK(std::string(d->version) == "1.0.0");
}

TEST_CASE("the nn plugin registers add, mul, scale, relu and matmul among its ops, all documented") {
  Plugin p;
  REQUIRE(p.handle != nullptr);
  RecordingRegistrar r;
  descriptor_of(p)->register_ops(r);
  std::set<std::string> names;
  for (const keel::OpSchema& s : r.schemas) {
    INFO("op " << s.name);
    names.insert(s.name);
    CHECK_FALSE(s.doc.empty());
    CHECK(s.doc.find('\n') == std::string::npos);
    CHECK_FALSE(s.inputs.empty());
    REQUIRE_FALSE(s.outputs.empty());
    for (const auto& port : s.inputs) CHECK_FALSE(port.doc.empty());
    CHECK_FALSE(s.outputs[0].doc.empty());
    for (const auto& attr : s.attrs) CHECK_FALSE(attr.doc.empty());
  }
  CHECK(names.size() == r.schemas.size());  // no op registered twice
  for (const char* basic : {"add", "mul", "scale", "relu", "matmul"}) {
    INFO(basic);
    CHECK(names.count(basic) == 1);
  }
  const std::set<std::string> basics{"add", "mul", "scale", "relu", "matmul"};
  for (const keel::OpSchema& s : r.schemas)
    if (basics.count(s.name)) CHECK(s.has_backward);

  const auto scale = std::find_if(r.schemas.begin(), r.schemas.end(),
                                  [](const keel::OpSchema& s) { return s.name == "scale"; });
  REQUIRE(scale->attrs.size() == 1);
  CHECK(scale->attrs[0].name == "factor");
  CHECK(scale->attrs[0].type == keel::AttrType::Float);
  REQUIRE(scale->attrs[0].default_value.has_value());
  CHECK(std::get<double>(*scale->attrs[0].default_value) == 1.0);
}

TEST_CASE("an op made by the loaded plugin's factory runs forward and backward") {
  Plugin p;
  REQUIRE(p.handle != nullptr);
  RecordingRegistrar r;
  descriptor_of(p)->register_ops(r);
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
