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

// The graph definition being rewritten, with who reads what. Removed nodes
// stay in place (marked) and their readers are redirected through
// `renamed_` until finish(), so each rule costs a lookup, not a scan of the
// graph: a pass stays linear in the graph's size.
class Rewrite {
 public:
  Rewrite(const ValidatedGraph& graph, const Plan& plan) : graph_(graph), plan_(plan), def_(graph.def) {
    for (std::size_t i = 0; i < def_.nodes.size(); ++i) index_[def_.nodes[i].name] = static_cast<int>(i);
    for (const NodeDef& n : def_.nodes)
      for (const ValueRef& r : n.inputs) ++readers_[r.text()];
    for (const ValueRef& r : def_.outputs) outputs_.insert(r.text());
    for (const ImageDef& d : def_.images) outputs_.insert(d.output);
    for (const std::string& o : outputs_) ++readers_[o];
  }

  std::vector<std::string> changes;
  std::map<std::string, Tensor> params;  // computed parameter values by name

  std::vector<NodeDef>& nodes() { return def_.nodes; }  // removed ones included: see node()

  // The graph without the removed nodes, every reference redirected.
  GraphDef finish() {
    GraphDef out = def_;
    out.nodes.clear();
    for (const NodeDef& n : def_.nodes) {
      if (removed_.count(n.name)) continue;
      NodeDef copy = n;
      for (ValueRef& r : copy.inputs)
        if (r.port.empty()) r.name = resolve(r.name);
      out.nodes.push_back(std::move(copy));
    }
    return out;
  }

  // A node `op` reading the first output of a layer in `layers` that
  // nothing else reads; `act(node, layer)` decides and does the rest.
  template <class Act>
  void each_pair(const std::string& op, const std::set<std::string>& layers, Act act) {
    for (NodeDef& n : def_.nodes) {
      if (n.op != op || removed_.count(n.name) || n.inputs.size() != 1 || !n.inputs[0].port.empty() ||
          outputs_.count(n.name))
        continue;
      NodeDef* layer = node(resolve(n.inputs[0].name));
      if (!layer || !layers.count(layer->op) || readers(layer->name) != 1) continue;
      if (act(n, *layer)) remove(n, *layer);
    }
  }

  // The current node of that name (nullptr: a graph input or removed).
  NodeDef* node(const std::string& name) {
    auto it = index_.find(name);
    if (it == index_.end() || removed_.count(name)) return nullptr;
    return &def_.nodes[std::size_t(it->second)];
  }
  // Where readers of `name` read now.
  std::string resolve(std::string name) const {
    for (auto it = renamed_.find(name); it != renamed_.end(); it = renamed_.find(name)) name = it->second;
    return name;
  }
  int readers(const std::string& name) const {
    auto it = readers_.find(name);
    return it == readers_.end() ? 0 : it->second;
  }
  bool is_output(const std::string& name) const { return outputs_.count(name) > 0; }

  // Removes `gone`, whose only input was `into`'s output: gone's readers
  // read `into` (which gone read, once).
  void remove(const NodeDef& gone, const NodeDef& into) {
    removed_.insert(gone.name);
    renamed_[gone.name] = into.name;
    readers_[into.name] += readers(gone.name) - 1;
  }

  // The original graph's view of a node (attributes with defaults, shapes).
  const ValidatedNode& original(const std::string& name) const {
    return graph_.nodes[std::size_t(index_.at(name))];
  }
  const Shape& original_output_shape(const std::string& name) const {
    return plan_.values()[std::size_t(plan_.value_slot(ValueId{index_.at(name), 0}))].shape;
  }
  // The original graph's shape of a value: a graph input or a node output.
  const Shape* original_shape(const ValueRef& r) const {
    if (!r.port.empty()) return nullptr;
    for (std::size_t i = 0; i < graph_.def.inputs.size(); ++i)
      if (graph_.def.inputs[i].name == r.name) return &graph_.input_specs[i].shape;
    auto it = index_.find(r.name);
    return it == index_.end() ? nullptr : &original_output_shape(r.name);
  }
  const Tensor& param(const std::string& name) const {
    auto it = params.find(name);
    return it != params.end() ? it->second : find_param(plan_, name)->value;
  }

 private:
  const ValidatedGraph& graph_;
  const Plan& plan_;
  GraphDef def_;                        // nodes in place until finish()
  std::map<std::string, int> index_;    // node name -> index (in the original and in def_)
  std::map<std::string, int> readers_;  // value text -> nodes, outputs and images reading it
  std::set<std::string> outputs_;       // graph outputs and images
  std::set<std::string> removed_;
  std::map<std::string, std::string> renamed_;  // removed node -> the node its readers read
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
  rw.each_pair("batchnorm", {"linear", "conv2d"}, [&](const NodeDef& bn, NodeDef& layer) {
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
    if (!had_bias) layer.attrs["bias"] = literal("true", layer.loc);
    rw.params[layer.name + ".weight"] = w2;
    rw.params[layer.name + ".bias"] = b2;
    rw.changes.push_back("folded " + bn.name + " into " + layer.name);
    return true;
  });
}

// add(conv2d(x), skip) with skip of the result's shape: conv2d_add(x, skip),
// the sum a post-op of the convolution.
void fuse_adds(Rewrite& rw, std::vector<NodeDef>& nodes) {
  for (NodeDef& add : nodes) {
    if (add.op != "add" || add.inputs.size() != 2 || rw.is_output(add.name) || !rw.node(add.name)) continue;
    const Shape* out = rw.original_shape(ValueRef{add.name, "", {}});
    for (std::size_t k = 0; k < 2; ++k) {
      const ValueRef& conv_ref = add.inputs[k];
      const ValueRef other{rw.resolve(add.inputs[1 - k].name), add.inputs[1 - k].port, add.inputs[1 - k].loc};
      NodeDef* layer = conv_ref.port.empty() ? rw.node(rw.resolve(conv_ref.name)) : nullptr;
      if (!layer || layer->op != "conv2d" || rw.readers(layer->name) != 1 || other.text() == layer->name)
        continue;
      auto act = layer->attrs.find("activation");
      if (act != layer->attrs.end() ? act->second.items != std::vector<std::string>{"none"}
                                    : rw.original(layer->name).attrs.s("activation") != "none")
        continue;
      const Shape* skip = rw.original_shape(other);
      if (!out || !skip || *skip != *out) continue;
      layer->op = "conv2d_add";
      layer->inputs.push_back(other);
      rw.changes.push_back("fused " + add.name + " into " + layer->name);
      rw.remove(add, *layer);
      break;
    }
  }
}

void fuse_relus(Rewrite& rw) {
  rw.each_pair("relu", {"linear", "conv2d", "conv2d_add"}, [&](const NodeDef& relu, NodeDef& layer) {
    auto& attrs = layer.attrs;
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
  fuse_adds(rw, rw.nodes());
  fuse_relus(rw);
  if (rw.changes.empty()) return nullptr;

  auto result = std::make_unique<OptimizedPlan>();
  result->graph = std::make_unique<ValidatedGraph>(validate_graph(rw.finish(), registry));
  result->plan = std::make_unique<Plan>(*result->graph, registry);
  result->plan->infer_symbolic();
  for (Parameter& p : result->plan->params()) p.value = rw.param(p.name);
  result->changes = std::move(rw.changes);
  return result;
}

}  // namespace keel
