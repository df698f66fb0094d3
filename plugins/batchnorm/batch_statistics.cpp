// Two passes over x and two sums across ranks per forward (mean first, then
// the squared deviations from it) rather than one pass of x and x^2: the
// one-pass variance cancels catastrophically when |mean| >> stddev, and the
// extra pass is cheap beside the layers around it. Sums are in double, so
// the rank-order reduction of the partial sums costs no precision that
// matters in float results.
#include "batch_statistics.hpp"

#include <cmath>

namespace keel::norm {
namespace {

Status sum_across(const Collective* ranks, std::vector<double>& v) {
  return ranks ? ranks->sum(v) : Status::Ok();
}

}  // namespace

Status BatchStatistics::forward(const Collective* ranks, const BnDims& d, double epsilon, const float* x,
                                const float* gamma, const float* beta, float* y) {
  const auto channels = std::size_t(d.channels);
  epsilon_ = epsilon;
  // Per channel: the sum of x; last, the values per channel.
  sums_.assign(channels + 1, 0.0);
  channel_sum(d, x, sums_.data());
  sums_[channels] = double(d.rows * d.spatial);
  KEEL_RETURN_IF_ERROR(sum_across(ranks, sums_));
  count_ = sums_[channels];
  if (count_ < 2)
    return fail("batchnorm: training needs more than one value per channel in the global batch, got ",
                count_);
  mean_.resize(channels);
  mean_f_.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    mean_[c] = sums_[c] / count_;
    mean_f_[c] = static_cast<float>(mean_[c]);
  }

  var_.assign(channels, 0.0);
  channel_squared_deviation(d, x, mean_f_.data(), var_.data());
  KEEL_RETURN_IF_ERROR(sum_across(ranks, var_));
  for (double& v : var_) v /= count_;

  a_.resize(channels);
  b_.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const double scale = gamma[c] / std::sqrt(var_[c] + epsilon);
    a_[c] = static_cast<float>(scale);
    b_[c] = static_cast<float>(beta[c] - mean_[c] * scale);
  }
  channel_affine(d, x, a_.data(), b_.data(), y);
  return Status::Ok();
}

Status BatchStatistics::backward(const Collective* ranks, const BnDims& d, const float* x, const float* dy,
                                 const float* gamma, float* dx, float* dgamma, float* dbeta) {
  const auto channels = std::size_t(d.channels);
  // Per channel: sum of dy, then sum of dy * (x - mean).
  sums_.assign(2 * channels, 0.0);
  channel_gradient_sums(d, x, dy, mean_f_.data(), sums_.data(), sums_.data() + channels);
  std::vector<double> inv_std(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    inv_std[c] = 1.0 / std::sqrt(var_[c] + epsilon_);
    sums_[channels + c] *= inv_std[c];  // now the sum of dy * x_hat
  }
  // This process's shares, before the sums become global.
  for (std::size_t c = 0; c < channels; ++c) {
    if (dbeta) dbeta[c] = static_cast<float>(sums_[c]);
    if (dgamma) dgamma[c] = static_cast<float>(sums_[channels + c]);
  }
  KEEL_RETURN_IF_ERROR(sum_across(ranks, sums_));
  if (!dx) return Status::Ok();
  // dx = k (dy - mean(dy) - x_hat mean(dy x_hat)), k = gamma / std, as
  // k dy + q (x - mean) + o.
  a_.resize(channels);
  b_.resize(channels);
  c_.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const double k = gamma[c] * inv_std[c];
    a_[c] = static_cast<float>(k);
    b_[c] = static_cast<float>(-k * inv_std[c] * sums_[channels + c] / count_);
    c_[c] = static_cast<float>(-k * sums_[c] / count_);
  }
  channel_input_gradient(d, x, dy, mean_f_.data(), a_.data(), b_.data(), c_.data(), dx);
  return Status::Ok();
}

}  // namespace keel::norm
