#include "registry/registry.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace keel {

void Registry::add_plugin(std::shared_ptr<PluginInfo> plugin, std::vector<OpEntry> ops) {
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
  std::shared_ptr<const PluginInfo> shared = plugin;
  for (auto& op : ops) {
    plugin->ops.push_back(op.schema.name);
    op.plugin = shared;
    std::string name = op.schema.name;
    ops_.emplace(std::move(name), std::move(op));
  }
  plugins_.push_back(std::move(shared));
}

const OpEntry* Registry::find(const std::string& op) const {
  auto it = ops_.find(op);
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::op_names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : ops_) names.push_back(name);
  return names;  // std::map keeps them sorted
}

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

}  // namespace keel
