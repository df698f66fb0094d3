// sgd: torch.optim.SGD for one parameter (momentum, dampening, Nesterov,
// L2 weight decay), after the shared gradient preprocessing of
// optimizer_contract.hpp.
#include <cmath>
#include <string>

#include "common/keel_parallel.hpp"
#include "optimizer_contract.hpp"
#include "optimizer_ops.hpp"

namespace keel::optimizer {
namespace {

class SgdOp final : public Op {
 public:
  explicit SgdOp(const Attrs& a)
      : momentum_(a.f("momentum")),
        dampening_(a.f("dampening")),
        weight_decay_(a.f("weight_decay")),
        nesterov_(a.b("nesterov")),
        gradient_(read_gradient_attrs(a, "sgd", check_)) {
    check_.require(std::isfinite(momentum_) && momentum_ >= 0.0,
                   "sgd: momentum must be finite and >= 0, got " + std::to_string(momentum_));
    check_.require(std::isfinite(dampening_) && dampening_ >= 0.0 && dampening_ <= 1.0,
                   "sgd: dampening must be in [0, 1], got " + std::to_string(dampening_));
    check_.require(std::isfinite(weight_decay_) && weight_decay_ >= 0.0,
                   "sgd: weight_decay must be finite and >= 0, got " + std::to_string(weight_decay_));
    check_.require(!nesterov_ || (momentum_ > 0.0 && dampening_ == 0.0),
                   "sgd: nesterov needs momentum > 0 and dampening 0, got momentum " +
                       std::to_string(momentum_) + " and dampening " + std::to_string(dampening_));
  }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(check_.status());
    return infer_update("sgd", ctx, 1);
  }

  Status forward(const ForwardContext& ctx) override {
    KEEL_RETURN_IF_ERROR(check_.status());
    UpdateViews u;
    KEEL_RETURN_IF_ERROR(begin_update("sgd", ctx, u));
    if (u.size == 0) return Status::Ok();
    SgdCoefficients c;
    c.neg_lr = -u.lr;  // param.add_(d_p, alpha=-lr)
    c.use_momentum = momentum_ != 0.0;
    c.momentum = static_cast<float>(momentum_);
    c.one_minus_dampening = static_cast<float>(1.0 - dampening_);
    c.nesterov = nesterov_;
    c.first_step = ctx.step == 0;
    const GradientTerms terms = gradient_terms(gradient_, u.grad_scale, weight_decay_);
    // Element-wise: any split gives the same bytes. Read param, grad and
    // buffer, write param and buffer.
    parallel::for_chunks(u.size, 5 * sizeof(float), [&](std::int64_t begin, std::int64_t end) {
      sgd_update(best_isa(), {end - begin, u.param + begin, u.grad + begin, u.state[0] + begin}, terms, c);
    });
    return Status::Ok();
  }

 private:
  ConfigCheck check_;  // first: the members below report into it
  double momentum_, dampening_, weight_decay_;
  bool nesterov_;
  GradientAttrs gradient_;
};

}  // namespace

OpSchema sgd_schema() {
  OpSchema s;
  s.name = "sgd";
  s.doc =
      "One SGD update of a parameter, in place, exactly as torch.optim.SGD (momentum, Nesterov, weight "
      "decay)";
  s.inputs = update_inputs();
  s.outputs = update_outputs();
  s.attrs = {{"momentum", AttrType::Float, "momentum factor (0 = plain SGD)", 0.0, 0.0, std::nullopt, {}},
             {"dampening",
              AttrType::Float,
              "dampening of the gradient added to the momentum buffer",
              0.0,
              0.0,
              1.0,
              {}},
             {"nesterov",
              AttrType::Bool,
              "Nesterov momentum; needs momentum > 0 and dampening 0",
              false,
              std::nullopt,
              std::nullopt,
              {}},
             {"weight_decay",
              AttrType::Float,
              "L2 penalty: weight_decay * param is added to the gradient",
              0.0,
              0.0,
              std::nullopt,
              {}}};
  for (AttrSpec& a : gradient_attrs()) s.attrs.push_back(std::move(a));
  s.params = {state_param("momentum_buffer",
                          "the momentum buffer (torch's momentum_buffer), the first update's d_p on step 0")};
  s.has_backward = false;
  s.role = Role::optimizer;
  OpExample momentum = update_example();
  momentum.doc = "momentum, Nesterov";
  momentum.attrs = {{"momentum", 0.9}, {"nesterov", true}};
  OpExample bad = update_example();
  bad.doc = "Nesterov without momentum";
  bad.attrs = {{"nesterov", true}};
  bad.rejects = "nesterov needs momentum > 0";
  s.examples = {update_example(), momentum, bad};
  return s;
}

std::unique_ptr<Op> sgd_factory(const Attrs& attrs) { return std::make_unique<SgdOp>(attrs); }

}  // namespace keel::optimizer
