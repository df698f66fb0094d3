// Batchnorm folding: the rewrite of the graph definition, then the new plan
// with the old parameters carried over by name and the folded layers'
// weights and biases computed (in double, rounded once).
#include "optimize/fold_batchnorm.hpp"

#include <cmath>
#include <map>
#include <set>

namespace keel {

namespace {

const Parameter* find_param(const Plan& plan, const std::string& name) {
  for (const Parameter& p : plan.params())
    if (p.name == name) return &p;
  return nullptr;
}

struct Fold {
  int layer = 0, norm = 0;  // node indices
};

}  // namespace

std::unique_ptr<OptimizedPlan> fold_batchnorm(const ValidatedGraph& graph, const Plan& plan,
                                              const Registry& registry) {
  const GraphDef& def = graph.def;
  // How many times each node's first output is read (nodes, outputs, images).
  std::map<std::string, int> readers;
  std::set<std::string> graph_outputs;
  for (const NodeDef& n : def.nodes)
    for (const ValueRef& r : n.inputs) ++readers[r.text()];
  for (const ValueRef& r : def.outputs) {
    ++readers[r.text()];
    graph_outputs.insert(r.text());
  }
  for (const ImageDef& d : def.images) ++readers[d.output];
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < def.nodes.size(); ++i) index[def.nodes[i].name] = static_cast<int>(i);

  std::vector<Fold> folds;
  for (std::size_t i = 0; i < def.nodes.size(); ++i) {
    const NodeDef& bn = def.nodes[i];
    if (bn.op != "batchnorm" || bn.inputs.size() != 1 || !bn.inputs[0].port.empty()) continue;
    if (graph_outputs.count(bn.name)) continue;
    auto it = index.find(bn.inputs[0].name);
    if (it == index.end()) continue;  // a graph input
    const NodeDef& layer = def.nodes[std::size_t(it->second)];
    if (layer.op != "linear" && layer.op != "conv2d") continue;
    if (readers[layer.name] != 1 || !graph.nodes[std::size_t(it->second)].attrs.b("bias")) continue;
    // The channel axis of batchnorm (1) must be the layer's output units.
    const int slot = plan.value_slot(ValueId{it->second, 0});
    if (layer.op == "linear" && plan.values()[std::size_t(slot)].shape.size() != 2) continue;
    folds.push_back({it->second, static_cast<int>(i)});
  }
  if (folds.empty()) return nullptr;

  // The graph without the folded batchnorms, their readers reading the layers.
  GraphDef out = def;
  std::map<std::string, std::string> renamed;
  std::set<std::string> removed;
  for (const Fold& f : folds) {
    renamed[def.nodes[std::size_t(f.norm)].name] = def.nodes[std::size_t(f.layer)].name;
    removed.insert(def.nodes[std::size_t(f.norm)].name);
  }
  out.nodes.clear();
  for (const NodeDef& n : def.nodes) {
    if (removed.count(n.name)) continue;
    NodeDef copy = n;
    for (ValueRef& r : copy.inputs)
      if (r.port.empty() && renamed.count(r.name)) r.name = renamed[r.name];
    out.nodes.push_back(std::move(copy));
  }

  auto result = std::make_unique<OptimizedPlan>();
  result->graph = std::make_unique<ValidatedGraph>(validate_graph(std::move(out), registry));
  result->plan = std::make_unique<Plan>(*result->graph, registry);
  result->plan->infer_symbolic();

  // Folded weights and biases, by parameter name.
  std::map<std::string, Tensor> computed;
  for (const Fold& f : folds) {
    const std::string& layer = def.nodes[std::size_t(f.layer)].name;
    const std::string& norm = def.nodes[std::size_t(f.norm)].name;
    const double eps = graph.nodes[std::size_t(f.norm)].attrs.f("epsilon");
    const Tensor& w = find_param(plan, layer + ".weight")->value;
    const Tensor& b = find_param(plan, layer + ".bias")->value;
    const float* gamma = find_param(plan, norm + ".gamma")->value.as<float>();
    const float* beta = find_param(plan, norm + ".beta")->value.as<float>();
    const float* mean = find_param(plan, norm + ".running_mean")->value.as<float>();
    const float* var = find_param(plan, norm + ".running_var")->value.as<float>();
    const std::int64_t channels = w.shape()[0], per = w.numel() / channels;
    Tensor w2(DType::f32, w.shape()), b2(DType::f32, b.shape());
    for (std::int64_t c = 0; c < channels; ++c) {
      const double s = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
      for (std::int64_t k = 0; k < per; ++k)
        w2.as<float>()[c * per + k] = static_cast<float>(s * double(w.as<float>()[c * per + k]));
      b2.as<float>()[c] =
          static_cast<float>(s * (double(b.as<float>()[c]) - double(mean[c])) + double(beta[c]));
    }
    computed[layer + ".weight"] = w2;
    computed[layer + ".bias"] = b2;
    result->folded.push_back(norm + " into " + layer);
  }
  for (Parameter& p : result->plan->params()) {
    auto c = computed.find(p.name);
    p.value = c != computed.end() ? c->second : find_param(plan, p.name)->value;
  }
  return result;
}

}  // namespace keel
