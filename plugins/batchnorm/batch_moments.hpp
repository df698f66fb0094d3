// The per-channel passes of batch normalization's training forward and
// backward, written so that the result does not depend on the thread count.
//
// oneDNN 2.6's batch-norm kernels split each channel's sums over the batch
// between threads and add the per-thread parts, so `--threads 1` and
// `--threads 2` gave different statistics in the last bits, and different
// checkpoints after training. Here every sum runs over blocks of a fixed
// size (kRowsPerBlock rows of [N, C], one (row, channel) plane of
// [N, C, H, W]), each block summed in one fixed order by whichever thread
// gets it, and the blocks added in block order in double: the same bits for
// any number of threads. The element-wise passes (normalize, dx) write
// disjoint elements, so their split does not matter.
//
// x is viewed as [rows, channels, spatial] (spatial = H * W, or 1 for [N, C]).
#pragma once

#include <cstdint>

namespace keel::norm {

struct BnDims {
  std::int64_t rows, channels, spatial;
};

inline constexpr std::int64_t kRowsPerBlock = 32;

// sum[c] = Σ x over channel c.
void channel_sum(const BnDims& d, const float* x, double* sum);
// sum[c] = Σ (x - mean[c])² over channel c.
void channel_squared_deviation(const BnDims& d, const float* x, const float* mean, double* sum);
// sum_dy[c] = Σ dy and sum_dy_xc[c] = Σ dy · (x - mean[c]) over channel c.
void channel_gradient_sums(const BnDims& d, const float* x, const float* dy, const float* mean,
                           double* sum_dy, double* sum_dy_xc);
// out = a[c] · in + b[c], element by element (the normalization).
void channel_affine(const BnDims& d, const float* in, const float* a, const float* b, float* out);
// dx = k[c] · dy + q[c] · (x - mean[c]) + o[c] (the input gradient).
void channel_input_gradient(const BnDims& d, const float* x, const float* dy, const float* mean,
                            const float* k, const float* q, const float* o, float* dx);

}  // namespace keel::norm
