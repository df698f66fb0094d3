// Which ops exist, what their schemas say, and which plugin file each came
// from. The registry knows nothing of how plugins are loaded (that is the
// loader's job); it keeps each plugin's library handle alive through an
// opaque shared_ptr so that every op object made from it can outlive the
// loader and even the registry.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keel/codec.hpp"
#include "keel/import.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"

namespace keel {

struct PluginInfo {
  std::string name;
  std::string version;
  std::filesystem::path file;
  std::vector<std::string> ops;         // in registration order
  std::vector<std::string> codecs;      // file codecs (keel/codec.hpp), in registration order
  std::shared_ptr<const void> library;  // keeps the shared library mapped
};

struct OpEntry {
  OpSchema schema;
  OpMaker factory;
  std::shared_ptr<const PluginInfo> plugin;
};

// An op or codec object together with the library that holds its code.
// Members are destroyed in reverse order, so the object goes before its
// library.
template <class T>
class PluginObject {
 public:
  PluginObject(std::shared_ptr<const void> library, std::unique_ptr<T> object)
      : library_(std::move(library)), object_(std::move(object)) {}
  PluginObject(PluginObject&&) = default;
  // By hand: the old object must go before the old library reference does.
  PluginObject& operator=(PluginObject&& other) noexcept {
    object_.reset();
    object_ = std::move(other.object_);
    library_ = std::move(other.library_);
    return *this;
  }
  ~PluginObject() { object_.reset(); }  // explicit: members would go in this order anyway
  T& operator*() const { return *object_; }
  T* operator->() const { return object_.get(); }

 private:
  std::shared_ptr<const void> library_;
  std::unique_ptr<T> object_;
};

using OpInstance = PluginObject<Op>;

struct CodecEntry {
  std::string name;
  std::string doc;
  CodecMaker factory;
  std::shared_ptr<const PluginInfo> plugin;
};

using CodecInstance = PluginObject<Codec>;

class Registry {
 public:
  // Adds a plugin and its ops. Throws keel::Error (usage) when an op name is
  // already registered, naming both plugin files.
  // Codec names are checked the same way, in their own name space.
  void add_plugin(std::shared_ptr<PluginInfo> plugin, std::vector<OpEntry> ops,
                  std::vector<CodecEntry> codecs = {});

  const OpEntry* find(const std::string& op) const;
  std::vector<std::string> op_names() const;  // sorted
  const std::vector<std::shared_ptr<const PluginInfo>>& plugins() const { return plugins_; }

  // The folders the loader searched, in order, for "unknown op" messages.
  std::vector<std::filesystem::path> searched;
  // What the loader found worrying but not fatal (a plugin folder others
  // can write to); the CLI prints each as `keel: warning: ...`.
  std::vector<std::string> warnings;

  // Calls the op's factory; converts an exception or a null result into a
  // keel::Error naming the op and plugin.
  OpInstance create(const OpEntry& entry, const Attrs& attrs) const;

  const CodecEntry* find_codec(const std::string& name) const;
  std::vector<std::string> codec_names() const;  // sorted
  // Calls the codec's factory; keel::Error (runtime) naming the codec and
  // plugin when it throws or returns nothing.
  CodecInstance create_codec(const CodecEntry& entry) const;

 private:
  std::map<std::string, OpEntry> ops_;
  std::map<std::string, CodecEntry> codecs_;
  std::vector<std::shared_ptr<const PluginInfo>> plugins_;
};

}  // namespace keel
