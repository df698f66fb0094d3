#include "training/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace keel {

double learning_rate(const ScheduleDef& s, double base, std::int64_t step, std::int64_t total) {
  double warm = s.warmup > 0 ? std::min(1.0, double(step + 1) / double(s.warmup)) : 1.0;
  double decay = 1.0;
  if (s.kind == "step") {
    decay = std::pow(s.gamma, double(step / std::max<std::int64_t>(1, s.every)));
  } else if (s.kind == "cosine") {
    const double t = total > 0 ? std::min(1.0, double(step) / double(total)) : 0.0;
    const double floor = base > 0 ? s.min_lr / base : 0.0;
    decay = floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  }
  // A one-step spike: fault injection, to see what guards make of a
  // learning rate that is wrong for exactly one step.
  const double spike = s.spike_step >= 0 && step == s.spike_step ? s.spike_factor : 1.0;
  return base * warm * decay * spike;
}

}  // namespace keel
