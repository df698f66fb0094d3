// Naive double-precision optimizers, written from torch.optim's
// single-tensor SGD / Adam / AdamW and the gradient preprocessing of the
// optimizer contract (scale, clip_grad_value_, L1), one element at a time.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace opttest {

struct ReferenceConfig {
  std::string op = "sgd";  // sgd, adam or adamw
  double momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double clip_value = 0.0, l1 = 0.0;
};

struct ReferenceState {
  std::vector<double> param, momentum_buffer, exp_avg, exp_avg_sq;
  explicit ReferenceState(std::vector<double> p)
      : param(std::move(p)),
        momentum_buffer(param.size(), 0.0),
        exp_avg(param.size(), 0.0),
        exp_avg_sq(param.size(), 0.0) {}
};

inline double reference_sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }

// One update; `step` is the number of updates already applied.
inline void reference_update(const ReferenceConfig& c, ReferenceState& s, const std::vector<double>& grad,
                             double lr, double scale, std::uint64_t step) {
  for (std::size_t i = 0; i < s.param.size(); ++i) {
    double& p = s.param[i];
    double g = grad[i] * scale;
    if (c.clip_value > 0) g = std::min(std::max(g, -c.clip_value), c.clip_value);
    g += c.l1 * reference_sign(p);
    if (c.op == "sgd") {
      g += c.weight_decay * p;
      if (c.momentum != 0) {
        double& buf = s.momentum_buffer[i];
        buf = step == 0 ? g : c.momentum * buf + (1 - c.dampening) * g;
        g = c.nesterov ? g + c.momentum * buf : buf;
      }
      p -= lr * g;
      continue;
    }
    if (c.op == "adam") g += c.weight_decay * p;
    if (c.op == "adamw") p *= 1 - lr * c.weight_decay;
    double& m = s.exp_avg[i];
    double& v = s.exp_avg_sq[i];
    m = c.beta1 * m + (1 - c.beta1) * g;
    v = c.beta2 * v + (1 - c.beta2) * g * g;
    const double t = double(step) + 1;
    const double m_hat = m / (1 - std::pow(c.beta1, t));
    const double v_hat = v / (1 - std::pow(c.beta2, t));
    p -= lr * m_hat / (std::sqrt(v_hat) + c.eps);
  }
}

}  // namespace opttest
