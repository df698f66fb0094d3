// Batch normalization's training statistics and gradients, from the
// fixed-order per-channel sums of batch_moments.hpp, so that the result is
// the same for any thread count.
//
// In a data-parallel run with synchronized statistics (docs/distributed.md)
// each rank holds some rows of the batch, and the per-channel sums are added
// across ranks (`ranks`), so every rank normalizes with exactly the global
// batch's mean and biased variance, as one process holding the whole batch
// would. Without `ranks` the sums are this process's alone.
#pragma once

#include <cstdint>
#include <vector>

#include "batch_moments.hpp"
#include "keel/keel.hpp"

namespace keel::norm {

class BatchStatistics {
 public:
  // y = gamma * (x - mean) / sqrt(var + epsilon) + beta with the (global)
  // batch's statistics, kept for backward(). `ranks` may be null.
  Status forward(const Collective* ranks, const BnDims& d, double epsilon, const float* x, const float* gamma,
                 const float* beta, float* y);
  // The batch's mean, biased variance and values per channel, from the last
  // forward().
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& variance() const { return var_; }
  double count() const { return count_; }

  // dx from the (global) sums of dy and dy * x_hat; dgamma and dbeta (either
  // may be null) are this process's shares, which a gradient allreduce adds.
  Status backward(const Collective* ranks, const BnDims& d, const float* x, const float* dy,
                  const float* gamma, float* dx, float* dgamma, float* dbeta);

 private:
  double epsilon_ = 0;
  double count_ = 0;
  std::vector<double> mean_, var_;
  std::vector<float> mean_f_;                      // the mean the kernels subtract
  std::vector<float> a_, b_, c_;                   // per-channel coefficients of the element-wise pass
  std::vector<double> sums_, sum_dy_, sum_dy_xc_;  // reused across steps
};

}  // namespace keel::norm
