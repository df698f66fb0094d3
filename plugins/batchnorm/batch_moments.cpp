// Fixed-order per-channel sums (batch_moments.hpp). The loops over one block
// are compiled for AVX-512, AVX2 and the baseline and picked at load time
// (target_clones); the OpenMP loops over blocks stay outside them, since a
// parallel region's body is outlined before the clones are made and would
// lose the wider instructions.
#include "batch_moments.hpp"

#include <algorithm>
#include <vector>

#include "common/keel_parallel.hpp"

namespace keel::norm {
namespace {

#define KEEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define KEEL_INLINE [[gnu::always_inline]] inline

using parallel::parallel_for;
using parallel::threads_for_bytes;

// Lanes summed side by side within a plane: independent chains that
// vectorize without reassociating any one of them.
constexpr int kLanes = 32;
// Values of a plane summed in float before the running total in double.
constexpr std::int64_t kPlaneChunk = 4096;

// ---- [N, C]: a block of rows, every channel, channels vectorized ----

// acc[k * C + c] += term_k(row r, channel c) for rows [r0, r1).
template <int K, typename Term>
KEEL_INLINE void rows_into(std::int64_t C, std::int64_t r0, std::int64_t r1, float* __restrict__ acc,
                           Term term) {
  std::fill(acc, acc + K * C, 0.0f);
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t c = 0; c < C; ++c) {
      float t[K];
      term(r * C + c, c, t);
      for (int k = 0; k < K; ++k) acc[k * C + c] += t[k];
    }
}

KEEL_CLONES void rows_sum(const float* x, std::int64_t C, std::int64_t r0, std::int64_t r1, float* acc) {
  rows_into<1>(C, r0, r1, acc, [&](std::int64_t i, std::int64_t, float* t) { t[0] = x[i]; });
}

KEEL_CLONES void rows_squared_deviation(const float* x, const float* mean, std::int64_t C, std::int64_t r0,
                                        std::int64_t r1, float* acc) {
  rows_into<1>(C, r0, r1, acc, [&](std::int64_t i, std::int64_t c, float* t) {
    const float v = x[i] - mean[c];
    t[0] = v * v;
  });
}

KEEL_CLONES void rows_gradient(const float* x, const float* dy, const float* mean, std::int64_t C,
                               std::int64_t r0, std::int64_t r1, float* acc) {
  rows_into<2>(C, r0, r1, acc, [&](std::int64_t i, std::int64_t c, float* t) {
    t[0] = dy[i];
    t[1] = dy[i] * (x[i] - mean[c]);
  });
}

// ---- [N, C, H, W]: one (row, channel) plane of `n` contiguous values ----

// total[k] = Σ term_k(i) over i in [0, n): lanes within chunks, chunks in
// order into double.
template <int K, typename Term>
KEEL_INLINE void plane_into(std::int64_t n, double* total, Term term) {
  for (int k = 0; k < K; ++k) total[k] = 0;
  for (std::int64_t start = 0; start < n; start += kPlaneChunk) {
    const std::int64_t end = std::min(n, start + kPlaneChunk);
    float lanes[K][kLanes] = {};
    std::int64_t i = start;
    for (; i + kLanes <= end; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        float t[K];
        term(i + j, t);
        for (int k = 0; k < K; ++k) lanes[k][j] += t[k];
      }
    for (int j = 0; i < end; ++i, ++j) {
      float t[K];
      term(i, t);
      for (int k = 0; k < K; ++k) lanes[k][j] += t[k];
    }
    for (int k = 0; k < K; ++k) {
      float s = 0;
      for (int j = 0; j < kLanes; ++j) s += lanes[k][j];
      total[k] += s;
    }
  }
}

KEEL_CLONES void plane_sum(const float* x, std::int64_t n, double* total) {
  plane_into<1>(n, total, [&](std::int64_t i, float* t) { t[0] = x[i]; });
}

KEEL_CLONES void plane_squared_deviation(const float* x, float mean, std::int64_t n, double* total) {
  plane_into<1>(n, total, [&](std::int64_t i, float* t) {
    const float v = x[i] - mean;
    t[0] = v * v;
  });
}

KEEL_CLONES void plane_gradient(const float* x, const float* dy, float mean, std::int64_t n, double* total) {
  plane_into<2>(n, total, [&](std::int64_t i, float* t) {
    t[0] = dy[i];
    t[1] = dy[i] * (x[i] - mean);
  });
}

// ---- element-wise passes ----

KEEL_CLONES void rows_affine(const float* in, const float* a, const float* b, std::int64_t C, std::int64_t r0,
                             std::int64_t r1, float* out) {
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t c = 0; c < C; ++c) out[r * C + c] = a[c] * in[r * C + c] + b[c];
}

KEEL_CLONES void plane_affine(const float* in, float a, float b, std::int64_t n, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = a * in[i] + b;
}

KEEL_CLONES void rows_input_gradient(const float* x, const float* dy, const float* mean, const float* k,
                                     const float* q, const float* o, std::int64_t C, std::int64_t r0,
                                     std::int64_t r1, float* dx) {
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t c = 0; c < C; ++c) {
      const std::int64_t i = r * C + c;
      dx[i] = k[c] * dy[i] + q[c] * (x[i] - mean[c]) + o[c];
    }
}

KEEL_CLONES void plane_input_gradient(const float* x, const float* dy, float mean, float k, float q, float o,
                                      std::int64_t n, float* dx) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] = k * dy[i] + q * (x[i] - mean) + o;
}

// ---- the blocks, in parallel, and their fixed-order combination ----

std::int64_t row_blocks(const BnDims& d) { return (d.rows + kRowsPerBlock - 1) / kRowsPerBlock; }

int threads_for(const BnDims& d, int tensors) {
  return threads_for_bytes(d.rows * d.channels * d.spatial * std::int64_t(sizeof(float)) * tensors);
}

// out[k * C + c] = Σ over blocks, in block order, of block(b, part) where
// each block writes K * C partial sums.
template <int K, typename RowBlock, typename Plane>
void fixed_order_sums(const BnDims& d, int tensors, double* out, RowBlock row_block, Plane plane) {
  const std::int64_t C = d.channels;
  std::fill(out, out + K * C, 0.0);
  const int threads = threads_for(d, tensors);
  if (d.spatial == 1) {
    const std::int64_t blocks = row_blocks(d);
    std::vector<float> part(std::size_t(blocks * K * C));
    parallel_for(blocks, threads, [&](std::int64_t b) {
      row_block(b * kRowsPerBlock, std::min(d.rows, (b + 1) * kRowsPerBlock), &part[std::size_t(b * K * C)]);
    });
    for (std::int64_t b = 0; b < blocks; ++b)
      for (std::int64_t j = 0; j < K * C; ++j) out[j] += part[std::size_t(b * K * C + j)];
    return;
  }
  const std::int64_t planes = d.rows * C;
  std::vector<double> part(std::size_t(planes * K));
  parallel_for(planes, threads,
               [&](std::int64_t p) { plane(p / C, p % C, p * d.spatial, &part[std::size_t(p * K)]); });
  for (std::int64_t n = 0; n < d.rows; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (int k = 0; k < K; ++k) out[k * C + c] += part[std::size_t((n * C + c) * K + k)];
}

template <typename RowBlock, typename Plane>
void element_wise(const BnDims& d, int tensors, RowBlock row_block, Plane plane) {
  const int threads = threads_for(d, tensors);
  if (d.spatial == 1) {
    parallel_for(row_blocks(d), threads, [&](std::int64_t b) {
      row_block(b * kRowsPerBlock, std::min(d.rows, (b + 1) * kRowsPerBlock));
    });
    return;
  }
  parallel_for(d.rows * d.channels, threads, [&](std::int64_t p) { plane(p % d.channels, p * d.spatial); });
}

}  // namespace

void channel_sum(const BnDims& d, const float* x, double* sum) {
  fixed_order_sums<1>(
      d, 1, sum, [&](std::int64_t r0, std::int64_t r1, float* acc) { rows_sum(x, d.channels, r0, r1, acc); },
      [&](std::int64_t, std::int64_t, std::int64_t at, double* t) { plane_sum(x + at, d.spatial, t); });
}

void channel_squared_deviation(const BnDims& d, const float* x, const float* mean, double* sum) {
  fixed_order_sums<1>(
      d, 1, sum,
      [&](std::int64_t r0, std::int64_t r1, float* acc) {
        rows_squared_deviation(x, mean, d.channels, r0, r1, acc);
      },
      [&](std::int64_t, std::int64_t c, std::int64_t at, double* t) {
        plane_squared_deviation(x + at, mean[c], d.spatial, t);
      });
}

void channel_gradient_sums(const BnDims& d, const float* x, const float* dy, const float* mean,
                           double* sum_dy, double* sum_dy_xc) {
  std::vector<double> both(std::size_t(2 * d.channels));
  fixed_order_sums<2>(
      d, 2, both.data(),
      [&](std::int64_t r0, std::int64_t r1, float* acc) {
        rows_gradient(x, dy, mean, d.channels, r0, r1, acc);
      },
      [&](std::int64_t, std::int64_t c, std::int64_t at, double* t) {
        plane_gradient(x + at, dy + at, mean[c], d.spatial, t);
      });
  std::copy(both.begin(), both.begin() + d.channels, sum_dy);
  std::copy(both.begin() + d.channels, both.end(), sum_dy_xc);
}

void channel_affine(const BnDims& d, const float* in, const float* a, const float* b, float* out) {
  element_wise(
      d, 2, [&](std::int64_t r0, std::int64_t r1) { rows_affine(in, a, b, d.channels, r0, r1, out); },
      [&](std::int64_t c, std::int64_t at) { plane_affine(in + at, a[c], b[c], d.spatial, out + at); });
}

void channel_input_gradient(const BnDims& d, const float* x, const float* dy, const float* mean,
                            const float* k, const float* q, const float* o, float* dx) {
  element_wise(
      d, 3,
      [&](std::int64_t r0, std::int64_t r1) {
        rows_input_gradient(x, dy, mean, k, q, o, d.channels, r0, r1, dx);
      },
      [&](std::int64_t c, std::int64_t at) {
        plane_input_gradient(x + at, dy + at, mean[c], k[c], q[c], o[c], d.spatial, dx + at);
      });
}

}  // namespace keel::norm
