// Parameter initialization from a counter-based generator keyed by
// (seed, parameter name): element i of a parameter depends only on the seed,
// the name and i, so initial values never depend on node order, thread
// count, or which other parameters exist.
//
// Each parameter starts as its op's schema says (ParamSpec::init) unless its
// node chooses another initializer in the graph file (`init:`, InitDef).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/random.hpp"
#include "graph/graph_def.hpp"
#include "graph/validate.hpp"
#include "keel/schema.hpp"
#include "runtime/tensor.hpp"

namespace keel {

// Fills an f32 tensor according to `init`; fan-in/out as in PyTorch.
void initialize(Tensor& tensor, Init init, std::uint64_t seed, std::string_view name);

// Fills an f32 tensor with a graph file's initializer (kinds as
// graph/parse.cpp accepts them), with torch.nn.init's formulas: xavier and
// kaiming are xavier_uniform_ and kaiming_uniform_ (a = 0, fan_in).
void initialize(Tensor& tensor, const InitDef& init, std::uint64_t seed, std::string_view name);

// A parameter `<node>.<param>` as the graph wants it: the node's `init:`
// entry for it when there is one, else the schema's initializer.
void initialize_parameter(Tensor& tensor, const ParamSpec& spec, const GraphDef& graph,
                          const std::string& name);

// Every `init:` key names a parameter of its node's op. keel::Error (usage)
// at the key, with a did-you-mean.
void check_node_inits(const ValidatedGraph& graph);

}  // namespace keel
