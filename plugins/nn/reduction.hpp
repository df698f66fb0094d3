// The `reduction` attribute every loss of the nn plugin shares: how the
// per-element (or per-row) terms fold into the scalar.
#pragma once

#include <cstdint>
#include <string>

#include "keel/keel.hpp"

namespace keel::nn {

enum class Reduction : std::uint8_t { mean, sum };

inline Reduction reduction_of(const Attrs& attrs) {
  return attrs.s("reduction") == "sum" ? Reduction::sum : Reduction::mean;
}

inline AttrSpec reduction_attr() {
  return AttrSpec{.name = "reduction",
                  .type = AttrType::String,
                  .doc = "how the terms become one number: mean (divided by their count) or sum",
                  .default_value = AttrValue{std::string("mean")},
                  .choices = {"mean", "sum"}};
}

// What every loss of the plugin declares: the reduction attribute, a
// backward, and the loss role that lets training minimize it.
inline void declare_reduced_loss(OpSchema& s) {
  s.attrs = {reduction_attr()};
  s.has_backward = true;
  s.role = Role::loss;
}

// The loss from the sum of its `count` terms.
inline float reduce_sum(Reduction reduction, double total, std::int64_t count) {
  if (reduction == Reduction::mean) total /= static_cast<double>(count);
  return static_cast<float>(total);
}

// The upstream gradient each term's gradient is scaled by: divided by the
// number of terms for a mean. Call after expect_scalar_grad.
inline double term_scale(Reduction reduction, const BackwardContext& ctx, std::int64_t count) {
  double scale = *ctx.grad_outputs[0].as<float>();
  if (reduction == Reduction::mean) scale /= static_cast<double>(count);
  return scale;
}

// A loss's upstream gradient: one number (1 when the loss is what training
// minimizes, anything when another node consumes it).
inline Status expect_scalar_grad(const char* op, const BackwardContext& ctx) {
  if (ctx.grad_outputs[0].numel() != 1 || ctx.grad_outputs[0].data == nullptr)
    return fail(op, ": the gradient of the loss must be one number");
  return Status::Ok();
}

}  // namespace keel::nn
