// How long a very large graph takes to parse, validate and shape-check (what
// `keel validate` does), against the bundled plugins. The graph is a chain of
// N nodes alternating relu and add (each add also reads the node two back),
// so every node has inputs to resolve and the cycle check walks every edge.
//
//   bench_validate [NODES]      default 100000; prints seconds per phase
//
// Reported as times, not ratios: there is no peer tool that reads Keel's
// graph files. Issue 9's target: 100,000 nodes validate in under a second.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  using namespace keel;
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  std::string yaml = "keel: 1\nname: chain\ninputs:\n  x: {dtype: f32, shape: [batch, 16]}\nnodes:\n";
  yaml.reserve(static_cast<std::size_t>(n) * 48);
  std::string prev2 = "x", prev = "x";
  for (long i = 0; i < n; ++i) {
    const std::string name = "n" + std::to_string(i);
    if (i % 2 == 0)
      yaml += "  - {name: " + name + ", op: relu, inputs: [" + prev + "]}\n";
    else
      yaml += "  - {name: " + name + ", op: add, inputs: [" + prev + ", " + prev2 + "]}\n";
    prev2 = prev;
    prev = name;
  }
  yaml += "outputs: [" + prev + "]\n";

  Registry registry;
  load_plugins(registry, {KEEL_BENCH_BUNDLED_PLUGINS});

  const auto t0 = bench::Clock::now();
  GraphDef def = parse_graph_text(yaml, "chain.yaml");
  const double parse_s = bench::seconds_since(t0);
  const auto t1 = bench::Clock::now();
  ValidatedGraph graph = validate_graph(std::move(def), registry);
  const double validate_s = bench::seconds_since(t1);
  const auto t2 = bench::Clock::now();
  Plan plan(graph, registry);
  plan.infer_symbolic();
  const double infer_s = bench::seconds_since(t2);

  std::printf("graph of %ld nodes (%.1f MB of YAML)\n", n, static_cast<double>(yaml.size()) / 1e6);
  std::printf("  parse           %.3f s\n", parse_s);
  std::printf("  validate        %.3f s\n", validate_s);
  std::printf("  plan + infer    %.3f s\n", infer_s);
  std::printf("  total           %.3f s (keel validate's work)\n", parse_s + validate_s + infer_s);
  return 0;
}
