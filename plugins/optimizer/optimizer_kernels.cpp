// The optimizer loops, compiled three times (avx512f, fma, generic) from
// the same always-inlined templates and chosen at run time, so the plugin
// assumes nothing about the build machine's CPU. Loop-invariant choices
// (which terms are on, the first momentum step) are template parameters:
// the inner loops have no branches and vectorize.
#include "optimizer_kernels.hpp"

#include <cmath>

#include "keel/schema.hpp"

namespace keel::optimizer {
namespace {

#define KEEL_INLINE [[gnu::always_inline]] inline

template <bool Fused>
KEEL_INLINE float madd(float a, float b, float c) {
  if constexpr (Fused)
    return std::fma(a, b, c);
  else
    return a * b + c;
}

// torch.sign: 0 for 0 and NaN.
KEEL_INLINE float sign_of(float p) { return float(p > 0.0f) - float(p < 0.0f); }

// A NaN gradient stays NaN through the clamp, as with torch's clamp_.
template <bool Fused, bool L1, bool L2>
KEEL_INLINE float effective_grad(float grad, float p, const GradientTerms& t, float neg_clip) {
  float g = grad * t.scale;
  g = g < neg_clip ? neg_clip : g;
  g = g > t.clip ? t.clip : g;
  if constexpr (L1) g = g + t.l1 * sign_of(p);
  if constexpr (L2) g = madd<Fused>(p, t.l2, g);  // torch: grad.add(param, alpha=wd)
  return g;
}

enum class Momentum { none, classic, nesterov };

// torch.optim.SGD, _single_tensor_sgd.
template <bool Fused, bool L1, bool L2, Momentum M, bool First>
KEEL_INLINE void sgd_loop(std::int64_t n, float* __restrict__ param, const float* __restrict__ grad,
                          float* __restrict__ buf, GradientTerms t, SgdCoefficients c) {
  const float neg_clip = -t.clip;
  for (std::int64_t i = 0; i < n; ++i) {
    const float p = param[i];
    float d = effective_grad<Fused, L1, L2>(grad[i], p, t, neg_clip);
    if constexpr (M != Momentum::none) {
      float b = d;  // first step: buf = clone(d_p)
      if constexpr (!First) b = madd<Fused>(d, c.one_minus_dampening, buf[i] * c.momentum);
      buf[i] = b;
      if constexpr (M == Momentum::nesterov)
        d = madd<Fused>(b, c.momentum, d);
      else
        d = b;
    }
    param[i] = madd<Fused>(d, c.neg_lr, p);
  }
}

template <bool Fused, bool L1, bool L2, Momentum M>
KEEL_INLINE void sgd_first(const SgdBuffers& b, const GradientTerms& t, const SgdCoefficients& c) {
  if (c.first_step)
    sgd_loop<Fused, L1, L2, M, true>(b.size, b.param, b.grad, b.momentum_buffer, t, c);
  else
    sgd_loop<Fused, L1, L2, M, false>(b.size, b.param, b.grad, b.momentum_buffer, t, c);
}

template <bool Fused, bool L1, bool L2>
KEEL_INLINE void sgd_momentum(const SgdBuffers& b, const GradientTerms& t, const SgdCoefficients& c) {
  if (!c.use_momentum)
    sgd_loop<Fused, L1, L2, Momentum::none, false>(b.size, b.param, b.grad, b.momentum_buffer, t, c);
  else if (c.nesterov)
    sgd_first<Fused, L1, L2, Momentum::nesterov>(b, t, c);
  else
    sgd_first<Fused, L1, L2, Momentum::classic>(b, t, c);
}

template <bool Fused>
KEEL_INLINE void sgd_any(const SgdBuffers& b, const GradientTerms& t, const SgdCoefficients& c) {
  if (t.l1 != 0.0f) {
    if (t.l2 != 0.0f)
      sgd_momentum<Fused, true, true>(b, t, c);
    else
      sgd_momentum<Fused, true, false>(b, t, c);
  } else if (t.l2 != 0.0f) {
    sgd_momentum<Fused, false, true>(b, t, c);
  } else {
    sgd_momentum<Fused, false, false>(b, t, c);
  }
}

// torch.optim.Adam / AdamW, _single_tensor_adam(w), amsgrad off. decay is
// AdamW's param.mul_(1 - lr * wd); multiplying by 1 (Adam) is exact.
template <bool Fused, bool L1, bool L2>
KEEL_INLINE void adam_loop(std::int64_t n, float* __restrict__ param, const float* __restrict__ grad,
                           float* __restrict__ exp_avg, float* __restrict__ exp_avg_sq, GradientTerms t,
                           AdamCoefficients c) {
  const float neg_clip = -t.clip;
  for (std::int64_t i = 0; i < n; ++i) {
    const float p = param[i];
    const float g = effective_grad<Fused, L1, L2>(grad[i], p, t, neg_clip);
    // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    const float m = madd<Fused>(g, c.one_minus_beta1, exp_avg[i] * c.beta1);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    const float v = madd<Fused>(c.one_minus_beta2 * g, g, exp_avg_sq[i] * c.beta2);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    // (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps), then
    // param.addcdiv_(exp_avg, denom, value=-step_size)
    const float denom = std::sqrt(v) / c.sqrt_bias_correction2 + c.eps;
    param[i] = p * c.decay + (c.neg_step_size * m) / denom;
  }
}

template <bool Fused>
KEEL_INLINE void adam_any(const AdamBuffers& b, const GradientTerms& t, const AdamCoefficients& c) {
  if (t.l1 != 0.0f) {
    if (t.l2 != 0.0f)
      adam_loop<Fused, true, true>(b.size, b.param, b.grad, b.exp_avg, b.exp_avg_sq, t, c);
    else
      adam_loop<Fused, true, false>(b.size, b.param, b.grad, b.exp_avg, b.exp_avg_sq, t, c);
  } else if (t.l2 != 0.0f) {
    adam_loop<Fused, false, true>(b.size, b.param, b.grad, b.exp_avg, b.exp_avg_sq, t, c);
  } else {
    adam_loop<Fused, false, false>(b.size, b.param, b.grad, b.exp_avg, b.exp_avg_sq, t, c);
  }
}

__attribute__((target("avx512f"))) void sgd_avx512(const SgdBuffers& b, const GradientTerms& t,
                                                   const SgdCoefficients& c) {
  sgd_any<true>(b, t, c);
}
__attribute__((target("fma"))) void sgd_fma(const SgdBuffers& b, const GradientTerms& t,
                                            const SgdCoefficients& c) {
  sgd_any<true>(b, t, c);
}
void sgd_generic(const SgdBuffers& b, const GradientTerms& t, const SgdCoefficients& c) {
  sgd_any<false>(b, t, c);
}

__attribute__((target("avx512f"))) void adam_avx512(const AdamBuffers& b, const GradientTerms& t,
                                                    const AdamCoefficients& c) {
  adam_any<true>(b, t, c);
}
__attribute__((target("fma"))) void adam_fma(const AdamBuffers& b, const GradientTerms& t,
                                             const AdamCoefficients& c) {
  adam_any<true>(b, t, c);
}
void adam_generic(const AdamBuffers& b, const GradientTerms& t, const AdamCoefficients& c) {
  adam_any<false>(b, t, c);
}

Isa detect_isa() {
  __builtin_cpu_init();
  // libgcc reports these only when the OS also saves the wider registers.
  if (__builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (__builtin_cpu_supports("fma")) return Isa::fma;
  return Isa::generic;
}

}  // namespace

const char* isa_name(Isa isa) { return enum_name(isa, {"generic", "fma", "avx512f"}); }

Isa best_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> all;
  if (best_isa() == Isa::avx512) all.push_back(Isa::avx512);
  if (best_isa() != Isa::generic) all.push_back(Isa::fma);
  all.push_back(Isa::generic);
  return all;
}

void sgd_update(Isa isa, const SgdBuffers& b, const GradientTerms& t, const SgdCoefficients& c) {
  switch (isa) {
    case Isa::avx512:
      return sgd_avx512(b, t, c);
    case Isa::fma:
      return sgd_fma(b, t, c);
    case Isa::generic:
      return sgd_generic(b, t, c);
  }
}

void adam_update(Isa isa, const AdamBuffers& b, const GradientTerms& t, const AdamCoefficients& c) {
  switch (isa) {
    case Isa::avx512:
      return adam_avx512(b, t, c);
    case Isa::fma:
      return adam_fma(b, t, c);
    case Isa::generic:
      return adam_generic(b, t, c);
  }
}

}  // namespace keel::optimizer
