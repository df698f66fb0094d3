// Opens a built plugin module the way the runner does (dlopen, RTLD_NOW),
// so a plugin's tests can check what its one entry symbol describes and
// registers, and run ops made by the module's own factories.
#pragma once

#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "keel/keel.hpp"

namespace plugintest {

class RecordingRegistrar final : public keel::Registrar {
 public:
  void add(keel::OpSchema schema, keel::OpFactory factory) override {
    order.push_back(schema.name);
    factories[schema.name] = factory;
    schemas[schema.name] = std::move(schema);
  }
  std::vector<std::string> order;  // as registered; longer than schemas if a name repeats
  std::map<std::string, keel::OpSchema> schemas;
  std::map<std::string, keel::OpFactory> factories;
};

class PluginModule {
 public:
  explicit PluginModule(const char* path) : handle_(dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    INFO((handle_ == nullptr ? dlerror() : ""));
    REQUIRE(handle_ != nullptr);
  }
  ~PluginModule() { dlclose(handle_); }
  PluginModule(const PluginModule&) = delete;
  PluginModule& operator=(const PluginModule&) = delete;

  const keel::PluginDescriptor* descriptor() const {
    using Entry = const keel::PluginDescriptor* (*)();
    void* sym = dlsym(handle_, KEEL_PLUGIN_ENTRY_SYMBOL);
    REQUIRE(sym != nullptr);
    return reinterpret_cast<Entry>(sym)();
  }

  // Registers the module's ops into a fresh recorder.
  RecordingRegistrar registered() const {
    RecordingRegistrar r;
    descriptor()->register_ops(r);
    return r;
  }

 private:
  void* handle_;
};

}  // namespace plugintest
