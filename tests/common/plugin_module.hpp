// Opens a built plugin module the way the runner does (dlopen, RTLD_NOW),
// so a plugin's tests can check what its one entry symbol's table holds and
// run ops made through that table, across the C boundary.
#pragma once

#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "keel/import.hpp"
#include "keel/keel.hpp"

namespace plugintest {

struct RecordingRegistrar {
  std::vector<std::string> order;  // as registered; longer than schemas if a name repeats
  std::map<std::string, keel::OpSchema> schemas;
  std::map<std::string, keel::OpMaker> factories;
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

  const keel_plugin_table* table() const {
    void* sym = dlsym(handle_, KEEL_PLUGIN_ENTRY_SYMBOL);
    REQUIRE(sym != nullptr);
    return reinterpret_cast<keel_get_plugin_table_fn>(sym)();
  }

  // The module's ops, read from its table as the runner reads them.
  RecordingRegistrar registered() const {
    RecordingRegistrar r;
    for (keel::ImportedOpEntry& e : keel::import_plugin(*table()).ops) {
      r.order.push_back(e.schema.name);
      r.factories[e.schema.name] = std::move(e.make);
      r.schemas[e.schema.name] = std::move(e.schema);
    }
    return r;
  }

 private:
  void* handle_;
};

}  // namespace plugintest
