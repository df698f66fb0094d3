#include "training/optimizer_step.hpp"

#include <cmath>

#include "base/error.hpp"
#include "base/suggest.hpp"
#include "graph/attrs.hpp"
#include "graph/validate.hpp"
#include "keel/optimizer.hpp"
#include "registry/plugin_call.hpp"
#include "training/sum_of_squares.hpp"

namespace keel {

namespace {

// Optimizers are the ops that declare the role (keel/optimizer.hpp); their
// names and ports are the plugin's business.
bool is_optimizer(const OpSchema& s) { return s.role == Role::optimizer; }

}  // namespace

std::pair<const OpEntry*, Attrs> OptimizerSteps::resolve(const Registry& registry, const OptimizerDef& def,
                                                         const ValidatedGraph& graph) {
  const OpEntry* entry = registry.find(def.op);
  if (!entry || !is_optimizer(entry->schema)) {
    std::vector<std::string> optimizers;
    for (const auto& name : registry.op_names())
      if (is_optimizer(registry.find(name)->schema)) optimizers.push_back(name);
    throw usage_error("unknown optimizer '" + def.op + "'" + did_you_mean(def.op, optimizers),
                      graph.loc(def.op_loc));
  }
  const ErrorSubject who{"", entry->schema.name, entry->plugin ? entry->plugin->name : ""};
  // A declared optimizer the engine could not drive is the plugin's fault,
  // reported before any data is read.
  if (const std::string broken = optimizer::contract_violation(entry->schema); !broken.empty())
    throw usage_error(
        "op '" + entry->schema.name +
            "' declares the optimizer role but breaks the optimizer contract (keel/optimizer.hpp): " + broken,
        graph.loc(def.op_loc), who);
  return {entry, typed_attrs(entry->schema, def.attrs, graph.def.file, who, def.loc)};
}

OptimizerSteps::OptimizerSteps(Plan& plan, const Registry& registry, const OptimizerDef& def,
                               const GradientPlan& gradients)
    : plan_(plan), def_(def) {
  const auto& graph = plan.graph();
  auto [entry, attrs] = resolve(registry, def, graph);
  entry_ = entry;
  const ErrorSubject who{"", entry_->schema.name, entry_->plugin ? entry_->plugin->name : ""};

  for (int p : gradients.trained_params) {
    const Parameter& param = plan.params()[std::size_t(p)];
    Slot slot{p, registry.create(*entry_, attrs), {}};
    const std::vector<TensorSpec> in{
        param.value.spec(), param.value.spec(), {DType::f32, {Dim(optimizer::kHyperSize)}}};
    InferContext ictx;
    ictx.inputs = in;
    ErrorSubject subject = who;
    subject.node = "optimizer of " + param.name;
    auto check = [&](auto&& call) {
      const Status st = call_plugin("", "", call);
      if (!st.ok()) throw usage_error(st.message(), graph.loc(def.loc), subject);
    };
    check([&] { return slot.op->infer(ictx); });
    // The counts keel/op.hpp promises every op: checked here as the planner
    // checks graph nodes, since this op object is made outside the plan.
    if (ictx.outputs.size() != entry_->schema.outputs.size())
      throw usage_error("the optimizer's infer() reported " + std::to_string(ictx.outputs.size()) +
                            " outputs; its schema declares " + std::to_string(entry_->schema.outputs.size()),
                        graph.loc(def.loc), subject);
    if (ictx.param_shapes.size() != entry_->schema.params.size())
      throw usage_error("the optimizer's infer() reported " + std::to_string(ictx.param_shapes.size()) +
                            " state tensors; its schema declares " +
                            std::to_string(entry_->schema.params.size()),
                        graph.loc(def.loc), subject);
    std::vector<TensorSpec> state_specs;
    for (std::size_t k = 0; k < ictx.param_shapes.size(); ++k) {
      if (!is_static(ictx.param_shapes[k]))
        throw usage_error("the optimizer's state must have a static shape", graph.loc(def.loc), subject);
      slot.state.emplace_back(DType::f32, ictx.param_shapes[k]);
      state_specs.push_back(slot.state.back().spec());
    }
    check([&] { return slot.op->prepare(PrepareContext{in, ictx.outputs, state_specs, true}); });
    slots_.push_back(std::move(slot));
  }
  for (auto& slot : slots_)
    for (std::size_t k = 0; k < slot.state.size(); ++k)
      state_refs_.push_back({optimizer::kStatePrefix + plan.params()[std::size_t(slot.param)].name + "." +
                                 entry_->schema.params[k].name,
                             &slot.state[k]});
}

double OptimizerSteps::grad_norm(Executor& exec) const {
  double sq = 0;
  for (const auto& slot : slots_) {
    const Tensor& g = exec.param_grad(slot.param);
    sq += sum_of_squares(g.as<float>(), g.numel());
  }
  return std::sqrt(sq);
}

void OptimizerSteps::apply(Executor& exec, double lr, std::uint64_t updates, double norm) {
  double scale = 1.0;
  // torch.nn.utils.clip_grad_norm_: one norm over all gradients.
  if (def_.clip_grad_norm > 0) scale = std::min(1.0, def_.clip_grad_norm / (norm + 1e-6));
  hyper_.as<float>()[optimizer::kLearningRate] = float(lr);
  hyper_.as<float>()[optimizer::kGradientScale] = float(scale);
  const auto& graph = plan_.graph();
  for (auto& slot : slots_) {
    Parameter& param = plan_.params()[std::size_t(slot.param)];
    const std::vector<ConstTensorView> in{std::as_const(param.value).view(),
                                          std::as_const(exec.param_grad(slot.param)).view(),
                                          std::as_const(hyper_).view()};
    const std::vector<TensorView> out{param.value.view()};
    std::vector<TensorView> state;
    for (auto& s : slot.state) state.push_back(s.view());
    ForwardContext ctx{in, out, state, true, 0, updates};
    const ErrorSubject who{"optimizer of " + param.name, entry_->schema.name,
                           entry_->plugin ? entry_->plugin->name : ""};
    const Status st = call_plugin("update", "update failed: ", [&] { return slot.op->forward(ctx); });
    if (!st.ok()) throw runtime_error(st.message(), graph.loc(def_.loc), who);
  }
}

}  // namespace keel
