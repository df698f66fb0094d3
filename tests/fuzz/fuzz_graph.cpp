// YAML graph text through parsing and validation, against a fixed op set
// (the graph tests' in-process registry: nn's arithmetic ops plus ops with
// every attribute kind). Every failure must be a keel::Error with exit code
// 2 and a one-line message; anything else (another exception, a crash, a
// hang, a leak) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "graph/dot.hpp"
#include "test_registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    keel::ValidatedGraph g = keel::test::validate_text(text, "fuzz.yaml");
    keel::fuzz::require(g.topo_order.size() == g.nodes.size(), "topological order covers every node");
    for (const keel::Error& w : g.warnings) keel::fuzz::require_one_line(w.format());
    keel::fuzz::require(!keel::graph_to_dot(g).empty(), "a valid graph exports to dot");
  } catch (const keel::Error& e) {
    keel::fuzz::require(e.code() == keel::ExitCode::usage, "graph errors are usage errors (exit 2)");
    keel::fuzz::require_one_line(e.format());
  }
  return 0;
}
