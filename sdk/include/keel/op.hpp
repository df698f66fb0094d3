// The operator interface, and what the engine promises about calling it.
//
// Lifecycle of one node's op:
//   1. The engine checks the node's attributes against the schema and fills
//      in every declared default, then calls the factory with them:
//      construct, keep the attributes, allocate nothing. A factory may read
//      any attribute that has a default without checking that it is there.
//   2. infer() is called with the input specs, at `keel validate` time with
//      symbolic dimensions and again when data binds them. It must be pure:
//      it reports output specs and parameter shapes and changes no state.
//   3. prepare() is called with static shapes, exactly as infer() reported
//      them. Create oneDNN primitives and scratch space here: forward and
//      backward are called every step and must not.
//   4. forward() (and, when training, backward()) run any number of times.
//
// Guarantees. The engine (planner/plan.cpp, executor/) enforces each of
// these, and tests/planner/op_contract_test.cpp holds it to them, so an op
// does not check them again:
//   - Counts. Every context's spans have the schema's sizes: inputs and
//     grad_inputs one entry per schema input, outputs and grad_outputs one
//     per schema output, params and grad_params one per schema parameter.
//     An infer() that reports another number of outputs or parameter shapes
//     is an error naming the node, the op and its plugin, and the op is
//     never prepared.
//   - Shapes. The views passed to forward() and backward() have the dtypes
//     and shapes that prepare() saw.
//   - Prepare once. prepare() is called exactly once per Op object, before
//     any forward() of that object. Another shape binding, or a switch
//     between inference and training, gets a new Op object from the factory.
//     If prepare() fails, neither forward() nor backward() is ever called on
//     that object.
//   - Mode. ForwardContext::training equals the PrepareContext::training
//     the object was prepared with.
//   - Backward. backward() is only called when the schema says has_backward,
//     on an object prepared with training on, after that object's forward()
//     of the same step, with the same inputs and parameters; its `outputs`
//     are what that forward() wrote.
//   - Failures. A failed Status or any exception thrown by a call becomes
//     one error naming the node, the op and its plugin, and stops the step:
//     an op need not catch what its libraries throw.
//   - Threading. One Op object is never called from two threads at once, but
//     different Op objects may run concurrently (independent nodes of one
//     forward or one backward pass), so an op keeps no mutable state outside
//     itself. Buffers are owned by the engine; views are valid only for the
//     duration of the call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "keel/abi.h"
#include "keel/schema.hpp"
#include "keel/status.hpp"
#include "keel/tensor.hpp"

namespace keel {

struct InferContext {
  std::span<const TensorSpec> inputs;
  // Filled by infer(): one entry per schema output, one shape per schema param.
  std::vector<TensorSpec> outputs;
  std::vector<Shape> param_shapes;
};

struct PrepareContext {
  std::span<const TensorSpec> inputs;   // static shapes
  std::span<const TensorSpec> outputs;  // as infer() reported them
  std::span<const TensorSpec> params;
  bool training = false;
};

// What the ranks of a data-parallel run share (docs/distributed.md), as an
// op sees it: ForwardContext::collective and BackwardContext::collective are
// null on a single process. An op that computes statistics of its batch
// (batch normalization) can sum them across ranks so every rank uses the
// global batch's. Every rank must call sum() alike: same count, same order.
class Collective {
 public:
  explicit Collective(const keel_collective* c) : c_(c) {}
  int rank() const { return c_->rank; }
  int ranks() const { return c_->ranks; }
  // The run asked every op with batch statistics to share them.
  bool sync_batch_statistics() const { return c_->sync_batch_statistics != 0; }
  // Adds `values` across ranks in place; every rank gets the same bits.
  Status sum(std::span<double> values) const {
    if (c_->sum_f64(c_->ctx, values.data(), values.size()) != 0)
      return Status::Error("summing across ranks failed");
    return Status::Ok();
  }

 private:
  const keel_collective* c_;
};

struct ForwardContext {
  std::span<const ConstTensorView> inputs;
  std::span<const TensorView> outputs;  // preallocated; the op fills every element
  std::span<const TensorView> params;   // writable: forward may update running state
  bool training = false;
  std::uint64_t seed = 0;                  // the graph seed mixed with the node name
  std::uint64_t step = 0;                  // training step, for stochastic ops
  const Collective* collective = nullptr;  // data-parallel runs only
};

// Gradients are written, not accumulated: the engine sums them when a tensor
// has several consumers. A view whose data is null is a gradient nobody needs.
struct BackwardContext {
  std::span<const ConstTensorView> inputs;
  std::span<const ConstTensorView> outputs;  // forward results of this step
  std::span<const ConstTensorView> params;
  std::span<const ConstTensorView> grad_outputs;
  std::span<const TensorView> grad_inputs;
  std::span<const TensorView> grad_params;
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
  const Collective* collective = nullptr;  // data-parallel runs only
};

// Default visibility: plugins are built with hidden visibility, and the host
// and every plugin must agree on this class's vtable and typeinfo.
class __attribute__((visibility("default"))) Op {
 public:
  virtual ~Op() = default;
  virtual Status infer(InferContext& ctx) const = 0;
  virtual Status prepare(const PrepareContext&) { return Status::Ok(); }
  virtual Status forward(const ForwardContext& ctx) = 0;
  // Only called when the schema says has_backward.
  virtual Status backward(const BackwardContext&) { return fail("this op has no backward"); }
  // A data-parallel run gives each op its collective before prepare();
  // forward() and backward() then find it in their context. The default
  // keeps it; the host's op overrides it to pass it through the C table.
  virtual Status set_collective(const keel_collective* c) {
    collective_.emplace(c);
    return Status::Ok();
  }
  const Collective* collective() const { return collective_ ? &*collective_ : nullptr; }

 private:
  std::optional<Collective> collective_;
};

using OpFactory = std::unique_ptr<Op> (*)(const Attrs& attrs);
// Whatever makes an op from attributes: a plugin's OpFactory, or a host's
// maker that goes through a plugin's C table (keel/import.hpp).
using OpMaker = std::function<std::unique_ptr<Op>(const Attrs& attrs)>;

// Convenience for the common case: make<MyOp> constructs MyOp(attrs).
template <class T>
std::unique_ptr<Op> make_op(const Attrs& attrs) {
  return std::make_unique<T>(attrs);
}

}  // namespace keel
