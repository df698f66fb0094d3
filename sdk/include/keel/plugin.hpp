// The plugin boundary, C++ side. A plugin registers its ops (and codecs)
// with the registrars below; KEEL_PLUGIN turns what was registered into the
// C table of keel/abi.h, returned by the one exported symbol
// `keel_get_plugin_table`. Registration is explicit: nothing runs at library
// load time; the table is built on the first call.
//
//   static void register_ops(keel::Registrar& r) {
//     r.add(my_schema(), keel::make_op<MyOp>);
//   }
//   KEEL_PLUGIN("myplugin", "0.1.0", register_ops)
//
// Everything here is compiled into the plugin: a plugin built with another
// compiler or C++ standard library than the runner's loads all the same
// (docs/abi.md).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "keel/abi.h"
#include "keel/codec.hpp"
#include "keel/detail/export_codecs.hpp"
#include "keel/detail/export_ops.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"
#include "keel/version.hpp"

namespace keel {

class Registrar {
 public:
  virtual void add(OpSchema schema, OpFactory factory) = 0;

 protected:
  ~Registrar() = default;
};

namespace detail {

// What a plugin registered, in C form, owned for as long as the plugin is
// loaded (a function-local static of the entry function).
class ExportedPlugin final : Registrar, CodecRegistrar {
 public:
  ExportedPlugin(const char* name, const char* version, void (*register_ops)(Registrar&),
                 void (*register_codecs)(CodecRegistrar&)) {
    table_.abi_version = KEEL_ABI_VERSION;
    table_.table_size = sizeof(keel_plugin_table);
    table_.name = name;
    table_.version = version;
    table_.op_entry_size = sizeof(keel_op_entry);
    table_.codec_entry_size = sizeof(keel_codec_entry);
    const char* stage = "registering ops";
    try {
      if (register_ops) register_ops(*this);
      stage = "registering codecs";
      if (register_codecs) register_codecs(*this);
      stage = "registering ops";
      for (std::size_t i = 0; i < schemas_.size(); ++i)
        ops_.push_back(OpTrampolines::entry(*schemas_[i], factories_[i]));
      for (const auto& c : codecs_)
        codec_entries_.push_back(CodecTrampolines::entry(c.name.c_str(), c.doc.c_str(), c.factory));
    } catch (const std::exception& e) {
      fail(stage, std::string("failed: ") + e.what());
    } catch (...) {
      fail(stage, "failed with an unknown exception");
    }
    table_.ops = ops_.data();
    table_.n_ops = ops_.size();
    table_.codecs = codec_entries_.data();
    table_.n_codecs = codec_entries_.size();
  }

  const keel_plugin_table* table() const { return &table_; }

 private:
  struct CodecDef {
    std::string name, doc;
    CodecFactory factory;
  };

  void add(OpSchema schema, OpFactory factory) override {
    schemas_.push_back(std::make_unique<ExportedSchema>(std::move(schema)));
    factories_.push_back(factory);
  }
  void add(std::string name, std::string doc, CodecFactory factory) override {
    codecs_.push_back({std::move(name), std::move(doc), factory});
  }
  void fail(const char* stage, const std::string& what) {
    error_ = std::string(stage) + " " + what;
    ops_.clear();
    codec_entries_.clear();
    table_.error = error_.c_str();
  }

  keel_plugin_table table_{};
  std::vector<std::unique_ptr<ExportedSchema>> schemas_;
  std::vector<OpFactory> factories_;
  std::vector<CodecDef> codecs_;
  std::vector<keel_op_entry> ops_;
  std::vector<keel_codec_entry> codec_entries_;
  std::string error_;
};

}  // namespace detail
}  // namespace keel

#define KEEL_PLUGIN_WITH_CODECS(plugin_name, plugin_version, register_fn, register_codecs_fn)              \
  extern "C" __attribute__((visibility("default"))) const keel_plugin_table* keel_get_plugin_table(void) { \
    static const ::keel::detail::ExportedPlugin plugin(plugin_name, plugin_version, register_fn,           \
                                                       register_codecs_fn);                                \
    return plugin.table();                                                                                 \
  }

#define KEEL_PLUGIN(plugin_name, plugin_version, register_fn) \
  KEEL_PLUGIN_WITH_CODECS(plugin_name, plugin_version, register_fn, nullptr)
