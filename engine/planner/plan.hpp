// Validated graph -> plan: one op object per node, value and parameter slots,
// shape and dtype inference, parameter allocation and initialization.
//
// Shapes are inferred twice: by infer_symbolic() at `keel validate` time,
// where named dimensions stay symbols, and by bind() when data arrives and
// fixes every dimension. bind() also calls each op's prepare() (only when
// the concrete shapes changed since the last binding), so all primitives
// exist before the first forward.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/validate.hpp"
#include "registry/registry.hpp"
#include "runtime/tensor.hpp"

namespace keel {

struct PlannedNode {
  int node = 0;  // index into ValidatedGraph::nodes
  OpInstance op;
  std::vector<int> inputs;   // value slots
  std::vector<int> outputs;  // value slots
  std::vector<int> params;   // parameter slots
  std::uint64_t seed = 0;    // graph seed mixed with the node name
};

struct Parameter {
  std::string name;  // "<node>.<param>", e.g. fc1.weight
  ParamSpec spec;
  Shape shape;   // from the owning op's infer()
  Tensor value;  // allocated and initialized by the first bind()
};

class Plan {
 public:
  // Instantiates every node's op (in topological order). The graph and the
  // registry must outlive the plan.
  Plan(const ValidatedGraph& graph, const Registry& registry);

  const ValidatedGraph& graph() const { return graph_; }
  const std::vector<PlannedNode>& nodes() const { return nodes_; }  // topological order
  std::vector<PlannedNode>& nodes() { return nodes_; }
  const std::vector<TensorSpec>& values() const { return values_; }
  std::vector<Parameter>& params() { return params_; }
  const std::vector<Parameter>& params() const { return params_; }
  int value_slot(const ValueId& id) const;
  std::string value_name(int slot) const;  // "x", "fc1", "fc1.y"
  const std::vector<int>& output_slots() const { return output_slots_; }

  // Shape inference with named dimensions kept symbolic. Throws keel::Error
  // (usage) naming the node, op and plugin at the node's position.
  void infer_symbolic();

  // Binds concrete input tensors (one per graph input, in declaration order):
  // checks dtypes and ranks, binds named dimensions consistently across
  // inputs, infers concrete shapes, allocates and initializes parameters on
  // first use and prepares the ops. Throws keel::Error (usage) before any
  // computation when something does not fit.
  void bind(const std::vector<Tensor>& inputs, bool training);

  // Data-parallel training: every op object made from now on (each is
  // given it before prepare) gets the run's collective (keel/op.hpp). Must
  // be set before the first bind and outlive the plan.
  void set_collective(const keel_collective* collective) { collective_ = collective; }

  // bind()'s checks of the inputs alone (count, dtypes, ranks, static and
  // named dimensions), with the same messages; changes nothing. For callers
  // that refuse bad input before queueing it (keel serve).
  void check_inputs(const std::vector<TensorSpec>& inputs) const;

  std::string describe(const TensorSpec& spec) const;  // "f32 [batch, 64]"

 private:
  void check_input_specs(const std::vector<TensorSpec>& inputs,
                         std::map<Dim, std::pair<Dim, std::string>>& bound) const;
  void infer(const std::vector<TensorSpec>& input_specs);
  void prepare(bool training);
  // After a bind's infer(): every output agrees with symbolic_values_ under
  // the named dimensions' sizes (`bound`: symbol -> size, input). Throws
  // keel::Error (runtime) naming the node, op and plugin.
  void check_against_symbolic(const std::map<Dim, std::pair<Dim, std::string>>& bound) const;
  ErrorSubject subject(const PlannedNode& n) const;
  SourceLoc loc(const PlannedNode& n) const;

  const ValidatedGraph& graph_;
  const Registry& registry_;
  std::vector<PlannedNode> nodes_;
  std::vector<TensorSpec> values_;
  // The input specs values_ was last inferred for by bind(); empty when
  // values_ holds anything else (symbolic shapes, or nothing yet).
  std::vector<TensorSpec> bound_inputs_;
  // What infer_symbolic() found, so bind() can hold each op to it: a plugin
  // whose infer() contradicts itself is caught before its forward runs.
  std::vector<TensorSpec> symbolic_values_;
  std::vector<int> first_slot_;  // per graph node: the slot of its output 0
  std::vector<int> output_slots_;
  std::vector<Parameter> params_;
  // Op objects prepared for other shape bindings, kept so that alternating
  // between a few shapes (training batches, the last partial batch, an
  // evaluation split) does not re-create primitives each time. The active
  // binding's ops live in nodes_; the others wait here.
  struct Prepared {
    std::vector<TensorSpec> values;
    bool training = false;
    std::vector<OpInstance> ops;  // one per node; empty for the active binding
  };
  std::vector<Prepared> prepared_;
  int active_ = -1;  // index into prepared_
  // Whether the op objects the constructor made have had their one prepare().
  bool constructed_ops_prepared_ = false;
  const keel_collective* collective_ = nullptr;
  static constexpr std::size_t kMaxPrepared = 6;
};

}  // namespace keel
