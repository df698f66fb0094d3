// A naive 2-D convolution in double precision, the reference the conv2d and
// residual_block tests compare against: the definition written as loops,
// with PyTorch's padding / stride / dilation arithmetic.
#pragma once

#include <cstdint>
#include <vector>

#include "keel/keel.hpp"

namespace convref {

struct ConvSpec {
  std::int64_t n = 1, c = 1, h = 1, w = 1;  // x [n, c, h, w]
  std::int64_t f = 1, kh = 1, kw = 1;       // weight [f, c, kh, kw]
  std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool bias = true;

  std::int64_t ho() const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
  std::int64_t wo() const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
  keel::Shape x_shape() const { return {n, c, h, w}; }
  keel::Shape w_shape() const { return {f, c, kh, kw}; }
  keel::Shape y_shape() const { return {n, f, ho(), wo()}; }

  // The attributes of a conv2d node with this geometry.
  keel::Attrs attrs() const {
    using V = std::vector<std::int64_t>;
    return keel::Attrs({{"filters", f},
                        {"kernel", V{kh, kw}},
                        {"stride", V{sh, sw}},
                        {"padding", V{ph, pw}},
                        {"dilation", V{dh, dw}},
                        {"bias", bias}});
  }
};

// y[n, f, i, j] = b[f] + sum over c, a, e of w[f, c, a, e] * x[n, c, i*sh - ph + a*dh, j*sw - pw + e*dw]
// (zero outside the image). `b` is ignored when empty or spec.bias is false.
inline std::vector<double> conv2d(const ConvSpec& s, const std::vector<double>& x,
                                  const std::vector<double>& w, const std::vector<double>& b) {
  const std::int64_t ho = s.ho(), wo = s.wo();
  std::vector<double> y(static_cast<std::size_t>(s.n * s.f * ho * wo), 0.0);
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t f = 0; f < s.f; ++f)
      for (std::int64_t i = 0; i < ho; ++i)
        for (std::int64_t j = 0; j < wo; ++j) {
          double acc = (s.bias && !b.empty()) ? b[std::size_t(f)] : 0.0;
          for (std::int64_t c = 0; c < s.c; ++c)
            for (std::int64_t a = 0; a < s.kh; ++a)
              for (std::int64_t e = 0; e < s.kw; ++e) {
                const std::int64_t r = i * s.sh - s.ph + a * s.dh;
                const std::int64_t q = j * s.sw - s.pw + e * s.dw;
                if (r < 0 || r >= s.h || q < 0 || q >= s.w) continue;
                acc += w[std::size_t(((f * s.c + c) * s.kh + a) * s.kw + e)] *
                       x[std::size_t(((n * s.c + c) * s.h + r) * s.w + q)];
              }
          y[std::size_t(((n * s.f + f) * ho + i) * wo + j)] = acc;
        }
  return y;
}

}  // namespace convref
