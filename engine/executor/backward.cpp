// Executor::train_step and the backward pass. Backward steps are tasks too:
// a step waits for every step that adds to the gradients it reads, and the
// contributions to one value's gradient are chained in the fixed reverse-
// topological order of the consumers (the first written in place, later
// ones through scratch and added after their call), never in completion
// order, so results are bit-identical however the steps are scheduled.
#include <cstring>

#include "base/error.hpp"
#include "executor/executor.hpp"
#include "registry/plugin_call.hpp"

namespace keel {

namespace {

void add_into(Tensor& acc, const Tensor& more) {
  float* a = acc.as<float>();
  const float* b = more.as<float>();
  for (std::int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
}

}  // namespace

double Executor::train_step(const std::vector<Tensor>& inputs, const GradientPlan& gradients) {
  forward(inputs, /*training=*/true, &gradients);
  backward(gradients);
  ++step_;
  const Tensor& loss = values_[std::size_t(gradients.loss_slot)];
  double sum = 0;
  for (std::int64_t i = 0; i < loss.numel(); ++i) sum += loss.as<float>()[i];
  return sum;
}

void Executor::backward(const GradientPlan& g) {
  param_grads_.resize(plan_.params().size());
  for (int p : g.trained_params) {
    auto& t = param_grads_[std::size_t(p)];
    const auto& param = plan_.params()[std::size_t(p)];
    if (t.empty() || t.shape() != param.value.shape()) t = Tensor(DType::f32, param.value.shape());
  }
  Tensor& seed = grads_[std::size_t(g.loss_slot)];
  for (std::int64_t i = 0; i < seed.numel(); ++i) seed.as<float>()[i] = loss_scale_;
  scheduler_->run(layouts_[std::size_t(active_)].backward, [&](int j) { run_backward_step(g, j); });
}

void Executor::run_backward_step(const GradientPlan& g, int j) {
  const BackwardStep& step = g.steps[std::size_t(j)];
  const BackwardRoute& route = routes_[std::size_t(j)];
  auto& scratch = (*scratch_)[std::size_t(j)];
  auto& node = plan_.nodes()[std::size_t(step.node)];
  const auto& specs = plan_.values();

  std::vector<ConstTensorView> in, out, params, grad_out;
  for (int s : node.inputs) in.push_back(std::as_const(values_[std::size_t(s)]).view());
  for (std::size_t o = 0; o < node.outputs.size(); ++o) {
    const int s = node.outputs[o];
    out.push_back(std::as_const(values_[std::size_t(s)]).view());
    // An output nothing downstream needs a gradient of contributes zero.
    Tensor& gy = grads_[std::size_t(s)];
    if (route.zero_output[o]) std::memset(gy.data(), 0, gy.nbytes());
    grad_out.push_back(std::as_const(gy).view());
  }
  for (int p : node.params) params.push_back(std::as_const(plan_.params()[std::size_t(p)].value).view());

  std::vector<TensorView> grad_in;
  for (std::size_t k = 0; k < node.inputs.size(); ++k) {
    const int s = node.inputs[k];
    TensorView v{specs[std::size_t(s)].dtype, specs[std::size_t(s)].shape, nullptr};
    if (step.input_grads[k]) v = (route.direct[k] ? grads_[std::size_t(s)] : scratch[k]).view();
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
  const bool timed = time_nodes_ || profiler_;
  const auto begin = timed ? Profiler::Clock::now() : Profiler::Clock::time_point();
  const auto& graph = plan_.graph();
  // Built only on failure: this runs for every node of every step.
  auto loc = [&] { return graph.loc(graph.def.nodes[std::size_t(node.node)].loc); };
  const Status st = call_plugin("backward", "backward failed: ", [&] { return node.op->backward(ctx); });
  if (!st.ok()) throw runtime_error(st.message(), loc(), graph.subject(node.node));

  // Later contributions, in port order (mul(x, x) has two for x).
  for (std::size_t k = 0; k < node.inputs.size(); ++k)
    if (step.input_grads[k] && !route.direct[k]) add_into(grads_[std::size_t(node.inputs[k])], scratch[k]);
  if (timed) {
    const auto end = Profiler::Clock::now();
    stats_.backward_seconds[std::size_t(step.node)] += std::chrono::duration<double>(end - begin).count();
    ++stats_.backward_calls[std::size_t(step.node)];
    if (profiler_)
      profiler_->record(Profiler::Kind::backward, node_names_[std::size_t(step.node)], begin, end);
  }
  if (backward_hook_) backward_hook_(j);
}

}  // namespace keel
