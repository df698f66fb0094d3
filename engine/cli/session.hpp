// What every graph-reading subcommand does first: load the plugins, parse
// the graph file, apply --set overrides, validate, print warnings.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "graph/validate.hpp"
#include "registry/registry.hpp"

namespace keel::cli {

// Under --require-signed (or KEEL_REQUIRE_SIGNED=1), installs the input
// check that refuses every file not signed by a key of the trust folder.
void install_trust_policy(const Common& common);

// Installs the trust policy, then loads the plugins on the search path; prints the loader's warnings unless
// quiet. Without `failures` a broken plugin throws; with it, see
// load_plugins.
Registry load_registry(const Common& common, std::vector<Error>* failures = nullptr);

// For the commands that need file codecs only (keygen, encrypt, decrypt):
// loads the plugin that provides Keel's own codecs (keel_encrypt.so, the
// first on the search path) and no other, so that a command on one file
// does not start oneDNN and every op library. When `enough` says that plugin
// does not serve the command (a codec of another plugin, a file no codec of
// it recognizes), every plugin is loaded as load_registry does. Every folder
// and plugin file is warned about as load_registry does, once.
Registry load_codec_registry(const Common& common, const std::function<bool(const Registry&)>& enough);

// Parses and validates; warnings go to stderr unless quiet.
ValidatedGraph load_graph(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                          const Registry& registry, const Common& common);

// Applies `seed=N` and `NODE.ATTR=VALUE` (VALUE a scalar or [a, b, ...]).
void apply_overrides(GraphDef& def, const std::vector<std::string>& overrides);

}  // namespace keel::cli
