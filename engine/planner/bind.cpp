// Plan::bind: fitting concrete input tensors to the graph's declared inputs.
#include <map>

#include "base/error.hpp"
#include "planner/init.hpp"
#include "planner/plan.hpp"

namespace keel {

namespace {

using Bound = std::map<Dim, std::pair<Dim, std::string>>;  // symbol -> (size, the input that bound it)

}  // namespace

void Plan::check_inputs(const std::vector<TensorSpec>& inputs) const {
  Bound bound;
  check_input_specs(inputs, bound);
}

void Plan::check_input_specs(const std::vector<TensorSpec>& inputs, Bound& bound) const {
  const auto& decls = graph_.def.inputs;
  if (inputs.size() != decls.size())
    throw usage_error(
        "the graph has " + std::to_string(decls.size()) + " inputs, got " + std::to_string(inputs.size()),
        {graph_.def.file, 0, 0});
  for (std::size_t i = 0; i < decls.size(); ++i) {
    const TensorSpec& want = graph_.input_specs[i];
    const TensorSpec& got = inputs[i];
    const SourceLoc where = graph_.loc(decls[i].loc);
    const std::string& name = decls[i].name;
    if (got.dtype != want.dtype)
      throw usage_error("input '" + name + "' is declared " + describe(want) + " but the data is " +
                            std::string(dtype_name(got.dtype)),
                        where);
    if (got.shape.size() != want.shape.size())
      throw usage_error("input '" + name + "' is declared " + describe(want) + " but the data has shape " +
                            shape_str(got.shape),
                        where);
    for (std::size_t d = 0; d < want.shape.size(); ++d) {
      const Dim w = want.shape[d], g = got.shape[d];
      if (is_static(w)) {
        if (w != g)
          throw usage_error("input '" + name + "' is declared " + describe(want) +
                                " but the data has shape " + shape_str(got.shape),
                            where);
        continue;
      }
      auto [it, fresh] = bound.try_emplace(w, g, name);
      if (!fresh && it->second.first != g) {
        const std::string& sym = graph_.symbols[std::size_t(-1 - w)];
        throw usage_error("input '" + name + "' has " + sym + " = " + std::to_string(g) + " (dimension " +
                              std::to_string(d) + ") but input '" + it->second.second + "' has " + sym +
                              " = " + std::to_string(it->second.first),
                          where);
      }
    }
  }
}

void Plan::bind(const std::vector<Tensor>& inputs, bool training) {
  Bound bound;
  std::vector<TensorSpec> concrete;
  for (const Tensor& t : inputs) concrete.push_back(t.spec());
  check_input_specs(concrete, bound);
  // infer() is pure (keel/op.hpp), so the shapes of the last binding need no
  // second inference: a training loop binds the same shapes every step.
  if (concrete.empty() || concrete != bound_inputs_) {
    bound_inputs_.clear();  // until this inference has succeeded
    infer(concrete);
    check_against_symbolic(bound);
    bound_inputs_ = std::move(concrete);
  }
  for (auto& p : params_) {
    if (!p.value.empty()) continue;
    p.value = Tensor(DType::f32, p.shape);
    initialize_parameter(p.value, p.spec, graph_.def, p.name);
  }
  prepare(training);
}

void Plan::check_against_symbolic(const std::map<Dim, std::pair<Dim, std::string>>& bound) const {
  if (symbolic_values_.size() != values_.size()) return;  // infer_symbolic() was not called
  for (const auto& n : nodes_) {
    for (int slot : n.outputs) {
      const TensorSpec& before = symbolic_values_[std::size_t(slot)];
      const TensorSpec& now = values_[std::size_t(slot)];
      bool same = before.dtype == now.dtype && before.shape.size() == now.shape.size();
      for (std::size_t d = 0; same && d < now.shape.size(); ++d) {
        const Dim b = before.shape[d];
        if (is_static(b))
          same = b == now.shape[d];
        else if (auto it = bound.find(b); it != bound.end())
          same = it->second.first == now.shape[d];
      }
      if (!same)
        throw runtime_error("output '" + value_name(slot) + "' is " + describe(now) +
                                " for this data, but the op inferred " + describe(before) +
                                " for the graph: the plugin's infer() contradicts itself",
                            loc(n), subject(n));
    }
  }
}

}  // namespace keel
