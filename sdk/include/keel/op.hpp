// The operator interface.
//
// Lifecycle of one node's op (one Op object per node):
//   1. The engine checks the node's attributes against the schema, then calls
//      the factory with them: construct, keep the attributes, allocate nothing.
//   2. infer() is called with the input specs, at `keel validate` time with
//      symbolic dimensions and again when data binds them. It must be pure:
//      it reports output specs and parameter shapes and changes no state.
//   3. prepare() is called once per concrete binding of the input shapes,
//      before any forward. Create oneDNN primitives and scratch space here:
//      forward and backward are called every step and must not.
//   4. forward() (and, when training, backward()) run any number of times.
//
// Threading: the engine never calls one Op object from two threads at once,
// but different Op objects may run concurrently, so an op keeps no mutable
// state outside itself. Buffers are owned by the engine; views are valid
// only for the duration of the call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

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

struct ForwardContext {
  std::span<const ConstTensorView> inputs;
  std::span<const TensorView> outputs;  // preallocated; the op fills every element
  std::span<const TensorView> params;   // writable: forward may update running state
  bool training = false;
  std::uint64_t seed = 0;  // the graph seed mixed with the node name
  std::uint64_t step = 0;  // training step, for stochastic ops
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
