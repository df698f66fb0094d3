#include "executor/executor.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "base/error.hpp"
#include "registry/plugin_call.hpp"

namespace keel {

Executor::Executor(Plan& plan, std::unique_ptr<Scheduler> scheduler)
    : plan_(plan), scheduler_(scheduler ? std::move(scheduler) : std::make_unique<SequentialScheduler>()) {
  const auto& nodes = plan_.nodes();
  std::map<int, int> producer;  // value slot -> task
  for (std::size_t t = 0; t < nodes.size(); ++t)
    for (int s : nodes[t].outputs) producer[s] = int(t);
  tasks_.successors.resize(nodes.size());
  tasks_.indegree.assign(nodes.size(), 0);
  for (std::size_t t = 0; t < nodes.size(); ++t) {
    std::vector<int> preds;
    for (int s : nodes[t].inputs)
      if (auto it = producer.find(s); it != producer.end()) preds.push_back(it->second);
    std::sort(preds.begin(), preds.end());
    preds.erase(std::unique(preds.begin(), preds.end()), preds.end());
    for (int p : preds) tasks_.successors[std::size_t(p)].push_back(int(t));
    tasks_.indegree[t] = int(preds.size());
  }
}

void Executor::allocate() {
  const auto& specs = plan_.values();
  if (active_pool_ >= 0 && pools_[std::size_t(active_pool_)].specs == specs) return;
  // Park the current buffers with their binding; reuse a parked set whose
  // shapes match (a training batch after an evaluation pass), else allocate.
  if (active_pool_ >= 0) {
    auto& parked = pools_[std::size_t(active_pool_)];
    parked.values = std::move(values_);
    parked.grads = std::move(grads_);
  }
  int found = -1;
  for (std::size_t k = 0; k < pools_.size(); ++k)
    if (pools_[k].specs == specs) found = int(k);
  if (found < 0) {
    Buffers fresh{specs, std::vector<Tensor>(specs.size()), {}};
    const std::size_t n_inputs = plan_.graph().def.inputs.size();
    for (std::size_t s = n_inputs; s < specs.size(); ++s)
      fresh.values[s] = Tensor(specs[s].dtype, specs[s].shape);
    if (pools_.size() == kMaxPools) pools_.erase(pools_.begin());
    pools_.push_back(std::move(fresh));
    found = int(pools_.size()) - 1;
  }
  active_pool_ = found;
  values_ = std::move(pools_[std::size_t(found)].values);
  grads_ = std::move(pools_[std::size_t(found)].grads);
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, bool training) {
  plan_.bind(inputs, training);
  allocate();
  for (std::size_t i = 0; i < inputs.size(); ++i) values_[i] = inputs[i];
  scheduler_->run(tasks_, [&](int t) { run_node(t, training); });
  std::vector<Tensor> out;
  for (int s : plan_.output_slots()) out.push_back(values_[std::size_t(s)]);
  return out;
}

void Executor::run_node(int index, bool training) {
  auto& node = plan_.nodes()[std::size_t(index)];
  std::vector<ConstTensorView> in;
  std::vector<TensorView> out, params;
  for (int s : node.inputs) in.push_back(std::as_const(values_[std::size_t(s)]).view());
  for (int s : node.outputs) out.push_back(values_[std::size_t(s)].view());
  for (int p : node.params) params.push_back(plan_.params()[std::size_t(p)].value.view());
  ForwardContext ctx{in, out, params, training, node.seed, step_};

  const auto& graph = plan_.graph();
  // Built only on failure: this runs for every node of every step.
  auto loc = [&] { return graph.loc(graph.def.nodes[std::size_t(node.node)].loc); };
  const Status st = call_plugin("forward", "forward failed: ", [&] { return node.op->forward(ctx); });
  if (!st.ok()) throw runtime_error(st.message(), loc(), graph.subject(node.node));
}

}  // namespace keel
