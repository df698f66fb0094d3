// What every optimizer op shares: the documented ports, the gradient
// preprocessing attributes, shape inference and the per-step checks of the
// views the engine passes.
#include "optimizer_contract.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace keel::optimizer {

std::vector<PortSpec> update_inputs() {
  return {
      {"param", "f32, any shape: the parameter's current values (the engine passes its own buffer)", false},
      {"grad", "f32, param's shape: the gradient of the loss with respect to param", false},
      {"hyper",
       "f32 [2]: learning rate of this step (after the schedule), gradient scale from global-norm "
       "clipping (1 when off); both finite and >= 0",
       false}};
}

OpExample update_example() {
  ExampleInput param;
  param.spec = {DType::f32, {kBatch, 4}};
  ExampleInput hyper;
  hyper.spec = {DType::f32, {2}};
  hyper.values = {0.1, 1.0};  // learning rate, gradient scale
  OpExample ex;
  ex.doc = "one update";
  ex.inputs = {param, param, hyper};
  return ex;
}

std::vector<PortSpec> update_outputs() {
  return {{"updated", "param's shape: the parameter after one update; may be param's own buffer (in place)"}};
}

std::vector<AttrSpec> gradient_attrs() {
  return {{"clip_value",
           AttrType::Float,
           "clamp each scaled gradient element to [-clip_value, clip_value] before the update (0 = off), "
           "as torch.nn.utils.clip_grad_value_",
           0.0,
           0.0,
           std::nullopt,
           {}},
          {"l1",
           AttrType::Float,
           "L1 regularization: adds l1 * sign(param) to the gradient after clipping (sign(0) = 0)",
           0.0,
           0.0,
           std::nullopt,
           {}}};
}

ParamSpec state_param(const std::string& name, const std::string& doc) {
  return {name, doc + "; param's shape, starts at zero, checkpointed as <node>." + name, Init::Zeros, false};
}

GradientAttrs read_gradient_attrs(const Attrs& attrs, const char* op, ConfigCheck& check) {
  GradientAttrs g{attrs.f("clip_value"), attrs.f("l1")};
  check.require(std::isfinite(g.clip_value) && g.clip_value >= 0.0,
                std::string(op) + ": clip_value must be finite and >= 0 (0 = off), got " +
                    std::to_string(g.clip_value));
  check.require(std::isfinite(g.l1) && g.l1 >= 0.0,
                std::string(op) + ": l1 must be finite and >= 0, got " + std::to_string(g.l1));
  return g;
}

GradientTerms gradient_terms(const GradientAttrs& attrs, float grad_scale, double l2) {
  GradientTerms t;
  t.scale = grad_scale;
  if (attrs.clip_value != 0.0) t.clip = static_cast<float>(attrs.clip_value);
  t.l1 = static_cast<float>(attrs.l1);
  t.l2 = static_cast<float>(l2);
  return t;
}

Status infer_update(const char* op, InferContext& ctx, std::size_t states) {
  const char* names[] = {"param", "grad", "hyper"};
  for (std::size_t i = 0; i < 3; ++i)
    if (ctx.inputs[i].dtype != DType::f32)
      return fail(op, ": ", names[i], " has dtype ", dtype_name(ctx.inputs[i].dtype),
                  "; only f32 is supported");
  const Shape& param = ctx.inputs[0].shape;
  if (ctx.inputs[1].shape != param)
    return fail(op, ": grad is ", shape_str(ctx.inputs[1].shape), " but param is ", shape_str(param));
  if (ctx.inputs[2].shape != Shape{2})
    return fail(op, ": hyper must be [2] (learning rate, gradient scale), got ",
                shape_str(ctx.inputs[2].shape));
  ctx.outputs = {TensorSpec{DType::f32, param}};
  ctx.param_shapes.assign(states, param);
  return Status::Ok();
}

namespace {

// True when [a, a + n) and [b, b + n) share a byte; element pointers are
// compared as integers because they may belong to different allocations.
bool overlaps(const void* a, const void* b, std::size_t bytes) {
  const auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
  return x < y + bytes && y < x + bytes;
}

}  // namespace

Status begin_update(const char* op, const ForwardContext& ctx, UpdateViews& out) {
  const ConstTensorView& param = ctx.inputs[0];
  const std::int64_t n = param.numel();
  if (ctx.inputs[1].numel() != n || ctx.outputs[0].numel() != n)
    return fail(op, ": param has ", n, " elements but grad has ", ctx.inputs[1].numel(), " and updated ",
                ctx.outputs[0].numel());
  for (const TensorView& s : ctx.params)
    if (s.numel() != n) return fail(op, ": a state tensor has ", s.numel(), " elements, param has ", n);
  if (ctx.inputs[2].numel() != 2 || ctx.inputs[2].data == nullptr)
    return fail(op, ": hyper must hold 2 values (learning rate, gradient scale)");
  const float* hyper = ctx.inputs[2].as<float>();
  if (!std::isfinite(hyper[0]) || hyper[0] < 0.0f)
    return fail(op, ": learning rate (hyper[0]) must be finite and >= 0, got ", hyper[0]);
  if (!std::isfinite(hyper[1]) || hyper[1] < 0.0f)
    return fail(op, ": gradient scale (hyper[1]) must be finite and >= 0, got ", hyper[1],
                " (non-finite gradients upstream?)");
  out.size = n;
  out.lr = hyper[0];
  out.grad_scale = hyper[1];
  out.state.clear();
  if (n == 0) return Status::Ok();
  if (param.data == nullptr || ctx.inputs[1].data == nullptr || ctx.outputs[0].data == nullptr)
    return fail(op, ": param, grad and updated need data");
  for (const TensorView& s : ctx.params) {
    if (s.data == nullptr) return fail(op, ": a state tensor has no data");
    out.state.push_back(s.as<float>());
  }
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(float);
  void* dst = ctx.outputs[0].data;
  // The kernels assume that the buffers they write share memory with no
  // other buffer they touch (restrict pointers).
  std::vector<const void*> touched{dst, ctx.inputs[1].data};
  for (float* s : out.state) touched.push_back(s);
  for (std::size_t i = 0; i < touched.size(); ++i)
    for (std::size_t j = i + 1; j < touched.size(); ++j)
      if (overlaps(touched[i], touched[j], bytes))
        return fail(op, ": updated, grad and the state tensors must not share memory");
  // An exact alias is the engine's in-place update; anything else must be
  // disjoint, and is filled from param before being updated in place.
  if (dst != param.data) {
    if (overlaps(dst, param.data, bytes)) return fail(op, ": updated partially overlaps param");
    std::memcpy(dst, param.data, bytes);
  }
  out.param = static_cast<float*>(dst);
  out.grad = ctx.inputs[1].as<float>();
  return Status::Ok();
}

}  // namespace keel::optimizer
