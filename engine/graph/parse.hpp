// YAML text -> GraphDef. Checks everything that needs no plugin: YAML
// syntax, duplicate keys, unknown keys (with a did-you-mean), required keys,
// the `keel:` version, value kinds, dtype names, duplicate names. Every
// error is a keel::Error (exit code 2) with FILE:LINE:COL.
#pragma once

#include <filesystem>
#include <string>

#include "graph/graph_def.hpp"

namespace keel {

// The graph file format versions this engine reads.
constexpr int kGraphFormatVersion = 1;

GraphDef parse_graph_file(const std::filesystem::path& path);

struct TrainDef;

// `--set train.PATH=VALUE` (PATH such as `epochs`, `data.batch`,
// `optimizer.lr`, `optimizer.schedule.kind`): VALUE is read as YAML and
// checked as the same key in the file would be. keel::Error (usage) naming
// the setting.
void apply_train_setting(TrainDef& train, const std::string& path, const std::string& value);

// For tests and tools: parse text as if it came from a file named `file`.
GraphDef parse_graph_text(const std::string& text, const std::string& file);

}  // namespace keel
