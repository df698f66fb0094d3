// Graphviz export of a validated graph (via Boost.Graph's write_graphviz).
#pragma once

#include <string>

#include "graph/validate.hpp"

namespace keel {

// Nodes are boxes labelled "name\nop", graph inputs and outputs are
// ellipses, edges carry the port name when it is not the first output;
// nodes are coloured by the plugin that provides their op, with a legend.
// In a graph with a train: section, the nodes no output depends on (the loss
// and anything feeding only it) are dashed and labelled "(training only)",
// and the optimizer appears as a dashed note fed by the loss.
std::string graph_to_dot(const ValidatedGraph& graph);

}  // namespace keel
