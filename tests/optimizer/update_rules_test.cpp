// sgd, adam and adamw against the naive double-precision optimizers of
// reference_optimizers.hpp, over every combination of the attributes that
// changes the update, for several steps with a changing learning rate and
// gradient scale, updating in place as the engine does.
#include <catch2/catch.hpp>
#include <random>

#include "plugin_ops.hpp"
#include "reference_optimizers.hpp"
#include "update_driver.hpp"

using namespace opttest;
using optest::op_maker;
using optest::op_schema;

namespace {

constexpr int kSteps = 6;
const keel::Shape kShape{11, 37};  // 407 elements: full vectors and a remainder

// Each step rounds about a dozen f32 operations (2^-24 ~ 6e-8 relative
// each) on values below ~4 in size, and carries the previous steps'
// rounding in param and the state: after 6 steps the op is within 5e-7 of
// the double reference here (measured), 4e-6 leaves margin. A wrong term
// (a missed bias correction, dampening on the first momentum step, eps in
// the wrong place with eps = 1e-3) moves values by 1e-4 or more.
constexpr double kRel = 4e-6, kAbs = 4e-6;

Floats random_floats(std::mt19937& rng, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Runs kSteps updates through the op and the reference from the same
// start, comparing param and every state tensor after each step.
void check_against_reference(const keel::OpMaker& factory, const keel::OpSchema& schema,
                             const std::map<std::string, keel::AttrValue>& attrs, const ReferenceConfig& ref,
                             bool scaled, unsigned seed) {
  std::mt19937 rng(seed);
  const std::size_t n = static_cast<std::size_t>(keel::numel(kShape));
  UpdateDriver op(factory, attrs_for(schema, attrs), kShape);
  Floats param = random_floats(rng, n, -2.0f, 2.0f);
  ReferenceState want(Doubles(param.begin(), param.end()));
  for (int k = 0; k < kSteps; ++k) {
    INFO("step " << k);
    const Floats grad = random_floats(rng, n, -1.5f, 1.5f);
    const float lr = 0.05f / float(k + 1);
    const float scale = scaled ? 0.3f + 0.15f * float(k) : 1.0f;
    op.update(param, grad, lr, scale, std::uint64_t(k));
    reference_update(ref, want, Doubles(grad.begin(), grad.end()), lr, scale, std::uint64_t(k));
    check_close(param, want.param, kRel, kAbs, "param");
    if (ref.op == "sgd") {
      check_close(op.state()[0], want.momentum_buffer, kRel, kAbs, "momentum_buffer");
    } else {
      check_close(op.state()[0], want.exp_avg, kRel, kAbs, "exp_avg");
      check_close(op.state()[1], want.exp_avg_sq, kRel, kAbs, "exp_avg_sq");
    }
  }
}

}  // namespace

TEST_CASE(
    "sgd follows torch's rule for every momentum, dampening, nesterov, decay, l1, clip and scale setting") {
  unsigned seed = 1;
  for (double momentum : {0.0, 0.9})
    for (double dampening : {0.0, 0.3})
      for (bool nesterov : {false, true})
        for (double wd : {0.0, 0.02})
          for (double l1 : {0.0, 0.01})
            for (double clip : {0.0, 0.5})
              for (bool scaled : {false, true}) {
                if (nesterov && (momentum == 0.0 || dampening != 0.0)) continue;  // rejected, as by torch
                INFO("momentum " << momentum << " dampening " << dampening << " nesterov " << nesterov
                                 << " wd " << wd << " l1 " << l1 << " clip " << clip << " scaled " << scaled);
                ReferenceConfig ref;
                ref.momentum = momentum;
                ref.dampening = dampening;
                ref.nesterov = nesterov;
                ref.weight_decay = wd;
                ref.l1 = l1;
                ref.clip_value = clip;
                check_against_reference(op_maker("sgd"), op_schema("sgd"),
                                        {{"momentum", momentum},
                                         {"dampening", dampening},
                                         {"nesterov", nesterov},
                                         {"weight_decay", wd},
                                         {"l1", l1},
                                         {"clip_value", clip}},
                                        ref, scaled, seed++);
              }
}

TEST_CASE("adam and adamw follow torch's rules for every betas, eps, decay, l1, clip and scale setting") {
  unsigned seed = 100;
  for (const char* op : {"adam", "adamw"})
    for (auto [beta1, beta2] : {std::pair{0.9, 0.999}, std::pair{0.5, 0.9}, std::pair{0.0, 0.0}})
      for (double eps : {1e-8, 1e-3})
        for (double wd : {0.0, 0.05})
          for (double l1 : {0.0, 0.01})
            for (double clip : {0.0, 0.4})
              for (bool scaled : {false, true}) {
                INFO(op << " betas " << beta1 << ", " << beta2 << " eps " << eps << " wd " << wd << " l1 "
                        << l1 << " clip " << clip << " scaled " << scaled);
                ReferenceConfig ref;
                ref.op = op;
                ref.beta1 = beta1;
                ref.beta2 = beta2;
                ref.eps = eps;
                ref.weight_decay = wd;
                ref.l1 = l1;
                ref.clip_value = clip;
                const bool w = ref.op == "adamw";
                check_against_reference(w ? op_maker("adamw") : op_maker("adam"),
                                        w ? op_schema("adamw") : op_schema("adam"),
                                        {{"beta1", beta1},
                                         {"beta2", beta2},
                                         {"eps", eps},
                                         {"weight_decay", wd},
                                         {"l1", l1},
                                         {"clip_value", clip}},
                                        ref, scaled, seed++);
              }
}

TEST_CASE(
    "sgd's first update puts the gradient itself in the momentum buffer and dampening only applies from then "
    "on") {
  UpdateDriver op(op_maker("sgd"), attrs_for(op_schema("sgd"), {{"momentum", 0.9}, {"dampening", 0.5}}), {1});
  Floats param{1.0f};
  op.update(param, {2.0f}, 0.125f, 1.0f, 0);
  CHECK(op.state()[0][0] == 2.0f);  // not (1 - dampening) * 2
  CHECK(param[0] == 0.75f);         // 1 - 0.125 * 2
  op.update(param, {2.0f}, 0.125f, 1.0f, 1);
  CHECK(op.state()[0][0] == Approx(2.8));  // 0.9 * 2 + 0.5 * 2
  CHECK(param[0] == Approx(0.75 - 0.35));
}

TEST_CASE("adam resumed at a later step uses that step's bias correction and the stored moments") {
  for (const char* name : {"adam", "adamw"}) {
    INFO(name);
    const bool w = std::string(name) == "adamw";
    std::mt19937 rng(7);
    const std::size_t n = 50;
    UpdateDriver op(w ? op_maker("adamw") : op_maker("adam"),
                    attrs_for(w ? op_schema("adamw") : op_schema("adam"), {}), {50});
    Floats param = random_floats(rng, n, -1.0f, 1.0f);
    op.state()[0] = random_floats(rng, n, -0.1f, 0.1f);
    op.state()[1] = random_floats(rng, n, 0.0f, 0.01f);
    ReferenceConfig ref;
    ref.op = name;
    ref.weight_decay = w ? 0.01 : 0.0;
    ReferenceState want(Doubles(param.begin(), param.end()));
    want.exp_avg.assign(op.state()[0].begin(), op.state()[0].end());
    want.exp_avg_sq.assign(op.state()[1].begin(), op.state()[1].end());
    for (std::uint64_t step = 9; step < 12; ++step) {
      const Floats grad = random_floats(rng, n, -1.0f, 1.0f);
      op.update(param, grad, 1e-3f, 1.0f, step);
      reference_update(ref, want, Doubles(grad.begin(), grad.end()), double(1e-3f), 1.0, step);
      check_close(param, want.param, kRel, kAbs, "param");
      check_close(op.state()[0], want.exp_avg, kRel, kAbs, "exp_avg");
      check_close(op.state()[1], want.exp_avg_sq, kRel, kAbs, "exp_avg_sq");
    }
  }
}
