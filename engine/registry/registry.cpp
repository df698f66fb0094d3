#include "registry/registry.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace keel {

namespace {

// Lookups shared by the op and the codec tables.
template <class Entry>
const Entry* find_entry(const std::map<std::string, Entry>& table, const std::string& name) {
  auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

template <class Entry>
std::vector<std::string> names_of(const std::map<std::string, Entry>& table) {
  std::vector<std::string> names;
  for (const auto& [name, entry] : table) names.push_back(name);
  return names;  // std::map keeps them sorted
}

}  // namespace

void Registry::add_plugin(std::shared_ptr<PluginInfo> plugin, std::vector<OpEntry> ops,
                          std::vector<CodecEntry> codecs) {
  // Check every name first so a failed plugin adds nothing at all.
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const std::string& name = ops[i].schema.name;
    if (auto it = ops_.find(name); it != ops_.end()) {
      throw usage_error("op '" + name + "' is registered by two plugins: '" +
                            it->second.plugin->file.string() + "' and '" + plugin->file.string() + "'",
                        {}, {"", name, plugin->name});
    }
    for (std::size_t j = 0; j < i; ++j)
      if (ops[j].schema.name == name)
        throw usage_error("op '" + name + "' is registered twice by '" + plugin->file.string() + "'", {},
                          {"", name, plugin->name});
  }
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    const std::string& name = codecs[i].name;
    if (auto it = codecs_.find(name); it != codecs_.end())
      throw usage_error("codec '" + name + "' is registered by two plugins: '" +
                        it->second.plugin->file.string() + "' and '" + plugin->file.string() + "'");
    for (std::size_t j = 0; j < i; ++j)
      if (codecs[j].name == name)
        throw usage_error("codec '" + name + "' is registered twice by '" + plugin->file.string() + "'");
  }
  std::shared_ptr<const PluginInfo> shared = plugin;
  for (auto& c : codecs) {
    plugin->codecs.push_back(c.name);
    c.plugin = shared;
    std::string name = c.name;
    codecs_.emplace(std::move(name), std::move(c));
  }
  for (auto& op : ops) {
    plugin->ops.push_back(op.schema.name);
    op.plugin = shared;
    std::string name = op.schema.name;
    ops_.emplace(std::move(name), std::move(op));
  }
  plugins_.push_back(std::move(shared));
}

const OpEntry* Registry::find(const std::string& op) const { return find_entry(ops_, op); }

std::vector<std::string> Registry::op_names() const { return names_of(ops_); }

OpInstance Registry::create(const OpEntry& entry, const Attrs& attrs) const {
  const std::string plugin = entry.plugin ? entry.plugin->name : "";
  std::unique_ptr<Op> op;
  try {
    op = entry.factory(attrs);
  } catch (const std::exception& e) {
    throw runtime_error(std::string("creating the op failed: ") + e.what(), {},
                        {"", entry.schema.name, plugin});
  } catch (...) {
    throw runtime_error("creating the op failed with an unknown exception", {},
                        {"", entry.schema.name, plugin});
  }
  if (!op) throw runtime_error("the op factory returned nothing", {}, {"", entry.schema.name, plugin});
  return OpInstance(entry.plugin ? entry.plugin->library : nullptr, std::move(op));
}

const CodecEntry* Registry::find_codec(const std::string& name) const { return find_entry(codecs_, name); }

std::vector<std::string> Registry::codec_names() const { return names_of(codecs_); }

CodecInstance Registry::create_codec(const CodecEntry& entry) const {
  const std::string where =
      "codec '" + entry.name + "' (plugin '" + (entry.plugin ? entry.plugin->name : "") + "')";
  std::unique_ptr<Codec> codec;
  try {
    codec = entry.factory();
  } catch (const std::exception& e) {
    throw runtime_error("creating " + where + " failed: " + e.what());
  } catch (...) {
    throw runtime_error("creating " + where + " failed with an unknown exception");
  }
  if (!codec) throw runtime_error(where + ": the factory returned nothing");
  return CodecInstance(entry.plugin ? entry.plugin->library : nullptr, std::move(codec));
}

}  // namespace keel
