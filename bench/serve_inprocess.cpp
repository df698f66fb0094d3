// The serving benchmark's floor: the inference graph run in process, as
// `keel run GRAPH --params CKPT` runs it (plugins from the build, the graph
// parsed, validated and planned, the checkpoint loaded, Executor::run), on
// the very batches the load generator sends. `keel serve` latency minus this
// is what the server itself costs per request.
//
// usage: serve_inprocess GRAPH CKPT ROWS.npy... [--quick] [--optimize]
// --optimize runs the graph as `keel run` does for inference, after its
// plan-time rewrites (optimize/inference_passes.hpp); keel serve does not.
// Prints a JSON list, one object per file: {"rows": N, "us": median µs per
// Executor::run}. Medians of 15 rounds (3 with --quick), each sample
// repeated to last about 20 ms.
#include <iostream>

#include "bench_util.hpp"
#include "optimize/inference_passes.hpp"
#include "runtime/npy.hpp"
#include "training/checkpoint.hpp"

int main(int argc, char** argv) {
  using namespace keel;
  using namespace keel::bench;
  std::vector<std::string> args;
  bool optimize = false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--optimize")
      optimize = true;
    else if (std::string(argv[i]) != "--quick")
      args.emplace_back(argv[i]);
  if (args.size() < 3) {
    std::fprintf(stderr, "usage: serve_inprocess GRAPH CKPT ROWS.npy... [--quick]\n");
    return 2;
  }
  return bench_main("serve_inprocess", argc, argv, [&](bool quick) {
    const auto registry = load_registry();
    ValidatedGraph graph = validate_graph(parse_graph_file(args[0]), *registry);
    Plan plan(graph, *registry);
    plan.infer_symbolic();
    load_checkpoint(args[1], plan, nullptr);
    std::unique_ptr<OptimizedPlan> optimized;
    if (optimize) optimized = optimize_for_inference(graph, plan, *registry);
    Executor executor(optimized ? *optimized->plan : plan, make_scheduler(1));

    std::vector<std::vector<Tensor>> batches;
    std::vector<Variant> variants;
    for (std::size_t i = 2; i < args.size(); ++i) batches.push_back({read_npy(args[i])});
    for (const auto& batch : batches) variants.push_back({"", [&executor, &batch] { executor.run(batch); }});
    const std::vector<double> s = compare(variants, quick ? 3 : 15);
    std::printf("[");
    for (std::size_t i = 0; i < batches.size(); ++i)
      std::printf("%s{\"rows\": %lld, \"us\": %.3f}", i ? ", " : "",
                  static_cast<long long>(batches[i][0].shape()[0]), s[i] * 1e6);
    std::printf("]\n");
  });
}
