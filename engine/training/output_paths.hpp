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

// The names, relative to the output folder, that a run of `graph` writes
// besides the graph-named ones: outputs, the guard report, the folder lock
// and, when training, the hold-out data.
std::vector<std::filesystem::path> reserved_output_names(const ValidatedGraph& graph, bool training);

// keel::Error (usage) at the offending name's position.
void check_output_names(const ValidatedGraph& graph, const TrainDef& def);

// Every file a run writes into `output_dir` (the graph-named ones of `def`,
// when training, and the run's own), checked before anything is written;
// keel::Error (usage) when one resolves, through symbolic links that exist
// now, outside the resolved `output_dir`, when two resolve to the same file
// (or one to a folder of another), or when one exists and is not a regular
// file (a folder, a FIFO: found now, not after training).
void check_output_locations(const ValidatedGraph& graph, const TrainDef* def,
                            const std::filesystem::path& output_dir);

}  // namespace keel
