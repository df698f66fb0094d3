// What mse and bce_with_logits share: a loss that compares two f32 tensors
// of one shape element by element, sums the terms in double (so the scalar
// does not drift with the batch size) and folds the sum by the reduction.
// An op supplies its term and its two gradients; the checks, the loops and
// the scaling live here, so both ops report and scale alike.
#pragma once

#include <cstdint>

#include "common/keel_dnnl.hpp"
#include "reduction.hpp"

namespace keel::nn {

class ElementwiseLoss : public Op {
 public:
  Status infer(InferContext& ctx) const final {
    KEEL_RETURN_IF_ERROR(dnnl_util::expect_f32(names_.op, names_.first, ctx.inputs[0]));
    KEEL_RETURN_IF_ERROR(dnnl_util::expect_f32(names_.op, "target", ctx.inputs[1]));
    if (ctx.inputs[0].shape != ctx.inputs[1].shape)
      return fail(names_.op, ": ", names_.first_is, " ", shape_str(ctx.inputs[0].shape), " but target is ",
                  shape_str(ctx.inputs[1].shape), "; they must have the same shape");
    ctx.outputs = {TensorSpec{DType::f32, {}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) final {
    count_ = numel(ctx.inputs[0].shape);
    if (count_ == 0 && reduction_ == Reduction::mean)
      return fail(names_.op, ": ", names_.first_is, " empty, and the mean of no elements is undefined");
    return Status::Ok();
  }

 protected:
  // How messages name the op and its first input ("logits" and "logits are").
  struct Names {
    const char* op;
    const char* first;
    const char* first_is;
  };

  ElementwiseLoss(Names names, Reduction reduction) : names_(names), reduction_(reduction) {}

  // The loss: term(first[i], target[i]) summed over all elements, reduced.
  template <class Term>
  void write_loss(const ForwardContext& ctx, Term term) const {
    const float* a = ctx.inputs[0].as<float>();
    const float* t = ctx.inputs[1].as<float>();
    double total = 0.0;
    for (std::int64_t i = 0; i < count_; ++i) total += term(a[i], t[i]);
    *ctx.outputs[0].as<float>() = reduce_sum(reduction_, total, count_);
  }

  // What each term's gradient is multiplied by, after checking the upstream
  // gradient is one number.
  Status grad_scale(const BackwardContext& ctx, double& scale) const {
    KEEL_RETURN_IF_ERROR(expect_scalar_grad(names_.op, ctx));
    scale = term_scale(reduction_, ctx, count_);
    return Status::Ok();
  }

  // Fills the input gradients that are asked for, element by element.
  template <class GradFirst, class GradTarget>
  void write_grads(const BackwardContext& ctx, GradFirst grad_first, GradTarget grad_target) const {
    const float* a = ctx.inputs[0].as<float>();
    const float* t = ctx.inputs[1].as<float>();
    if (float* g = ctx.grad_inputs[0].as<float>())
      for (std::int64_t i = 0; i < count_; ++i) g[i] = grad_first(a[i], t[i]);
    if (float* g = ctx.grad_inputs[1].as<float>())
      for (std::int64_t i = 0; i < count_; ++i) g[i] = grad_target(a[i], t[i]);
  }

 private:
  Names names_;
  Reduction reduction_;
  std::int64_t count_ = 0;
};

}  // namespace keel::nn
