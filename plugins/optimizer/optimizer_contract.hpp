// THE OPTIMIZER-OP CONTRACT
//
// The training engine schedules one optimizer node per trainable parameter
// and relies on exactly this from every op of this plugin (sgd, adam, adamw):
//
// Inputs
//   param   f32, any shape: the parameter's current values.
//   grad    f32, param's shape: the gradient of the loss.
//   hyper   f32 [2]: hyper[0] = this step's learning rate (after the
//           schedule), hyper[1] = the gradient scale from global-norm
//           clipping (1 when clipping is off). Both must be finite and
//           >= 0; anything else fails the step instead of writing NaN
//           into the parameter.
// Output
//   updated f32, param's shape. The engine passes the parameter's own
//           buffer as both inputs[0].data and outputs[0].data: the update
//           is in place. An out-of-place output is also accepted (it is
//           filled from param first); a partial overlap is an error.
// Params (optimizer state)
//   Declared in the schema with Init::Zeros, trainable = false, and the
//   param input's shape (infer reports it). The engine stores them as
//   `<optimizer node>.<state>` in checkpoints: sgd `momentum_buffer`,
//   adam/adamw `exp_avg` and `exp_avg_sq`.
// Step
//   ForwardContext::step = updates already applied to this parameter (0 on
//   the first). sgd's first update sets momentum_buffer = d_p, as torch
//   does; adam's bias correction uses t = step + 1.
// Gradient actually used, in this order (each term skipped when its attr
// is 0):
//   g = grad * hyper[1]
//   g = clamp(g, -clip_value, clip_value)   torch.nn.utils.clip_grad_value_
//   g = g + l1 * sign(param)                sign(0) = 0
//   then the optimizer's own rule, identical to torch.optim's single-tensor
//   SGD / Adam / AdamW (L2 weight decay for sgd and adam, decoupled for
//   adamw; amsgrad is not offered). No backward.
// Rounding: f32 throughout, scalars derived in double and rounded where
// torch rounds them; on a CPU with FMA the result equals torch's CPU
// result bit for bit (see optimizer_kernels.hpp). The state tensors are
// read and written only by forward, so the same step sequence always
// gives the same bits on the same CPU.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "keel/keel.hpp"
#include "optimizer_kernels.hpp"

namespace keel::optimizer {

// Ports, the attributes every optimizer shares, and one state parameter,
// so the three schemas document the contract in the same words.
std::vector<PortSpec> update_inputs();
std::vector<PortSpec> update_outputs();
std::vector<AttrSpec> gradient_attrs();
// A valid update for the conformance check: param and grad [batch, 4],
// learning rate 0.1, no clipping.
OpExample update_example();
ParamSpec state_param(const std::string& name, const std::string& doc);

// Checks an attribute's range once, at construction, so that infer() can
// report it (a factory cannot fail). Empty while everything is in range.
class ConfigCheck {
 public:
  void require(bool ok, const std::string& message) {
    if (!ok && error_.empty()) error_ = message;
  }
  Status status() const { return error_.empty() ? Status::Ok() : Status::Error(error_); }

 private:
  std::string error_;
};

// The gradient preprocessing attributes, read from any optimizer's attrs.
struct GradientAttrs {
  double clip_value = 0.0;
  double l1 = 0.0;
};
GradientAttrs read_gradient_attrs(const Attrs& attrs, const char* op, ConfigCheck& check);
// The kernels' gradient terms for one step; l2 is coupled weight decay.
GradientTerms gradient_terms(const GradientAttrs& attrs, float grad_scale, double l2);

// Output spec and state shapes for an optimizer with `states` state tensors.
Status infer_update(const char* op, InferContext& ctx, std::size_t states);

// One update's views, checked against each other, with the output holding
// param's values (copied when the engine did not pass it in place).
struct UpdateViews {
  std::int64_t size = 0;
  float* param = nullptr;  // the output buffer, updated in place
  const float* grad = nullptr;
  std::vector<float*> state;
  float lr = 0.0f;
  float grad_scale = 1.0f;
};
Status begin_update(const char* op, const ForwardContext& ctx, UpdateViews& out);

}  // namespace keel::optimizer
