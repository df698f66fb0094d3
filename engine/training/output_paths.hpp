// Where a training run writes. Every file a graph names for writing (the
// checkpoint, the metrics file) lies inside --output-dir, and no two of the
// run's files are the same file or a folder of another: a graph file is
// input from whoever wrote it, and must not be able to write, or empty, a
// file elsewhere.
//
// Two checks, because the output folder is known only when the graph runs:
// check_output_names (keel validate and run) reads the names alone; a name
// that is absolute, climbs out with `..`, names a folder (`.`, `sub/`) or
// collides is refused with the graph file's line and column.
// check_output_locations (run, before anything is written) resolves the
// names under the real folder and refuses one that a symlink carries outside.
#pragma once

#include <filesystem>
#include <vector>

#include "graph/train_def.hpp"
#include "graph/validate.hpp"

namespace keel {

// The names, relative to the output folder, that a training run of `graph`
// writes besides the graph-named ones: outputs, hold-out data, the guard
// report, the folder lock.
std::vector<std::filesystem::path> reserved_output_names(const ValidatedGraph& graph);

// keel::Error (usage) at the offending name's position.
void check_output_names(const ValidatedGraph& graph, const TrainDef& def);

// keel::Error (usage) when `output_dir / name` of a graph-named file
// resolves (through symlinks that exist now) outside the resolved
// `output_dir`.
void check_output_locations(const ValidatedGraph& graph, const TrainDef& def,
                            const std::filesystem::path& output_dir);

}  // namespace keel
