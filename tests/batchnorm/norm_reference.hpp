// Naive double-precision batch and layer normalization, the reference the
// batchnorm plugin's ops are checked against: plain loops over C-order
// [N, C, (H, W)] or [rows, D] data, written from the textbook definitions.
#pragma once

#include <cmath>
#include <vector>

#include "op_harness.hpp"

namespace normref {

using optest::Doubles;
using optest::Shape;

// x viewed as [N, C, S] with S = H * W (1 for [N, C]).
struct NcsShape {
  std::size_t n, c, s;
  explicit NcsShape(const Shape& x)
      : n(std::size_t(x[0])), c(std::size_t(x[1])), s(x.size() == 4 ? std::size_t(x[2] * x[3]) : 1) {}
  std::size_t at(std::size_t in, std::size_t ic, std::size_t is) const { return (in * c + ic) * s + is; }
  std::size_t per_channel() const { return n * s; }
};

struct ChannelStats {
  Doubles mean, var;  // var is biased: divided by the count
};

inline ChannelStats batch_stats(const Doubles& x, const Shape& shape) {
  const NcsShape d(shape);
  ChannelStats st{Doubles(d.c, 0.0), Doubles(d.c, 0.0)};
  const double count = double(d.per_channel());
  for (std::size_t c = 0; c < d.c; ++c) {
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t s = 0; s < d.s; ++s) st.mean[c] += x[d.at(n, c, s)];
    st.mean[c] /= count;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t s = 0; s < d.s; ++s) st.var[c] += std::pow(x[d.at(n, c, s)] - st.mean[c], 2);
    st.var[c] /= count;
  }
  return st;
}

inline Doubles normalize_channels(const Doubles& x, const Shape& shape, const Doubles& gamma,
                                  const Doubles& beta, const ChannelStats& st, double eps) {
  const NcsShape d(shape);
  Doubles y(x.size());
  for (std::size_t n = 0; n < d.n; ++n)
    for (std::size_t c = 0; c < d.c; ++c)
      for (std::size_t s = 0; s < d.s; ++s) {
        const std::size_t i = d.at(n, c, s);
        y[i] = gamma[c] * (x[i] - st.mean[c]) / std::sqrt(st.var[c] + eps) + beta[c];
      }
  return y;
}

// Training mode: in = {x, gamma, beta}, normalized with the batch's statistics.
inline optest::Reference batchnorm_train(const Shape& shape, double eps) {
  return [shape, eps](const std::vector<Doubles>& in) {
    return normalize_channels(in[0], shape, in[1], in[2], batch_stats(in[0], shape), eps);
  };
}

// Inference mode: normalized with given (running) statistics.
inline Doubles batchnorm_infer(const Doubles& x, const Shape& shape, const Doubles& gamma,
                               const Doubles& beta, const Doubles& mean, const Doubles& var, double eps) {
  return normalize_channels(x, shape, gamma, beta, ChannelStats{mean, var}, eps);
}

// in = {x, gamma, beta}; x is [rows, cols] in C order. Without the affine
// part gamma and beta are ignored.
inline optest::Reference layernorm(std::size_t rows, std::size_t cols, double eps, bool affine) {
  return [=](const std::vector<Doubles>& in) {
    Doubles y(rows * cols);
    for (std::size_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (std::size_t k = 0; k < cols; ++k) mean += in[0][r * cols + k];
      mean /= double(cols);
      for (std::size_t k = 0; k < cols; ++k) var += std::pow(in[0][r * cols + k] - mean, 2);
      var /= double(cols);
      for (std::size_t k = 0; k < cols; ++k) {
        const double xhat = (in[0][r * cols + k] - mean) / std::sqrt(var + eps);
        y[r * cols + k] = affine ? in[1][k] * xhat + in[2][k] : xhat;
      }
    }
    return y;
  };
}

}  // namespace normref
