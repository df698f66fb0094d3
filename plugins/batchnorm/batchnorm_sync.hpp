// Batch normalization over the global batch of a data-parallel run
// (docs/distributed.md): each rank holds some rows of the batch, and the
// per-channel sums the statistics and gradients need are added across
// ranks, so every rank normalizes with exactly the global batch's mean and
// biased variance, as one process holding the whole batch would.
#pragma once

#include <cstdint>
#include <vector>

#include "keel/keel.hpp"

namespace keel::norm {

// x viewed as [rows, channels, spatial] (spatial = H * W, or 1 for [N, C]).
struct BnDims {
  std::int64_t rows, channels, spatial;
};

class SyncBatchStatistics {
 public:
  // y = gamma * (x - mean) / sqrt(var + epsilon) + beta with the global
  // batch's statistics, kept for backward(). `count` is set to the number of
  // values per channel in the global batch.
  Status forward(const Collective& ranks, const BnDims& d, double epsilon, const float* x, const float* gamma,
                 const float* beta, float* y);
  // The global batch's mean, biased variance and values per channel, from
  // the last forward().
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& variance() const { return var_; }
  double count() const { return count_; }

  // dx from the global sums of dy and dy * x_hat; dgamma and dbeta (either
  // may be null) are this rank's shares, which the gradient allreduce adds.
  Status backward(const Collective& ranks, const BnDims& d, const float* x, const float* dy,
                  const float* gamma, float* dx, float* dgamma, float* dbeta) const;

 private:
  double epsilon_ = 0;
  double count_ = 0;
  std::vector<double> mean_, var_;
};

}  // namespace keel::norm
