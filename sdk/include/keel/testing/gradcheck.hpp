// Backward against central finite differences, for the conformance kit.
//
// The scalar checked is L = sum over differentiable floating outputs of
// r * y, with r fixed random weights, accumulated in double. backward() is
// called with grad_outputs = r, so grad_inputs should be dL/dx. For a
// sample of elements of every differentiable floating input and trainable
// parameter, the kit computes (L(x+h) - L(x-h)) / (x+h - x-h) from the
// values actually stored (so f32 rounding of x+h does not bias it), with
// h = 1e-2 for f32 tensors and 1e-6 for f64 ones, and requires
//   |backward - fd| <= atol + rtol * |fd|,  f32: atol 2e-3, rtol 2e-2;
//                                          f64: atol 1e-6, rtol 1e-5.
// Where the difference with h and with h/2 disagree by more than that, the
// function has a kink within h of the point (relu at 0, a max with a tie):
// that element is skipped, and more than half skipped is a failure.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "keel/testing/buffers.hpp"

namespace keel::testing {

struct Tolerance {
  double h, atol, rtol;
};

inline Tolerance tolerance_for(DType t) {
  return t == DType::f64 ? Tolerance{1e-6, 1e-6, 1e-5} : Tolerance{1e-2, 2e-3, 2e-2};
}

struct GradCompare {
  std::int64_t compared = 0, skipped = 0;
  double worst_excess = 0.0;  // max over elements of |an - fd| / (atol + rtol |fd|)
  std::string failure;        // the first element out of tolerance, described
};

// `loss()` runs forward on the current values of `x` and returns L.
// `analytic` is backward's gradient of x. `what` names x in messages.
inline void compare_gradient(Buffer& x, const Buffer& analytic, const std::function<double()>& loss,
                             int samples, const std::string& what, GradCompare& out) {
  const std::int64_t n = x.numel();
  if (n == 0) return;
  const Tolerance tol = tolerance_for(x.spec().dtype);
  const std::int64_t count = std::min<std::int64_t>(n, samples);
  for (std::int64_t s = 0; s < count; ++s) {
    const std::int64_t i = count == n ? s : s * (n - 1) / (count - 1);
    const double x0 = x.get(i);
    auto difference = [&](double h) {
      x.set(i, x0 + h);
      const double xp = x.get(i);
      const double lp = loss();
      x.set(i, x0 - h);
      const double xm = x.get(i);
      const double lm = loss();
      x.set(i, x0);
      return (lp - lm) / (xp - xm);
    };
    const double fd = difference(tol.h);
    const double fd_half = difference(tol.h / 2);
    const double an = analytic.get(i);
    const double bound = tol.atol + tol.rtol * std::fabs(fd);
    if (!std::isfinite(an)) {
      if (out.failure.empty())
        out.failure = what + " element " + std::to_string(i) + ": backward gave " + std::to_string(an);
      ++out.compared;
      continue;
    }
    if (std::fabs(fd - fd_half) > bound) {
      ++out.skipped;  // a kink within h: finite differences mean nothing here
      continue;
    }
    ++out.compared;
    const double excess = std::fabs(an - fd) / bound;
    out.worst_excess = std::max(out.worst_excess, excess);
    if (excess > 1.0 && out.failure.empty()) {
      std::ostringstream os;
      os << what << " element " << i << ": backward " << an << ", finite differences " << fd << " (tolerance "
         << bound << ")";
      out.failure = os.str();
    }
  }
}

}  // namespace keel::testing
