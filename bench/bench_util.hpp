// Timing for the benchmarks. The machine is shared and noisy, so variants
// that are compared are measured side by side: every round runs each
// variant once (in a rotating order, so none always runs first or last),
// and the reported time is the median over rounds of the per-call time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "executor/executor.hpp"
#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "planner/plan.hpp"
#include "registry/loader.hpp"
#include "registry/registry.hpp"

namespace keel::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Variant {
  std::string name;
  std::function<void()> call;
};

// Median seconds per call of each variant. `calls` per sample is chosen so
// a sample of the slowest variant lasts about `sample_s`: short ops are
// repeated enough that the clock's resolution and the loop do not matter.
inline std::vector<double> compare(const std::vector<Variant>& variants, int rounds, double sample_s = 0.02) {
  double slowest = 0;
  for (const Variant& v : variants) {
    for (int i = 0; i < 3; ++i) v.call();  // warm-up: caches, page faults, JIT
    const auto t0 = Clock::now();
    v.call();
    slowest = std::max(slowest, seconds_since(t0));
  }
  const int calls = std::max(1, int(sample_s / std::max(slowest, 1e-9)));
  std::vector<std::vector<double>> samples(variants.size());
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < variants.size(); ++k) {
      const std::size_t i = (k + std::size_t(r)) % variants.size();
      const auto t0 = Clock::now();
      for (int c = 0; c < calls; ++c) variants[i].call();
      samples[i].push_back(seconds_since(t0) / calls);
    }
  }
  std::vector<double> out;
  for (auto& s : samples) out.push_back(median(s));
  return out;
}

// The bundled plugins plus any extra folders, loaded as `keel run` loads them.
inline std::unique_ptr<Registry> load_registry(const std::vector<std::filesystem::path>& extra = {}) {
  auto registry = std::make_unique<Registry>();
  std::vector<std::filesystem::path> dirs{KEEL_BENCH_BUNDLED_PLUGINS};
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  load_plugins(*registry, dirs);
  return registry;
}

// A graph parsed from text, validated, planned and ready to run: what
// `keel run` builds, without the command line and the files. Not movable:
// the plan refers to the graph and the executor to the plan.
class GraphRun {
 public:
  // `inter_op`: nodes run at once (the executor's scheduler, as --inter-op).
  GraphRun(const std::string& yaml, const Registry& registry, int inter_op = 1)
      : graph_(validate_graph(parse_graph_text(yaml, "bench.yaml"), registry)), plan_(graph_, registry) {
    plan_.infer_symbolic();
    exec_ = std::make_unique<Executor>(plan_, make_scheduler(inter_op));
  }
  GraphRun(const GraphRun&) = delete;
  GraphRun& operator=(const GraphRun&) = delete;
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, bool training = false) {
    return exec_->run(inputs, training);
  }
  Plan& plan() { return plan_; }

 private:
  ValidatedGraph graph_;
  Plan plan_;
  std::unique_ptr<Executor> exec_;
};

// A benchmark's main: runs `body(quick)`, quick when `--quick` is among the
// arguments; an error becomes one line "NAME: message" and exit status 1.
template <class Body>
int bench_main(const char* name, int argc, char** argv, Body body) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) quick = quick || std::string(argv[i]) == "--quick";
  try {
    body(quick);
  } catch (const keel::Error& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.format().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace keel::bench
