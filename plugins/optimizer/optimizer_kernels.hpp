// The element loops of the optimizers: one pass over param, grad and the
// state, updating param in place. Every coefficient is already an f32
// scalar, rounded from double exactly where torch rounds it.
//
// Rounding follows torch.optim's single-tensor CPU path on the same CPU:
// where torch's vectorized kernels use a fused multiply-add (add with
// alpha, addcmul), the fused paths (avx512f, fma) call std::fma and the
// generic path (CPUs without FMA, where torch does not fuse either) does
// not; elsewhere nothing is contracted (-ffp-contract=off), so a path's
// result does not depend on what the compiler chose to fuse.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace keel::optimizer {

enum class Isa : std::uint8_t { generic, fma, avx512 };
const char* isa_name(Isa isa);
// The best path this CPU (and its OS) supports; detected once.
Isa best_isa();
// Every path this CPU can run, best first (tests compare them).
std::vector<Isa> supported_isas();

// The gradient the optimizer rule sees: clamp(grad * scale, -clip, clip)
// + l1 * sign(param). clip = +inf is no clamping (exactly the identity).
struct GradientTerms {
  float scale = 1.0f;
  float clip = std::numeric_limits<float>::infinity();
  float l1 = 0.0f;
  float l2 = 0.0f;  // coupled weight decay: g + l2 * param (torch SGD and Adam)
};

struct SgdCoefficients {
  float neg_lr = 0.0f;
  bool use_momentum = false;  // off: plain SGD, the buffer is not touched
  float momentum = 0.0f;
  float one_minus_dampening = 1.0f;
  bool nesterov = false;
  bool first_step = false;  // the buffer starts as the gradient itself
};

struct AdamCoefficients {
  float decay = 1.0f;  // decoupled weight decay factor 1 - lr * wd (AdamW); 1 = none
  float beta1 = 0.9f, one_minus_beta1 = 0.1f;
  float beta2 = 0.999f, one_minus_beta2 = 0.001f;
  float sqrt_bias_correction2 = 1.0f;
  float eps = 1e-8f;
  float neg_step_size = 0.0f;  // -lr / bias_correction1
};

struct SgdBuffers {
  std::int64_t size = 0;
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buffer = nullptr;
};

struct AdamBuffers {
  std::int64_t size = 0;
  float* param = nullptr;
  const float* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
};

// The buffers must not overlap one another.
void sgd_update(Isa isa, const SgdBuffers& b, const GradientTerms& g, const SgdCoefficients& c);
void adam_update(Isa isa, const AdamBuffers& b, const GradientTerms& g, const AdamCoefficients& c);

}  // namespace keel::optimizer
