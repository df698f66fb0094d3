// The train: section of a graph file (graph/train_def.hpp), and the
// `--set train.PATH=VALUE` settings that change it. Only its form is
// checked here; whether it fits the graph (inputs, columns, optimizer
// attributes) is the trainer's check, which knows the graph and the
// registry.
#pragma once

#include <memory>

#include "graph/parse_context.hpp"
#include "graph/train_def.hpp"

namespace keel {

// `e` is the top-level `train:` entry.
std::shared_ptr<TrainDef> parse_train(ParseContext& cx, const Entry& e);

}  // namespace keel
