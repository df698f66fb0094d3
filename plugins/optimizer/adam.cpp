// adam and adamw: torch.optim.Adam (L2 weight decay added to the gradient)
// and torch.optim.AdamW (decoupled: param *= 1 - lr * weight_decay before
// the Adam step) for one parameter, amsgrad off, after the shared gradient
// preprocessing of optimizer_contract.hpp.
#include <cmath>
#include <string>

#include "common/keel_parallel.hpp"
#include "optimizer_contract.hpp"
#include "optimizer_ops.hpp"

namespace keel::optimizer {
namespace {

class AdamOp final : public Op {
 public:
  AdamOp(const Attrs& a, bool decoupled)
      : name_(decoupled ? "adamw" : "adam"),
        decoupled_(decoupled),
        beta1_(a.f("beta1")),
        beta2_(a.f("beta2")),
        eps_(a.f("eps")),
        weight_decay_(a.f("weight_decay")),
        gradient_(read_gradient_attrs(a, name_, check_)) {
    const std::string op(name_);
    check_.require(beta1_ >= 0.0 && beta1_ < 1.0,
                   op + ": beta1 must be in [0, 1), got " + std::to_string(beta1_));
    check_.require(beta2_ >= 0.0 && beta2_ < 1.0,
                   op + ": beta2 must be in [0, 1), got " + std::to_string(beta2_));
    check_.require(std::isfinite(eps_) && eps_ > 0.0,
                   op + ": eps must be finite and > 0, got " + std::to_string(eps_));
    check_.require(std::isfinite(weight_decay_) && weight_decay_ >= 0.0,
                   op + ": weight_decay must be finite and >= 0, got " + std::to_string(weight_decay_));
  }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(check_.status());
    return infer_update(name_, ctx, 2);
  }

  Status forward(const ForwardContext& ctx) override {
    KEEL_RETURN_IF_ERROR(check_.status());
    UpdateViews u;
    KEEL_RETURN_IF_ERROR(begin_update(name_, ctx, u));
    if (u.size == 0) return Status::Ok();
    // Scalars in double, rounded to f32 where torch passes them to a kernel.
    const double lr = u.lr;
    const double t = static_cast<double>(ctx.step) + 1.0;
    const double bias_correction1 = 1.0 - std::pow(beta1_, t);
    const double bias_correction2 = 1.0 - std::pow(beta2_, t);
    AdamCoefficients c;
    c.decay = decoupled_ ? static_cast<float>(1.0 - lr * weight_decay_) : 1.0f;
    c.beta1 = static_cast<float>(beta1_);
    c.one_minus_beta1 = static_cast<float>(1.0 - beta1_);
    c.beta2 = static_cast<float>(beta2_);
    c.one_minus_beta2 = static_cast<float>(1.0 - beta2_);
    c.sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));
    c.eps = static_cast<float>(eps_);
    c.neg_step_size = static_cast<float>(-(lr / bias_correction1));
    const double l2 = decoupled_ ? 0.0 : weight_decay_;
    const GradientTerms terms = gradient_terms(gradient_, u.grad_scale, l2);
    // Element-wise: any split gives the same bytes. Read param, grad and
    // both moments, write param and both moments.
    parallel::for_chunks(u.size, 7 * sizeof(float), [&](std::int64_t begin, std::int64_t end) {
      adam_update(best_isa(),
                  {end - begin, u.param + begin, u.grad + begin, u.state[0] + begin, u.state[1] + begin},
                  terms, c);
    });
    return Status::Ok();
  }

 private:
  ConfigCheck check_;  // first: the members below report into it
  const char* name_;
  bool decoupled_;
  double beta1_, beta2_, eps_, weight_decay_;
  GradientAttrs gradient_;
};

OpSchema schema(bool decoupled) {
  OpSchema s;
  s.name = decoupled ? "adamw" : "adam";
  s.doc =
      decoupled
          ? "One AdamW update of a parameter, in place, exactly as torch.optim.AdamW (decoupled weight decay)"
          : "One Adam update of a parameter, in place, exactly as torch.optim.Adam (L2 weight decay)";
  s.inputs = update_inputs();
  s.outputs = update_outputs();
  s.attrs = {{"beta1",
              AttrType::Float,
              "decay rate of the running mean of the gradient, in [0, 1)",
              0.9,
              0.0,
              1.0,
              {}},
             {"beta2",
              AttrType::Float,
              "decay rate of the running mean of the squared gradient, in [0, 1)",
              0.999,
              0.0,
              1.0,
              {}},
             {"eps",
              AttrType::Float,
              "added to sqrt(bias-corrected exp_avg_sq) in the denominator; > 0",
              1e-8,
              0.0,
              std::nullopt,
              {}},
             {"weight_decay",
              AttrType::Float,
              decoupled ? "decoupled weight decay: param *= 1 - lr * weight_decay before the Adam step"
                        : "L2 penalty: weight_decay * param is added to the gradient",
              decoupled ? 0.01 : 0.0,
              0.0,
              std::nullopt,
              {}}};
  for (AttrSpec& a : gradient_attrs()) s.attrs.push_back(std::move(a));
  s.params = {state_param("exp_avg", "running mean of the gradient (torch's exp_avg)"),
              state_param("exp_avg_sq", "running mean of the squared gradient (torch's exp_avg_sq)")};
  s.has_backward = false;
  s.role = Role::optimizer;
  s.examples = {update_example()};
  return s;
}

}  // namespace

OpSchema adam_schema() { return schema(false); }
OpSchema adamw_schema() { return schema(true); }

std::unique_ptr<Op> adam_factory(const Attrs& attrs) { return std::make_unique<AdamOp>(attrs, false); }
std::unique_ptr<Op> adamw_factory(const Attrs& attrs) { return std::make_unique<AdamOp>(attrs, true); }

}  // namespace keel::optimizer
