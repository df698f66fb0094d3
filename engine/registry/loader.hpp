// Finds and loads plugin shared libraries (the only code that sees
// Boost.DLL). Search order: the bundled folder next to the runner
// (<prefix>/lib/keel/plugins for <prefix>/bin/keel), then every folder of
// KEEL_PLUGIN_PATH (colon-separated), then each --plugin-path, in order.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "registry/registry.hpp"

namespace keel {

// <dir of the running executable>/../lib/keel/plugins
std::filesystem::path bundled_plugin_dir();

// <dir of the running executable>/../lib/keel: Keel's own libraries that
// are loaded only when a command needs them (keel_mpi.so).
std::filesystem::path module_dir();

// Loads one of those libraries, checked like a plugin under the input check
// (a signed build signs them too), and returns the address of `symbol`. The
// library stays loaded until the process ends. keel::Error (usage) naming
// the file when it is missing, cannot be loaded or lacks the symbol.
void* load_module_symbol(const std::filesystem::path& file, const char* symbol);

// Receives each loader warning as soon as it is known, so that the warning
// about a folder reaches the user before any library in it is loaded.
using WarningSink = std::function<void(const std::string&)>;

// The folders to search, in order, without duplicates. A KEEL_PLUGIN_PATH
// folder that does not exist is kept (reported as searched) but yields
// nothing; a relative one gets a warning (it depends on the working folder).
// A --plugin-path folder (`cli_dirs`) that does not exist is keel::Error
// (usage): it was asked for by name.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::filesystem::path>& cli_dirs,
                                                      const WarningSink& warn = {});

// Loads one plugin file into the registry. Throws keel::Error (usage) with
// an exact message naming the file for: missing file, not a shared library,
// unresolved symbols, no entry symbol, wrong ABI version (expected vs got),
// fingerprint mismatch (the field, expected vs got), an exception or a bad
// schema from register_ops, and duplicate op names (both files).
void load_plugin(Registry& registry, const std::filesystem::path& file);

// Loads every *.so in each folder (sorted by name within a folder) and
// records the folders in registry.searched. A folder (or plugin file) that
// users other than its owner may write to adds a warning to
// registry.warnings, also given to `warn` before the first library of that
// folder (or that file) is loaded: whoever can write there can run code in
// this process.
// Without `failures`, the first plugin that cannot be loaded throws; with
// it, each such plugin's error is appended there and loading goes on (for
// `keel plugins`, which lists the good ones and explains the broken ones).
// With `wanted`, only the plugin files it accepts are loaded (each is asked
// once, in search order); every folder and file is still checked and warned
// about as above, whether it is loaded or not.
using PluginFilter = std::function<bool(const std::filesystem::path& file)>;
void load_plugins(Registry& registry, const std::vector<std::filesystem::path>& dirs,
                  std::vector<Error>* failures = nullptr, const WarningSink& warn = {},
                  const PluginFilter& wanted = {});

}  // namespace keel
