// The CPU-specific paths of the optimizer loops (avx512f, fma, generic;
// the ops run the best one this CPU has) against each other: the fused
// paths must agree bit for bit, whatever the vector width, and the
// generic path (unfused, as torch on CPUs without FMA) must stay within
// the parity tolerance of them. The op tests check the best path against
// the double reference and torch.
#include <catch2/catch.hpp>
#include <functional>
#include <random>

#include "optimizer_kernels.hpp"
#include "update_driver.hpp"

using namespace keel::optimizer;
using opttest::Floats;

namespace {

constexpr std::size_t kSize = 1003;  // every vector width, plus a remainder
constexpr int kSteps = 5;

Floats random_floats(std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats v(kSize);
  for (float& x : v) x = dist(rng);
  return v;
}

struct Run {
  Floats param, state0, state1;
};

GradientTerms all_terms(int step) {
  GradientTerms t;
  t.scale = 0.5f + 0.125f * float(step);
  t.clip = 0.6f;
  t.l1 = 0.01f;
  t.l2 = 0.02f;
  return t;
}

Run run_sgd(Isa isa, bool nesterov) {
  std::mt19937 rng(11);
  Run r{random_floats(rng, -2.0f, 2.0f), Floats(kSize, 0.0f), {}};
  for (int k = 0; k < kSteps; ++k) {
    const Floats grad = random_floats(rng, -1.5f, 1.5f);
    SgdCoefficients c;
    c.neg_lr = -0.05f;
    c.use_momentum = true;
    c.momentum = 0.9f;
    c.one_minus_dampening = nesterov ? 1.0f : 0.75f;
    c.nesterov = nesterov;
    c.first_step = k == 0;
    sgd_update(isa, {std::int64_t(kSize), r.param.data(), grad.data(), r.state0.data()}, all_terms(k), c);
  }
  return r;
}

Run run_adam(Isa isa, bool decoupled) {
  std::mt19937 rng(12);
  Run r{random_floats(rng, -2.0f, 2.0f), Floats(kSize, 0.0f), Floats(kSize, 0.0f)};
  for (int k = 0; k < kSteps; ++k) {
    const Floats grad = random_floats(rng, -1.5f, 1.5f);
    GradientTerms t = all_terms(k);
    AdamCoefficients c;
    if (decoupled) {
      t.l2 = 0.0f;
      c.decay = 0.999f;
    }
    c.sqrt_bias_correction2 = 0.5f;
    c.neg_step_size = -0.01f;
    adam_update(isa, {std::int64_t(kSize), r.param.data(), grad.data(), r.state0.data(), r.state1.data()}, t,
                c);
  }
  return r;
}

void check_paths_agree(const std::function<Run(Isa)>& run) {
  const std::vector<Isa> isas = supported_isas();
  REQUIRE(isas.front() == best_isa());
  REQUIRE(isas.back() == Isa::generic);
  if (isas.size() == 1) return;  // only the generic path: nothing to compare
  const Run fused = run(isas.front());
  for (Isa isa : isas) {
    INFO("path " << isa_name(isa));
    const Run got = run(isa);
    if (isa != Isa::generic) {
      CHECK(got.param == fused.param);
      CHECK(got.state0 == fused.state0);
      CHECK(got.state1 == fused.state1);
      continue;
    }
    // Fused and unfused multiply-adds differ by at most an ulp each; same
    // tolerance as the torch parity test, for the same reason.
    const auto as_double = [](const Floats& f) { return opttest::Doubles(f.begin(), f.end()); };
    opttest::check_close(got.param, as_double(fused.param), 1e-6, 1e-7, "param");
    opttest::check_close(got.state0, as_double(fused.state0), 1e-6, 1e-7, "state 0");
    opttest::check_close(got.state1, as_double(fused.state1), 1e-6, 1e-7, "state 1");
  }
}

}  // namespace

TEST_CASE("every CPU path of the sgd loop gives the same update") {
  for (bool nesterov : {false, true}) check_paths_agree([&](Isa isa) { return run_sgd(isa, nesterov); });
}

TEST_CASE("every CPU path of the adam loop gives the same update") {
  for (bool decoupled : {false, true}) check_paths_agree([&](Isa isa) { return run_adam(isa, decoupled); });
}
