// Executor::train_step and the backward pass. Gradients of a value with
// several consumers (a residual connection's skip, say) are summed in the
// fixed reverse-topological order of the consumers, never in completion
// order, so results are bit-identical however the nodes are scheduled.
#include <cstring>

#include "base/error.hpp"
#include "executor/executor.hpp"
#include "registry/plugin_call.hpp"

namespace keel {

namespace {

Tensor& sized(Tensor& t, const TensorSpec& spec) {
  if (t.empty() || t.shape() != spec.shape || t.dtype() != spec.dtype) t = Tensor(spec.dtype, spec.shape);
  return t;
}

void add_into(Tensor& acc, const Tensor& more) {
  float* a = acc.as<float>();
  const float* b = more.as<float>();
  for (std::int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
}

}  // namespace

double Executor::train_step(const std::vector<Tensor>& inputs, const GradientPlan& gradients) {
  plan_.bind(inputs, /*training=*/true);
  allocate();
  for (std::size_t i = 0; i < inputs.size(); ++i) values_[i] = inputs[i];
  scheduler_->run(tasks_, [&](int t) { run_node(t, true); });
  backward(gradients);
  ++step_;
  const Tensor& loss = values_[std::size_t(gradients.loss_slot)];
  double sum = 0;
  for (std::int64_t i = 0; i < loss.numel(); ++i) sum += loss.as<float>()[i];
  return sum;
}

void Executor::backward(const GradientPlan& g) {
  const auto& specs = plan_.values();
  grads_.resize(specs.size());
  param_grads_.resize(plan_.params().size());
  for (int p : g.trained_params) {
    const auto& param = plan_.params()[std::size_t(p)];
    sized(param_grads_[std::size_t(p)], param.value.spec());
  }
  std::vector<bool> ready(specs.size(), false);
  Tensor& seed = sized(grads_[std::size_t(g.loss_slot)], specs[std::size_t(g.loss_slot)]);
  for (std::int64_t i = 0; i < seed.numel(); ++i) seed.as<float>()[i] = 1.0f;
  ready[std::size_t(g.loss_slot)] = true;
  for (const auto& step : g.steps) run_backward_step(step, ready);
}

void Executor::run_backward_step(const BackwardStep& step, std::vector<bool>& ready) {
  auto& node = plan_.nodes()[std::size_t(step.node)];
  const auto& specs = plan_.values();

  std::vector<ConstTensorView> in, out, params, grad_out;
  for (int s : node.inputs) in.push_back(std::as_const(values_[std::size_t(s)]).view());
  for (int s : node.outputs) {
    out.push_back(std::as_const(values_[std::size_t(s)]).view());
    // An output nothing downstream needs a gradient of contributes zero.
    Tensor& g = sized(grads_[std::size_t(s)], specs[std::size_t(s)]);
    if (!ready[std::size_t(s)]) std::memset(g.data(), 0, g.nbytes());
    grad_out.push_back(std::as_const(g).view());
  }
  for (int p : node.params) params.push_back(std::as_const(plan_.params()[std::size_t(p)].value).view());

  // The first contribution to a value's gradient is written in place; later
  // ones go to scratch and are added after the call.
  std::vector<TensorView> grad_in;
  std::vector<bool> direct(node.inputs.size(), false);
  std::vector<bool> claimed(specs.size(), false);
  for (std::size_t k = 0; k < node.inputs.size(); ++k) {
    const int s = node.inputs[k];
    TensorView v{specs[std::size_t(s)].dtype, specs[std::size_t(s)].shape, nullptr};
    if (step.input_grads[k]) {
      if (!ready[std::size_t(s)] && !claimed[std::size_t(s)]) {
        v = sized(grads_[std::size_t(s)], specs[std::size_t(s)]).view();
        claimed[std::size_t(s)] = true;
        direct[k] = true;
      } else {
        v = sized(scratch_[{step.node, int(k)}], specs[std::size_t(s)]).view();
      }
    }
    grad_in.push_back(v);
  }
  std::vector<TensorView> grad_params;
  for (std::size_t k = 0; k < node.params.size(); ++k) {
    const auto& param = plan_.params()[std::size_t(node.params[k])];
    TensorView v{DType::f32, param.shape, nullptr};
    if (step.param_grads[k]) v = param_grads_[std::size_t(node.params[k])].view();
    grad_params.push_back(v);
  }

  BackwardContext ctx{in, out, params, grad_out, grad_in, grad_params, node.seed, step_};
  const auto& graph = plan_.graph();
  // Built only on failure: this runs for every node of every step.
  auto loc = [&] { return graph.loc(graph.def.nodes[std::size_t(node.node)].loc); };
  const Status st = call_plugin("backward", "backward failed: ", [&] { return node.op->backward(ctx); });
  if (!st.ok()) throw runtime_error(st.message(), loc(), graph.subject(node.node));

  // Later contributions, in port order (mul(x, x) has two for x).
  for (std::size_t k = 0; k < node.inputs.size(); ++k)
    if (step.input_grads[k] && !direct[k])
      add_into(grads_[std::size_t(node.inputs[k])], scratch_[{step.node, int(k)}]);
  for (std::size_t k = 0; k < node.inputs.size(); ++k)
    if (step.input_grads[k]) ready[std::size_t(node.inputs[k])] = true;
}

}  // namespace keel
