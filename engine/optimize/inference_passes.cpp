// The inference rewrites: on the graph definition first (nodes removed,
// readers renamed, attributes set), then one new plan with the old
// parameters carried over by name and the folded layers' weights and
// biases computed (in double, rounded once).
#include "optimize/inference_passes.hpp"

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

// The graph definition being rewritten, with who reads what.
class Rewrite {
 public:
  Rewrite(const ValidatedGraph& graph, const Plan& plan) : graph_(graph), plan_(plan), def_(graph.def) {}

  GraphDef& def() { return def_; }
  std::vector<std::string> changes;
  std::map<std::string, Tensor> params;  // computed parameter values by name

  // A node `op` reading the first output of a layer in `layers` that
  // nothing else reads; `act(node, layer)` decides and does the rest.
  template <class Act>
  void each_pair(const std::string& op, const std::set<std::string>& layers, Act act) {
    for (std::size_t i = 0; i < def_.nodes.size(); ++i) {
      const NodeDef& n = def_.nodes[i];
      if (n.op != op || n.inputs.size() != 1 || !n.inputs[0].port.empty() || outputs().count(n.name))
        continue;
      const int l = index_of(n.inputs[0].name);
      if (l < 0 || !layers.count(def_.nodes[std::size_t(l)].op) ||
          readers(def_.nodes[std::size_t(l)].name) != 1)
        continue;
      if (!act(n, def_.nodes[std::size_t(l)])) continue;
      remove(i, def_.nodes[std::size_t(l)].name);
      --i;
    }
  }

  // The original graph's view of a node (attributes with defaults, shapes).
  const ValidatedNode& original(const std::string& name) const {
    return graph_.nodes[std::size_t(original_index(name))];
  }
  const Shape& original_output_shape(const std::string& name) const {
    return plan_.values()[std::size_t(plan_.value_slot(ValueId{original_index(name), 0}))].shape;
  }
  const Tensor& param(const std::string& name) const {
    auto it = params.find(name);
    return it != params.end() ? it->second : find_param(plan_, name)->value;
  }

  int original_index(const std::string& name) const {
    for (std::size_t i = 0; i < graph_.def.nodes.size(); ++i)
      if (graph_.def.nodes[i].name == name) return static_cast<int>(i);
    return -1;
  }
  int index_of(const std::string& name) const {
    for (std::size_t i = 0; i < def_.nodes.size(); ++i)
      if (def_.nodes[i].name == name) return static_cast<int>(i);
    return -1;
  }
  std::set<std::string> outputs() const {
    std::set<std::string> out;
    for (const ValueRef& r : def_.outputs) out.insert(r.text());
    for (const ImageDef& d : def_.images) out.insert(d.output);
    return out;
  }
  int readers(const std::string& name) const {
    int n = static_cast<int>(outputs().count(name));
    for (const NodeDef& node : def_.nodes)
      for (const ValueRef& r : node.inputs) n += r.text() == name;
    return n;
  }
  // Removes node i; its readers read `to`.
  void remove(std::size_t i, const std::string& to) {
    const std::string gone = def_.nodes[i].name;
    def_.nodes.erase(def_.nodes.begin() + static_cast<std::ptrdiff_t>(i));
    for (NodeDef& n : def_.nodes)
      for (ValueRef& r : n.inputs)
        if (r.port.empty() && r.name == gone) r.name = to;
  }

  // The original graph's shape of a value: a graph input or a node output.
  const Shape* original_shape(const ValueRef& r) const {
    for (std::size_t i = 0; i < graph_.def.inputs.size(); ++i)
      if (r.port.empty() && graph_.def.inputs[i].name == r.name) return &graph_.input_specs[i].shape;
    const int node = original_index(r.name);
    if (node < 0 || !r.port.empty()) return nullptr;
    return &plan_.values()[std::size_t(plan_.value_slot(ValueId{node, 0}))].shape;
  }

 private:
  const ValidatedGraph& graph_;
  const Plan& plan_;
  GraphDef def_;
};

// An attribute value as if written at `loc` (the rewritten node's place,
// for any message).
AttrLiteral literal(const std::string& text, const Loc& loc) {
  AttrLiteral a;
  a.items = {text};
  a.item_locs = {loc};
  a.item_quoted = {false};
  a.loc = a.name_loc = loc;
  return a;
}

void fold_batchnorms(Rewrite& rw) {
  rw.each_pair("batchnorm", {"linear", "conv2d"}, [&](const NodeDef& bn, const NodeDef& layer) {
    // A layer without a bias (usual before a batchnorm) gets one: the
    // fold's shift. Its bias parameter exists either way, unused until now.
    const bool had_bias = rw.original(layer.name).attrs.b("bias");
    // A layer that already applies an activation computes relu(W x + b):
    // the batchnorm's affine map does not fold through it.
    const Attrs& la = rw.original(layer.name).attrs;
    if (la.has("activation") && la.s("activation") != "none") return false;
    // The channel axis of batchnorm (1) must be the layer's output units.
    if (layer.op == "linear" && rw.original_output_shape(layer.name).size() != 2) return false;
    const double eps = rw.original(bn.name).attrs.f("epsilon");
    const Tensor& w = rw.param(layer.name + ".weight");
    const Tensor& b = rw.param(layer.name + ".bias");
    const float* gamma = rw.param(bn.name + ".gamma").as<float>();
    const float* beta = rw.param(bn.name + ".beta").as<float>();
    const float* mean = rw.param(bn.name + ".running_mean").as<float>();
    const float* var = rw.param(bn.name + ".running_var").as<float>();
    const std::int64_t channels = w.shape()[0], per = w.numel() / channels;
    Tensor w2(DType::f32, w.shape()), b2(DType::f32, b.shape());
    for (std::int64_t c = 0; c < channels; ++c) {
      const double s = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
      for (std::int64_t k = 0; k < per; ++k)
        w2.as<float>()[c * per + k] = static_cast<float>(s * double(w.as<float>()[c * per + k]));
      const double bias = had_bias ? double(b.as<float>()[c]) : 0.0;
      b2.as<float>()[c] = static_cast<float>(s * (bias - double(mean[c])) + double(beta[c]));
    }
    if (!had_bias) const_cast<NodeDef&>(layer).attrs["bias"] = literal("true", layer.loc);
    rw.params[layer.name + ".weight"] = w2;
    rw.params[layer.name + ".bias"] = b2;
    rw.changes.push_back("folded " + bn.name + " into " + layer.name);
    return true;
  });
}

// add(conv2d(x), skip) with skip of the result's shape: conv2d_add(x, skip),
// the sum a post-op of the convolution.
void fuse_adds(Rewrite& rw) {
  GraphDef& def = rw.def();
  for (std::size_t i = 0; i < def.nodes.size(); ++i) {
    const NodeDef& add = def.nodes[i];
    if (add.op != "add" || add.inputs.size() != 2 || rw.outputs().count(add.name)) continue;
    const Shape* out = rw.original_shape(ValueRef{add.name, "", {}});
    for (std::size_t k = 0; k < 2; ++k) {
      const ValueRef& conv_ref = add.inputs[k];
      const ValueRef& other = add.inputs[1 - k];
      const int l = rw.index_of(conv_ref.name);
      if (l < 0 || !conv_ref.port.empty() || def.nodes[std::size_t(l)].op != "conv2d") continue;
      NodeDef& layer = def.nodes[std::size_t(l)];
      if (rw.readers(layer.name) != 1 || other.text() == layer.name) continue;
      const Attrs& la = rw.original(layer.name).attrs;
      const bool activation = layer.attrs.count("activation")
                                  ? layer.attrs.at("activation").items != std::vector<std::string>{"none"}
                                  : la.s("activation") != "none";
      if (activation) continue;
      const Shape* skip = rw.original_shape(other);
      if (!out || !skip || *skip != *out) continue;
      layer.op = "conv2d_add";
      layer.inputs.push_back(other);
      rw.changes.push_back("fused " + add.name + " into " + layer.name);
      const std::string into = layer.name;
      rw.remove(i, into);
      --i;
      break;
    }
  }
}

void fuse_relus(Rewrite& rw) {
  rw.each_pair("relu", {"linear", "conv2d", "conv2d_add"}, [&](const NodeDef& relu, const NodeDef& layer) {
    auto& attrs = const_cast<NodeDef&>(layer).attrs;
    if (attrs.count("activation") && attrs["activation"].items != std::vector<std::string>{"none"})
      return false;
    attrs["activation"] = literal("relu", layer.loc);
    rw.changes.push_back("fused " + relu.name + " into " + layer.name);
    return true;
  });
}

}  // namespace

std::unique_ptr<OptimizedPlan> optimize_for_inference(const ValidatedGraph& graph, const Plan& plan,
                                                      const Registry& registry) {
  // Without loaded parameters (no --params) there is nothing to fold yet:
  // the graph's initializers fill them at the first run.
  for (const Parameter& p : plan.params())
    if (p.value.empty() && numel(p.shape) != 0) return nullptr;
  Rewrite rw(graph, plan);
  fold_batchnorms(rw);
  fuse_adds(rw);
  fuse_relus(rw);
  if (rw.changes.empty()) return nullptr;

  auto result = std::make_unique<OptimizedPlan>();
  result->graph = std::make_unique<ValidatedGraph>(validate_graph(std::move(rw.def()), registry));
  result->plan = std::make_unique<Plan>(*result->graph, registry);
  result->plan->infer_symbolic();
  for (Parameter& p : result->plan->params()) p.value = rw.param(p.name);
  result->changes = std::move(rw.changes);
  return result;
}

}  // namespace keel
