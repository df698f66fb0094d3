#include "planner/plan.hpp"

#include "base/error.hpp"
#include "planner/init.hpp"
#include "registry/plugin_call.hpp"
#include "runtime/memory_limit.hpp"

namespace keel {

namespace {

// Runs a call into plugin code (registry/plugin_call.hpp) and throws its
// failure as a keel::Error. `where` gives the node's (SourceLoc,
// ErrorSubject), built only on failure: this runs for every node on every bind.
template <class Call, class Where>
void call_op(Call&& call, ExitCode code, const char* what, const Where& where) {
  const Status st = call_plugin(what, "", call);
  if (!st.ok()) {
    auto [loc, subject] = where();
    throw Error(code, st.message(), loc, subject);
  }
}

// Refuses a tensor whose size overflows or exceeds the per-tensor limit
// (this machine's memory, or KEEL_MAX_TENSOR_BYTES), before anything is
// allocated: a hostile attribute (units: 2^56) must not wrap around into a
// small allocation, nor ask for more than the machine has (Linux would kill
// the process with no message). `what` and `where` are only called on
// failure: this runs for every value on every bind.
template <class What, class Where>
void check_size(const TensorSpec& spec, const What& what, const Where& where) {
  if (!is_static(spec.shape)) return;
  std::uint64_t bytes = dtype_size(spec.dtype);
  bool overflow = false;
  for (Dim d : spec.shape) overflow = overflow || __builtin_mul_overflow(bytes, std::uint64_t(d), &bytes);
  const std::uint64_t limit = max_tensor_bytes();
  if (overflow || bytes > limit) {
    auto [loc, who] = where();
    throw usage_error(what() + " would have shape " + shape_str(spec.shape) + " (" +
                          (overflow ? std::string("its size overflows") : format_bytes(bytes)) +
                          "), more than the limit of " + format_bytes(limit) +
                          " per tensor (this machine's memory; KEEL_MAX_TENSOR_BYTES sets it)",
                      loc, who);
  }
}

}  // namespace

Plan::Plan(const ValidatedGraph& graph, const Registry& registry) : graph_(graph), registry_(registry) {
  const int n_inputs = static_cast<int>(graph.def.inputs.size());
  // Sized once: grown by doubling, a 100,000-node graph's vectors were
  // copied and their fresh pages touched several times over.
  first_slot_.reserve(graph.nodes.size());
  nodes_.reserve(graph.topo_order.size());
  int slot = n_inputs;
  for (const auto& node : graph.nodes) {
    first_slot_.push_back(slot);
    slot += static_cast<int>(node.entry->schema.outputs.size());
  }
  values_.resize(static_cast<std::size_t>(slot));
  for (int i = 0; i < n_inputs; ++i) values_[std::size_t(i)] = graph.input_specs[std::size_t(i)];

  for (int index : graph.topo_order) {
    const auto& vnode = graph.nodes[std::size_t(index)];
    const auto& def = graph.def.nodes[std::size_t(index)];
    OpInstance op = [&] {
      try {
        return registry.create(*vnode.entry, vnode.attrs);
      } catch (const Error& e) {
        throw Error(e.code(), e.message(), graph.loc(def.loc), graph.subject(index));
      }
    }();
    PlannedNode planned{index, std::move(op), {}, {}, {}, stream_key(graph.def.seed, def.name)};
    planned.inputs.reserve(vnode.inputs.size());
    planned.outputs.reserve(vnode.entry->schema.outputs.size());
    for (const auto& in : vnode.inputs) planned.inputs.push_back(value_slot(in));
    for (std::size_t o = 0; o < vnode.entry->schema.outputs.size(); ++o)
      planned.outputs.push_back(first_slot_[std::size_t(index)] + int(o));
    for (const auto& p : vnode.entry->schema.params) {
      planned.params.push_back(static_cast<int>(params_.size()));
      params_.push_back({def.name + "." + p.name, p, {}, {}});
    }
    // Every context the op sees is sized from these (op.hpp: counts).
    if (planned.inputs.size() != vnode.entry->schema.inputs.size())
      throw Error(ExitCode::usage,
                  "the node has " + std::to_string(planned.inputs.size()) +
                      " inputs; its op's schema declares " +
                      std::to_string(vnode.entry->schema.inputs.size()),
                  graph.loc(def.loc), graph.subject(index));
    nodes_.push_back(std::move(planned));
  }
  for (const auto& out : graph.outputs) output_slots_.push_back(value_slot(out));
}

int Plan::value_slot(const ValueId& id) const {
  return id.node < 0 ? id.index : first_slot_[std::size_t(id.node)] + id.index;
}

std::string Plan::value_name(int slot) const {
  const int n_inputs = static_cast<int>(graph_.def.inputs.size());
  if (slot < n_inputs) return graph_.def.inputs[std::size_t(slot)].name;
  for (std::size_t n = first_slot_.size(); n-- > 0;) {
    if (first_slot_[n] <= slot) {
      const auto& schema = graph_.nodes[n].entry->schema;
      int port = slot - first_slot_[n];
      const auto& name = graph_.def.nodes[n].name;
      return port == 0 ? name : name + "." + schema.outputs[std::size_t(port)].name;
    }
  }
  return "?";
}

std::string Plan::describe(const TensorSpec& spec) const {
  std::string s = std::string(dtype_name(spec.dtype)) + " [";
  for (std::size_t i = 0; i < spec.shape.size(); ++i) {
    if (i) s += ", ";
    Dim d = spec.shape[i];
    int symbol = int(-1 - d);
    s += is_static(d)                          ? std::to_string(d)
         : symbol < int(graph_.symbols.size()) ? graph_.symbols[std::size_t(symbol)]
                                               : "?";
  }
  return s + "]";
}

ErrorSubject Plan::subject(const PlannedNode& n) const { return graph_.subject(n.node); }

SourceLoc Plan::loc(const PlannedNode& n) const {
  return graph_.loc(graph_.def.nodes[std::size_t(n.node)].loc);
}

void Plan::infer_symbolic() {
  bound_inputs_.clear();
  infer(graph_.input_specs);
  symbolic_values_ = values_;
}

void Plan::infer(const std::vector<TensorSpec>& input_specs) {
  for (std::size_t i = 0; i < input_specs.size(); ++i) values_[i] = input_specs[i];
  // One list for every node, assigned element by element so that the
  // shapes' buffers are reused too: this runs for every node of a bind.
  std::vector<TensorSpec> in;
  for (auto& n : nodes_) {
    in.resize(n.inputs.size());
    for (std::size_t k = 0; k < n.inputs.size(); ++k) in[k] = values_[std::size_t(n.inputs[k])];
    InferContext ctx;
    ctx.inputs = in;
    call_op([&] { return n.op->infer(ctx); }, ExitCode::usage, "shape inference",
            [&] {
              return std::pair{loc(n), subject(n)};
            });
    const auto& schema = graph_.nodes[std::size_t(n.node)].entry->schema;
    if (ctx.outputs.size() != schema.outputs.size() || ctx.param_shapes.size() != schema.params.size())
      throw usage_error(
          "the op's infer() reported " + std::to_string(ctx.outputs.size()) + " outputs and " +
              std::to_string(ctx.param_shapes.size()) + " parameter shapes; its schema declares " +
              std::to_string(schema.outputs.size()) + " and " + std::to_string(schema.params.size()),
          loc(n), subject(n));
    for (std::size_t o = 0; o < ctx.outputs.size(); ++o) {
      if (is_static(ctx.outputs[o].shape))
        check_size(
            ctx.outputs[o], [&] { return "output '" + value_name(n.outputs[o]) + "'"; },
            [&] {
              return std::pair{loc(n), subject(n)};
            });
      values_[std::size_t(n.outputs[o])] = std::move(ctx.outputs[o]);
    }
    for (std::size_t p = 0; p < ctx.param_shapes.size(); ++p) {
      auto& param = params_[std::size_t(n.params[p])];
      if (!is_static(ctx.param_shapes[p]))
        throw usage_error("parameter '" + param.name + "' would have shape " +
                              describe({DType::f32, ctx.param_shapes[p]}) +
                              ": its size must not depend on a named dimension",
                          loc(n), subject(n));
      if (!param.value.empty() && param.shape != ctx.param_shapes[p])
        throw usage_error("parameter '" + param.name + "' changed shape from " +
                              describe({DType::f32, param.shape}) + " to " +
                              describe({DType::f32, ctx.param_shapes[p]}),
                          loc(n), subject(n));
      check_size(
          TensorSpec{DType::f32, ctx.param_shapes[p]}, [&] { return "parameter '" + param.name + "'"; },
          [&] {
            return std::pair{loc(n), subject(n)};
          });
      param.shape = ctx.param_shapes[p];
    }
  }
}

void Plan::prepare(bool training) {
  auto matches = [&](const Prepared& p) { return p.values == values_ && p.training == training; };
  if (active_ >= 0 && matches(prepared_[std::size_t(active_)])) return;
  auto park_active = [&] {
    if (active_ < 0) return;
    auto& ops = prepared_[std::size_t(active_)].ops;
    ops.clear();
    for (auto& n : nodes_) ops.push_back(std::move(n.op));
  };
  for (std::size_t k = 0; k < prepared_.size(); ++k) {
    if (int(k) == active_ || !matches(prepared_[k])) continue;
    park_active();
    for (std::size_t i = 0; i < nodes_.size(); ++i) nodes_[i].op = std::move(prepared_[k].ops[i]);
    prepared_[k].ops.clear();
    active_ = int(k);
    return;
  }
  // A new binding. Its op objects are made and prepared aside first, so a
  // failure leaves the plan as it was. The very first binding prepares the
  // op objects the constructor made; if that fails, they are never prepared
  // again (op.hpp: one prepare per object), a later binding makes new ones.
  const bool first = !constructed_ops_prepared_;
  constructed_ops_prepared_ = true;
  std::vector<OpInstance> fresh;
  if (!first)
    for (const auto& n : nodes_)
      fresh.push_back(registry_.create(*graph_.nodes[std::size_t(n.node)].entry,
                                       graph_.nodes[std::size_t(n.node)].attrs));
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& n = nodes_[i];
    std::vector<TensorSpec> in, out, par;
    for (int s : n.inputs) in.push_back(values_[std::size_t(s)]);
    for (int s : n.outputs) out.push_back(values_[std::size_t(s)]);
    for (int p : n.params) par.push_back({DType::f32, params_[std::size_t(p)].shape});
    PrepareContext ctx{in, out, par, training};
    Op& op = first ? *n.op : *fresh[i];
    if (collective_)
      call_op([&] { return op.set_collective(collective_); }, ExitCode::runtime, "set_collective",
              [&] {
                return std::pair{loc(n), subject(n)};
              });
    call_op([&] { return op.prepare(ctx); }, ExitCode::runtime, "prepare",
            [&] {
              return std::pair{loc(n), subject(n)};
            });
  }
  if (!first) {
    park_active();
    for (std::size_t i = 0; i < nodes_.size(); ++i) nodes_[i].op = std::move(fresh[i]);
    if (prepared_.size() == kMaxPrepared) {
      // Evict the oldest parked binding (never the one just parked: it is
      // the binding most likely to come back, such as the training batch).
      std::size_t victim = 0;
      if (int(victim) == active_) victim = 1;
      prepared_.erase(prepared_.begin() + std::ptrdiff_t(victim));
      if (active_ > int(victim)) --active_;
    }
  }
  prepared_.push_back(Prepared{values_, training, {}});
  active_ = int(prepared_.size()) - 1;
}

}  // namespace keel
