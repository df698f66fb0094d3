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

SampleGridObserver::SampleGridObserver(const Plan& training, const Registry& registry, const SamplesDef& def,
                                       const std::filesystem::path& output_dir)
    : s_(std::make_unique<State>(training, def, output_dir)) {
  State& s = *s_;
  const SourceLoc at = training.graph().loc(def.loc);
  s.graph.emplace(validate_graph(parse_graph_file(def.graph), registry));
  const GraphDef& g = s.graph->def;
  const std::string name = "train.samples: '" + def.graph + "'";
  if (!g.inputs.empty())
    throw usage_error(name + " has inputs; a sampling graph draws its own (noise) and has none", at);
  if (g.images.empty()) throw usage_error(name + " has no images: entry, so there is no picture to draw", at);
  s.output = image_output_index(g, g.images.front());
  s.grid = image_grid(g.images.front());
  s.plan.emplace(*s.graph, registry);
  s.plan->bind({}, false);  // allocates its parameters, to be overwritten by the trained ones
  for (const Parameter& p : s.plan->params()) {
    const Parameter* src = nullptr;
    for (const Parameter& q : training.params())
      if (q.name == p.name) src = &q;
    if (!src || src->value.shape() != p.value.shape())
      throw usage_error(name + ": parameter '" + p.name + "' " +
                            (src ? "has another shape in the training graph"
                                 : "is not in the training graph (the sampling graph's nodes must "
                                   "have the training graph's names)"),
                        at);
    s.sources.push_back(src);
  }
  s.exec.emplace(*s.plan);
}

SampleGridObserver::~SampleGridObserver() = default;

void SampleGridObserver::on_epoch(const EpochInfo& e) {
  State& s = *s_;
  if ((e.epoch + 1) % s.def.every != 0 && !e.last) return;
  for (std::size_t i = 0; i < s.sources.size(); ++i) {
    Tensor& dst = s.plan->params()[i].value;
    const Tensor& src = s.sources[i]->value;
    std::copy_n(src.as<float>(), src.numel(), dst.as<float>());
  }
  const std::vector<Tensor> out = s.exec->run({}, false);
  write_epoch_samples(s.output_dir, e.epoch + 1, out[s.output], s.grid, "the samples of " + s.def.graph);
}

}  // namespace keel
