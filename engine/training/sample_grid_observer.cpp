#include "training/sample_grid_observer.hpp"

#include <optional>

#include "base/error.hpp"
#include "executor/executor.hpp"
#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "images/graph_images.hpp"

namespace keel {

struct SampleGridObserver::State {
  const Plan& training;
  const SamplesDef& def;
  std::filesystem::path output_dir;
  std::optional<ValidatedGraph> graph;
  std::optional<Plan> plan;
  std::optional<Executor> exec;
  // Per parameter of the sampling graph: the training plan's of that name.
  std::vector<const Parameter*> sources;
  std::size_t output = 0;
  ImageGrid grid;

  State(const Plan& t, const SamplesDef& d, const std::filesystem::path& dir)
      : training(t), def(d), output_dir(dir) {}
};

namespace {

// The sampling graph, loaded and checked against the training plan's
// parameters (names and shapes; a parameter without elements, such as an
// output guard's unused statistics, needs no match).
struct Loaded {
  ValidatedGraph graph;
  std::size_t output = 0;
};

Loaded load_samples(const Plan& training, const Registry& registry, const SamplesDef& def) {
  const SourceLoc at = training.graph().loc(def.loc);
  const std::string name = "train.samples: '" + def.graph + "'";
  GraphDef parsed;
  try {
    parsed = parse_graph_file(def.graph);
  } catch (const Error& e) {
    // The sampling graph's own line:column says what is wrong with it.
    throw Error(e.code(), e.message(), e.loc().file.empty() ? at : e.loc(), e.subject());
  }
  Loaded l{validate_graph(std::move(parsed), registry), 0};
  const GraphDef& g = l.graph.def;
  if (!g.inputs.empty())
    throw usage_error(name + " has inputs; a sampling graph draws its own (noise) and has none", at);
  if (g.images.empty()) throw usage_error(name + " has no images: entry, so there is no picture to draw", at);
  l.output = image_output_index(g, g.images.front());
  return l;
}

void match_params(const Plan& training, const Plan& samples, const SamplesDef& def,
                  std::vector<const Parameter*>* sources) {
  for (const Parameter& p : samples.params()) {
    const Parameter* src = nullptr;
    for (const Parameter& q : training.params())
      if (q.name == p.name) src = &q;
    if (!src && numel(p.shape) == 0) {
      if (sources) sources->push_back(nullptr);
      continue;
    }
    if (!src || src->shape != p.shape)
      throw usage_error("train.samples: '" + def.graph + "': parameter '" + p.name + "' " +
                            (src ? "has another shape in the training graph"
                                 : "is not in the training graph (the sampling graph's nodes must "
                                   "have the training graph's names)"),
                        training.graph().loc(def.loc));
    if (sources) sources->push_back(src);
  }
}

}  // namespace

void check_samples(const Plan& training, const Registry& registry, const SamplesDef& def) {
  const Loaded l = load_samples(training, registry, def);
  Plan plan(l.graph, registry);
  plan.infer_symbolic();
  match_params(training, plan, def, nullptr);
}

SampleGridObserver::SampleGridObserver(const Plan& training, const Registry& registry, const SamplesDef& def,
                                       const std::filesystem::path& output_dir)
    : s_(std::make_unique<State>(training, def, output_dir)) {
  State& s = *s_;
  Loaded l = load_samples(training, registry, def);
  s.output = l.output;
  s.grid = image_grid(l.graph.def.images.front());
  s.graph.emplace(std::move(l.graph));
  s.plan.emplace(*s.graph, registry);
  s.plan->bind({}, false);  // allocates its parameters, to be overwritten by the trained ones
  match_params(training, *s.plan, def, &s.sources);
  s.exec.emplace(*s.plan);
}

SampleGridObserver::~SampleGridObserver() = default;

void SampleGridObserver::on_epoch(const EpochInfo& e) {
  State& s = *s_;
  if ((e.epoch + 1) % s.def.every != 0 && !e.last) return;
  for (std::size_t i = 0; i < s.sources.size(); ++i) {
    if (!s.sources[i]) continue;
    Tensor& dst = s.plan->params()[i].value;
    const Tensor& src = s.sources[i]->value;
    std::copy_n(src.as<float>(), src.numel(), dst.as<float>());
  }
  const std::vector<Tensor> out = s.exec->run({}, false);
  write_epoch_samples(s.output_dir, e.epoch + 1, out[s.output], s.grid, "the samples of " + s.def.graph);
}

}  // namespace keel
