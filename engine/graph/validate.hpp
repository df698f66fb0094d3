// GraphDef + Registry -> ValidatedGraph: ops exist (or the message says where
// plugins were searched and suggests near names), attributes are typed and in
// range with defaults filled in, every input resolves, no cycle (the cycle is
// printed, found with Boost.Graph), outputs exist. Shapes are not inferred
// here; that needs op objects and is the planner's job.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "graph/graph_def.hpp"
#include "keel/schema.hpp"
#include "keel/tensor.hpp"
#include "registry/registry.hpp"

namespace keel {

// Where a value comes from: graph input `index` (node == -1) or output port
// `index` of node `node` (an index into ValidatedGraph::nodes).
struct ValueId {
  int node = -1;
  int index = 0;
  friend bool operator==(const ValueId&, const ValueId&) = default;
  friend auto operator<=>(const ValueId&, const ValueId&) = default;
};

// nodes[i] is the validated form of def.nodes[i].
struct ValidatedNode {
  const OpEntry* entry = nullptr;  // owned by the Registry, which must outlive this
  Attrs attrs;                     // complete: defaults filled in
  std::vector<ValueId> inputs;     // one per schema input
};

struct ValidatedGraph {
  GraphDef def;
  std::vector<ValidatedNode> nodes;     // same order as def.nodes
  std::vector<int> topo_order;          // every node, dependencies first
  std::vector<ValueId> outputs;         // one per def.outputs
  std::vector<std::string> symbols;     // named dimensions; symbol i is symbolic_dim(i)
  std::vector<TensorSpec> input_specs;  // one per def.inputs, symbols encoded
  std::vector<Error> warnings;          // e.g. a node that feeds no output

  SourceLoc loc(const Loc& l) const { return {def.file, l.line, l.col}; }
  ErrorSubject subject(int node) const;  // node, op and plugin names
};

ValidatedGraph validate_graph(GraphDef def, const Registry& registry);

}  // namespace keel
