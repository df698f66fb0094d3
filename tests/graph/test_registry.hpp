// An in-process registry for graph tests: no plugin library is loaded. It
// mirrors the schemas of the `nn` plugin (add, mul, scale, relu, matmul) and
// adds a `fixtures` plugin whose ops exercise what nn's ops cannot: ranged,
// choice, required and list attributes, and several output ports.
#pragma once

#include <string>

#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "registry/registry.hpp"

namespace keel::test {

// Built once; ops: add, mul, scale, relu, matmul (plugin "nn"),
// fixture, split (plugin "fixtures"). searched = {"/opt/keel/plugins", "plugins"}.
const Registry& graph_test_registry();

// parse_graph_text + validate_graph against graph_test_registry().
ValidatedGraph validate_text(const std::string& yaml, const std::string& file = "g.yaml");

}  // namespace keel::test
