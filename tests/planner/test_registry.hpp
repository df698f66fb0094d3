// A registry holding test ops as if one plugin (name.so) had registered
// them, for the planner tests that build graphs from ops defined in the test.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "registry/registry.hpp"

namespace plantest {

inline keel::Registry registry_of(const std::string& plugin, std::vector<keel::OpEntry> ops) {
  keel::Registry r;
  auto info = std::make_shared<keel::PluginInfo>();
  info->name = plugin;
  info->file = plugin + ".so";
  r.add_plugin(info, std::move(ops));
  return r;
}

}  // namespace plantest
