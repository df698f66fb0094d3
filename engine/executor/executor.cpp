#include "executor/executor.hpp"

#include <algorithm>
#include <utility>

#include "base/error.hpp"
#include "registry/plugin_call.hpp"

namespace keel {

Executor::Executor(Plan& plan, std::unique_ptr<Scheduler> scheduler)
    : plan_(plan), scheduler_(scheduler ? std::move(scheduler) : std::make_unique<SequentialScheduler>()) {
  const auto& nodes = plan_.nodes();
  const std::size_t slots = plan_.values().size();
  consumers_.resize(slots);
  producer_.assign(slots, -1);
  kept_.assign(slots, false);
  for (std::size_t t = 0; t < nodes.size(); ++t) {
    for (int s : nodes[t].outputs) producer_[std::size_t(s)] = int(t);
    for (int s : nodes[t].inputs) {
      auto& c = consumers_[std::size_t(s)];
      if (c.empty() || c.back() != int(t)) c.push_back(int(t));
    }
  }
  for (int s : plan_.output_slots()) kept_[std::size_t(s)] = true;
  // Guards (anomaly checks) are read after the run.
  for (const auto& n : nodes)
    if (plan_.graph().nodes[std::size_t(n.node)].entry->schema.role == Role::guard)
      for (int s : n.outputs) kept_[std::size_t(s)] = true;
  stats_.forward_seconds.assign(nodes.size(), 0);
  stats_.backward_seconds.assign(nodes.size(), 0);
  stats_.forward_calls.assign(nodes.size(), 0);
  stats_.backward_calls.assign(nodes.size(), 0);
}

void Executor::keep(int slot) {
  if (kept_.at(std::size_t(slot))) return;
  kept_[std::size_t(slot)] = true;
  // Layouts planned without it would reuse its memory.
  if (active_ >= 0) {
    layouts_[std::size_t(active_)].values = std::move(values_);
    layouts_[std::size_t(active_)].grads = std::move(grads_);
  }
  layouts_.clear();
  active_ = -1;
}

void Executor::set_profiler(Profiler* profiler) {
  profiler_ = profiler;
  node_names_.clear();
  if (!profiler_) return;
  for (const auto& n : plan_.nodes())
    node_names_.push_back(profiler_->name_id(plan_.graph().def.nodes[std::size_t(n.node)].name));
}

void Executor::route(const GradientPlan& g) {
  if (routed_ == &g) return;
  const auto& nodes = plan_.nodes();
  std::vector<char> contributed(plan_.values().size(), 0);
  contributed[std::size_t(g.loss_slot)] = 1;  // the seed
  routes_.assign(g.steps.size(), {});
  for (std::size_t j = 0; j < g.steps.size(); ++j) {
    const auto& step = g.steps[j];
    const auto& node = nodes[std::size_t(step.node)];
    auto& r = routes_[j];
    for (int s : node.outputs) r.zero_output.push_back(!contributed[std::size_t(s)]);
    r.direct.assign(node.inputs.size(), false);
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      if (!step.input_grads[k]) continue;
      char& c = contributed[std::size_t(node.inputs[k])];
      r.direct[k] = !c;
      c = 1;
    }
  }
  routed_ = &g;
}

// Positions in one fixed order of the step's tasks: forward node i at i,
// the loss seed at N, backward step j at N + 1 + j, "after the step" last.
Executor::Layout Executor::make_layout(const GradientPlan* g) const {
  const auto& nodes = plan_.nodes();
  const auto& specs = plan_.values();
  const int n = int(nodes.size());
  const int steps = g ? int(g->steps.size()) : 0;
  const int seed_pos = n, end_pos = n + 2 + steps;
  auto step_pos = [&](int j) { return n + 1 + j; };
  const std::size_t n_inputs = plan_.graph().def.inputs.size();

  Layout L;
  L.specs = specs;
  L.gradients = g;

  // Buffers: values, then gradients, then scratch. `users` are the
  // positions of every task that touches a buffer.
  std::vector<BufferLife> lives;
  std::vector<std::vector<int>> users;
  auto bytes_of = [](const TensorSpec& s) { return std::size_t(numel(s.shape)) * dtype_size(s.dtype); };
  std::vector<int> value_buf(specs.size(), -1), grad_buf(specs.size(), -1);

  std::vector<std::vector<int>> backward_readers(specs.size());  // steps reading a value
  std::vector<int> producer_step(specs.size(), -1);
  std::vector<std::vector<int>> contributors(specs.size());  // steps, in order
  if (g) {
    for (int j = 0; j < steps; ++j) {
      const auto& step = g->steps[std::size_t(j)];
      const auto& node = nodes[std::size_t(step.node)];
      for (int s : node.inputs) backward_readers[std::size_t(s)].push_back(j);
      for (int s : node.outputs) {
        backward_readers[std::size_t(s)].push_back(j);
        producer_step[std::size_t(s)] = j;
      }
      for (std::size_t k = 0; k < node.inputs.size(); ++k) {
        auto& c = contributors[std::size_t(node.inputs[k])];
        if (step.input_grads[k] && (c.empty() || c.back() != j)) c.push_back(j);
      }
    }
  }

  for (std::size_t s = n_inputs; s < specs.size(); ++s) {
    std::vector<int> u{producer_[s]};
    for (int c : consumers_[s]) u.push_back(c);
    for (int j : backward_readers[s]) u.push_back(step_pos(j));
    int last = *std::max_element(u.begin(), u.end());
    if (kept_[s] || consumers_[s].empty()) last = end_pos;
    value_buf[s] = int(lives.size());
    lives.push_back({bytes_of(specs[s]), producer_[s], last});
    users.push_back(std::move(u));
  }
  if (g) {
    for (std::size_t s = 0; s < specs.size(); ++s) {
      std::vector<int> u;
      for (int j : contributors[s]) u.push_back(step_pos(j));
      if (producer_step[s] >= 0) u.push_back(step_pos(producer_step[s]));
      const bool seeded = int(s) == g->loss_slot;
      if (u.empty() && !seeded) continue;
      const int first = seeded ? seed_pos : *std::min_element(u.begin(), u.end());
      const int last = u.empty() ? seed_pos : *std::max_element(u.begin(), u.end());
      grad_buf[s] = int(lives.size());
      lives.push_back({bytes_of(specs[s]), first, last});
      users.push_back(std::move(u));
    }
  }
  // In place, where the op allows it (OpSchema::inplace): output 0 over
  // input 0, and in backward input 0's gradient over output 0's, when the
  // memory plan finds the input's life ends at this node (never a graph
  // input, a kept value or one the backward pass still reads).
  const auto& vgraph = plan_.graph();
  // The op allows it, input 0 is read once by the node, and output 0 has its
  // dtype and shape.
  auto may_share = [&](const PlannedNode& node) {
    if (!vgraph.nodes[std::size_t(node.node)].entry->schema.inplace || node.inputs.empty() ||
        node.outputs.empty())
      return false;
    const int in = node.inputs[0], out = node.outputs[0];
    return std::count(node.inputs.begin(), node.inputs.end(), in) == 1 &&
           specs[std::size_t(in)] == specs[std::size_t(out)];
  };
  for (const auto& node : nodes) {
    const std::size_t in = std::size_t(node.inputs.empty() ? 0 : node.inputs[0]);
    if (may_share(node) && value_buf[in] >= 0)
      lives[std::size_t(value_buf[std::size_t(node.outputs[0])])].inplace_of = value_buf[in];
  }
  for (int j = 0; j < steps; ++j) {
    const auto& step = g->steps[std::size_t(j)];
    const auto& node = nodes[std::size_t(step.node)];
    if (!may_share(node) || !step.input_grads[0] || !routes_[std::size_t(j)].direct[0]) continue;
    const std::size_t in = std::size_t(node.inputs[0]), out = std::size_t(node.outputs[0]);
    if (grad_buf[in] >= 0 && grad_buf[out] >= 0) lives[std::size_t(grad_buf[in])].inplace_of = grad_buf[out];
  }

  std::vector<std::vector<int>> scratch_buf(static_cast<std::size_t>(steps));
  for (int j = 0; j < steps; ++j) {
    const auto& step = g->steps[std::size_t(j)];
    const auto& node = nodes[std::size_t(step.node)];
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      const bool needed = step.input_grads[k] && !routes_[std::size_t(j)].direct[k];
      scratch_buf[std::size_t(j)].push_back(needed ? int(lives.size()) : -1);
      if (needed) {
        lives.push_back({bytes_of(specs[std::size_t(node.inputs[k])]), step_pos(j), step_pos(j)});
        users.push_back({step_pos(j)});
      }
    }
  }

  const MemoryPlan mem = plan_memory(lives);
  L.peak = mem.arena_bytes;
  L.naive = mem.naive_bytes;
  L.arena = Tensor(DType::u8, {Dim(std::max<std::size_t>(mem.arena_bytes, 64))});
  auto at = [&](int b, const TensorSpec& spec) {
    return Tensor::alias(L.arena, mem.offsets[std::size_t(b)], spec.dtype, spec.shape);
  };
  L.values.resize(specs.size());
  L.grads.resize(specs.size());
  for (std::size_t s = 0; s < specs.size(); ++s) {
    if (value_buf[s] >= 0) L.values[s] = at(value_buf[s], specs[s]);
    if (grad_buf[s] >= 0) L.grads[s] = at(grad_buf[s], specs[s]);
  }
  L.scratch.resize(std::size_t(steps));
  for (int j = 0; j < steps; ++j) {
    const auto& node = nodes[std::size_t(g->steps[std::size_t(j)].node)];
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      const int b = scratch_buf[std::size_t(j)][k];
      L.scratch[std::size_t(j)].push_back(b < 0 ? Tensor() : at(b, specs[std::size_t(node.inputs[k])]));
    }
  }

  // Task graphs: data dependencies, then the orderings reuse needs.
  auto sized_graph = [](TaskGraph& t, std::size_t size) {
    t.successors.assign(size, {});
    t.indegree.assign(size, 0);
  };
  sized_graph(L.forward, nodes.size());
  for (std::size_t t = 0; t < nodes.size(); ++t)
    for (int s : nodes[t].inputs)
      if (producer_[std::size_t(s)] >= 0) L.forward.add_edge(producer_[std::size_t(s)], int(t));
  sized_graph(L.backward, std::size_t(steps));
  for (std::size_t s = 0; s < specs.size() && g; ++s) {
    const auto& c = contributors[s];
    // Contributions to one gradient are summed in step order.
    for (std::size_t i = 1; i < c.size(); ++i) L.backward.add_edge(c[i - 1], c[i]);
    if (producer_step[s] >= 0)
      for (int j : c) L.backward.add_edge(j, producer_step[s]);
  }
  for (std::size_t b = 0; b < lives.size(); ++b) {
    const int prev = mem.reuses[b];
    if (prev < 0) continue;
    const int first = lives[b].first;
    for (int u : users[std::size_t(prev)]) {
      if (u == first) continue;
      if (u < n && first < n) L.forward.add_edge(u, first);
      if (u > seed_pos && first > seed_pos) L.backward.add_edge(u - n - 1, first - n - 1);
      // Otherwise the two are in different phases, which run one after the other.
    }
  }
  return L;
}

void Executor::use_layout(const GradientPlan* gradients) {
  const auto& specs = plan_.values();
  auto matches = [&](const Layout& l) { return l.gradients == gradients && l.specs == specs; };
  // Backward routes belong to one gradient plan; training with several
  // (train.phases) switches between layouts and routes alike.
  if (gradients) route(*gradients);
  if (active_ >= 0 && matches(layouts_[std::size_t(active_)])) return;
  if (active_ >= 0) {
    layouts_[std::size_t(active_)].values = std::move(values_);
    layouts_[std::size_t(active_)].grads = std::move(grads_);
  }
  int found = -1;
  for (std::size_t k = 0; k < layouts_.size(); ++k)
    if (matches(layouts_[k])) found = int(k);
  if (found < 0) {
    Layout fresh = make_layout(gradients);
    if (fresh.peak > stats_.peak_bytes) {
      stats_.peak_bytes = fresh.peak;
      stats_.naive_bytes = fresh.naive;
    }
    if (layouts_.size() == kMaxLayouts) layouts_.erase(layouts_.begin());
    layouts_.push_back(std::move(fresh));
    found = int(layouts_.size()) - 1;
  }
  active_ = found;
  auto& l = layouts_[std::size_t(found)];
  values_ = std::move(l.values);
  grads_ = std::move(l.grads);
  scratch_ = &l.scratch;
}

void Executor::forward(const std::vector<Tensor>& inputs, bool training, const GradientPlan* gradients) {
  plan_.bind(inputs, training);
  use_layout(gradients);
  for (std::size_t i = 0; i < inputs.size(); ++i) values_[i] = inputs[i];
  scheduler_->run(layouts_[std::size_t(active_)].forward, [&](int t) { run_node(t, training); });
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, bool training) {
  forward(inputs, training, nullptr);
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

  const bool timed = time_nodes_ || profiler_;
  const auto begin = timed ? Profiler::Clock::now() : Profiler::Clock::time_point();
  const auto& graph = plan_.graph();
  // Built only on failure: this runs for every node of every step.
  auto loc = [&] { return graph.loc(graph.def.nodes[std::size_t(node.node)].loc); };
  const Status st = call_plugin("forward", "forward failed: ", [&] { return node.op->forward(ctx); });
  if (timed) {
    const auto end = Profiler::Clock::now();
    // Each node runs on one thread at a time: its counters need no lock.
    stats_.forward_seconds[std::size_t(index)] += std::chrono::duration<double>(end - begin).count();
    ++stats_.forward_calls[std::size_t(index)];
    if (profiler_) profiler_->record(Profiler::Kind::forward, node_names_[std::size_t(index)], begin, end);
  }
  if (!st.ok()) throw runtime_error(st.message(), loc(), graph.subject(node.node));
  if (forward_hook_) forward_hook_(index);
}

}  // namespace keel
