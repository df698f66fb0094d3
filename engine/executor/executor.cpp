#include "executor/executor.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <utility>

#include "base/error.hpp"

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
  values_.resize(specs.size());
  const std::size_t n_inputs = plan_.graph().def.inputs.size();
  for (std::size_t s = n_inputs; s < specs.size(); ++s) {
    auto& v = values_[s];
    if (v.empty() || v.dtype() != specs[s].dtype || v.shape() != specs[s].shape)
      v = Tensor(specs[s].dtype, specs[s].shape);
  }
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
  const SourceLoc loc = graph.loc(graph.def.nodes[std::size_t(node.node)].loc);
  Status st;
  try {
    st = node.op->forward(ctx);
  } catch (const std::exception& e) {
    throw runtime_error(std::string("forward threw: ") + e.what(), loc, graph.subject(node.node));
  } catch (...) {
    throw runtime_error("forward threw an unknown exception", loc, graph.subject(node.node));
  }
  if (!st.ok()) throw runtime_error("forward failed: " + st.message(), loc, graph.subject(node.node));
}

}  // namespace keel
