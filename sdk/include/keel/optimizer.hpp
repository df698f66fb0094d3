// THE OPTIMIZER-OP CONTRACT
//
// An op whose schema declares `role = Role::optimizer` is an optimizer: a
// graph's `train.optimizer.op` may name it, and the training engine then
// runs one instance of it per trained parameter after every step's backward
// pass. The engine knows optimizers by this declaration alone, never by
// name; it relies on exactly what follows, and refuses (one line naming the
// op and its plugin) a declared optimizer whose schema breaks it.
//
// Inputs (in this order; none is differentiable, an optimizer has no backward)
//   param   f32, any shape: the parameter's current values.
//   grad    f32, param's shape: the gradient of the loss.
//   hyper   f32 [2]: hyper[0] = this step's learning rate (after the
//           schedule), hyper[1] = the gradient scale from global-norm
//           clipping (1 when clipping is off). Both must be finite and
//           >= 0; anything else should fail the step instead of writing
//           NaN into the parameter.
// Output (exactly one)
//   updated f32, param's shape. The engine passes the parameter's own
//           buffer as both inputs[0].data and outputs[0].data: the update
//           is in place. An op may also accept an out-of-place output
//           (filled from param first).
// Params (optimizer state)
//   Declared in the schema with Init::Zeros and trainable = false; infer()
//   reports each with the param input's shape (static). The engine
//   allocates them zeroed, passes them as ForwardContext::params, and stores
//   them in checkpoints as `optim.<parameter>.<state>`
//   (optim.fc1.weight.momentum_buffer), so `--resume` continues the state.
// Step
//   ForwardContext::step = the number of training steps before this one
//   (0 on the first update): with no guard skipping or rolling back steps,
//   the updates already applied to this parameter. Adam-like bias
//   corrections use t = step + 1.
// Gradient actually used
//   g = grad * hyper[1] first; then whatever the op's own attributes add
//   (the bundled optimizers clamp to clip_value, add l1 * sign(param), and
//   apply weight decay), then the op's rule.
#pragma once

#include <cstddef>
#include <string>

#include "keel/schema.hpp"

namespace keel::optimizer {

// Port names, in the order the engine passes the tensors.
inline constexpr const char* kParamPort = "param";
inline constexpr const char* kGradPort = "grad";
inline constexpr const char* kHyperPort = "hyper";
inline constexpr const char* kUpdatedPort = "updated";
inline constexpr std::size_t kInputCount = 3;

// hyper's elements.
inline constexpr std::size_t kLearningRate = 0;
inline constexpr std::size_t kGradientScale = 1;
inline constexpr std::size_t kHyperSize = 2;

// Checkpoint names of the state: kStatePrefix + parameter + "." + state.
inline constexpr const char* kStatePrefix = "optim.";

// What a schema declaring Role::optimizer breaks of the contract, as one
// clause ("inputs are x, y; the contract wants param, grad, hyper"), or ""
// when it keeps it (and for any schema that does not declare the role).
inline std::string contract_violation(const OpSchema& s) {
  if (s.role != Role::optimizer) return "";
  const bool ports = s.inputs.size() == kInputCount && s.inputs[0].name == kParamPort &&
                     s.inputs[1].name == kGradPort && s.inputs[2].name == kHyperPort;
  if (!ports) {
    std::string names;
    for (const auto& p : s.inputs) names += (names.empty() ? "" : ", ") + p.name;
    return "inputs are (" + names + "); the contract wants (param, grad, hyper)";
  }
  if (s.outputs.size() != 1)
    return "it has " + std::to_string(s.outputs.size()) + " outputs; the contract wants one (updated)";
  for (const auto& p : s.params)
    if (p.trainable || p.init != Init::Zeros)
      return "state parameter '" + p.name + "' must be trainable = false with Init::Zeros";
  return "";
}

}  // namespace keel::optimizer
