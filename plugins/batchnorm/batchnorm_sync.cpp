// Two passes over x and two sums across ranks per forward (mean first, then
// the squared deviations from it) rather than one pass of x and x^2: the
// one-pass variance cancels catastrophically when |mean| >> stddev, and the
// extra pass is cheap beside the layers around it. Sums are in double, so
// the rank-order reduction of the partial sums costs no precision that
// matters in float results.
#include "batchnorm_sync.hpp"

#include <cmath>

namespace keel::norm {
namespace {

// Calls f(channel, pointer to that channel's `spatial` values) for every
// (row, channel) slab of x, rows outermost: one fixed order, so every run
// adds the same values in the same order.
template <typename F>
void each_slab(const BnDims& d, const float* base, F&& f) {
  for (std::int64_t n = 0; n < d.rows; ++n)
    for (std::int64_t c = 0; c < d.channels; ++c) f(std::size_t(c), base + (n * d.channels + c) * d.spatial);
}

}  // namespace

Status SyncBatchStatistics::forward(const Collective& ranks, const BnDims& d, double epsilon, const float* x,
                                    const float* gamma, const float* beta, float* y) {
  const auto channels = std::size_t(d.channels);
  epsilon_ = epsilon;
  // Per channel: the sum of x; last, this rank's values per channel.
  std::vector<double> sums(channels + 1, 0.0);
  each_slab(d, x, [&](std::size_t c, const float* v) {
    double s = 0;
    for (std::int64_t i = 0; i < d.spatial; ++i) s += v[i];
    sums[c] += s;
  });
  sums[channels] = double(d.rows * d.spatial);
  KEEL_RETURN_IF_ERROR(ranks.sum(sums));
  count_ = sums[channels];
  if (count_ < 2)
    return fail("batchnorm: training needs more than one value per channel in the global batch, got ",
                count_);
  mean_.assign(channels, 0.0);
  for (std::size_t c = 0; c < channels; ++c) mean_[c] = sums[c] / count_;

  var_.assign(channels, 0.0);
  each_slab(d, x, [&](std::size_t c, const float* v) {
    double s = 0;
    for (std::int64_t i = 0; i < d.spatial; ++i) s += (v[i] - mean_[c]) * (v[i] - mean_[c]);
    var_[c] += s;
  });
  KEEL_RETURN_IF_ERROR(ranks.sum(var_));
  for (double& v : var_) v /= count_;

  std::vector<double> scale(channels), shift(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    scale[c] = gamma[c] / std::sqrt(var_[c] + epsilon);
    shift[c] = beta[c] - mean_[c] * scale[c];
  }
  each_slab(d, x, [&](std::size_t c, const float* v) {
    float* out = y + (v - x);
    for (std::int64_t i = 0; i < d.spatial; ++i) out[i] = static_cast<float>(v[i] * scale[c] + shift[c]);
  });
  return Status::Ok();
}

Status SyncBatchStatistics::backward(const Collective& ranks, const BnDims& d, const float* x,
                                     const float* dy, const float* gamma, float* dx, float* dgamma,
                                     float* dbeta) const {
  const auto channels = std::size_t(d.channels);
  std::vector<double> inv_std(channels);
  for (std::size_t c = 0; c < channels; ++c) inv_std[c] = 1.0 / std::sqrt(var_[c] + epsilon_);
  // Per channel: sum of dy, then sum of dy * x_hat.
  std::vector<double> sums(2 * channels, 0.0);
  each_slab(d, x, [&](std::size_t c, const float* v) {
    const float* g = dy + (v - x);
    double s1 = 0, s2 = 0;
    for (std::int64_t i = 0; i < d.spatial; ++i) {
      s1 += g[i];
      s2 += g[i] * (v[i] - mean_[c]) * inv_std[c];
    }
    sums[c] += s1;
    sums[channels + c] += s2;
  });
  // This rank's shares, before the sums become global.
  for (std::size_t c = 0; c < channels; ++c) {
    if (dbeta) dbeta[c] = static_cast<float>(sums[c]);
    if (dgamma) dgamma[c] = static_cast<float>(sums[channels + c]);
  }
  KEEL_RETURN_IF_ERROR(ranks.sum(sums));
  if (!dx) return Status::Ok();
  each_slab(d, x, [&](std::size_t c, const float* v) {
    const std::ptrdiff_t at = v - x;
    const double k = gamma[c] * inv_std[c], mean_dy = sums[c] / count_,
                 mean_dy_xhat = sums[channels + c] / count_;
    for (std::int64_t i = 0; i < d.spatial; ++i) {
      const double x_hat = (v[i] - mean_[c]) * inv_std[c];
      dx[at + i] = static_cast<float>(k * (dy[at + i] - mean_dy - x_hat * mean_dy_xhat));
    }
  });
  return Status::Ok();
}

}  // namespace keel::norm
