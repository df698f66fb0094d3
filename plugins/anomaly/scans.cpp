#include "scans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "range_kernels.hpp"
#include "zscore_kernels.hpp"

namespace keel::anomaly {

namespace {

// Exponent bits all ones: NaN or infinity. Integer arithmetic on the bits
// vectorizes and is exact, unlike std::isfinite under some flags.
// Reductions keep kLanes independent partial results, combined at the end:
// without -ffast-math the compiler may not reorder a single floating-point
// accumulator, which would leave the loop scalar and latency-bound.
constexpr std::int64_t kLanes = 16;

inline std::uint32_t is_nonfinite(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return (b & 0x7f800000u) == 0x7f800000u;
}

}  // namespace

// The binary must not assume the build machine's CPU, yet the scans should
// use its widest vectors: each is compiled for AVX-512, AVX2 and the
// baseline, and the loader picks the best the CPU has (GNU ifunc).
#define KEEL_SCAN __attribute__((target_clones("avx512f", "avx2", "default")))

KEEL_SCAN std::int64_t count_nonfinite(const float* x, std::int64_t n) {
  std::int64_t count = 0;
  // Blocks of 32-bit lane counters (they cannot overflow within a block), so
  // the inner loop vectorizes with no widening.
  constexpr std::int64_t kBlock = 1 << 20;
  std::int64_t i = 0;
  while (i + kLanes <= n) {
    const std::int64_t end = std::min(n - kLanes + 1, i + kBlock);
    std::uint32_t lane[kLanes] = {};
    for (; i < end; i += kLanes)
      for (std::int64_t j = 0; j < kLanes; ++j) lane[j] += is_nonfinite(x[i + j]);
    for (std::uint32_t c : lane) count += c;
  }
  for (; i < n; ++i) count += is_nonfinite(x[i]);
  return count;
}

std::int64_t nonfinite_rows(const float* x, std::int64_t rows, std::int64_t cols, float* mask) {
  std::int64_t total = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t c = count_nonfinite(x + r * cols, cols);
    mask[r] = c ? 1.0f : 0.0f;
    total += c;
  }
  return total;
}

// range and zscore: the scalar definitions below fix every result, bit for
// bit (the lane layout of the mean included); range_kernels.hpp and
// zscore_kernels.hpp compute the same at memory speed with AVX2, and the
// scalar code runs on CPUs without it. Not target_clones: compiled for the
// baseline, the kernels' vector comparisons and shuffles would be split
// element by element. No AVX-512 version: measured side by side on a
// 256 MiB buffer, the same kernels with 512-bit mask compares and shuffles
// took 1.2-1.6x the time of a plain read of it, these 0.95-1.2x.
namespace {

std::int64_t range_rows_scalar(const float* x, std::int64_t rows, std::int64_t cols, const float* lo,
                               const float* hi, float* mask) {
  std::int64_t total = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    std::uint32_t c = 0;
    // Bitwise &: both comparisons always run, so the loop is branch-free.
    for (std::int64_t k = 0; k < cols; ++k) c += !((row[k] >= lo[k]) & (row[k] <= hi[k]));
    mask[r] = c ? 1.0f : 0.0f;
    total += c;
  }
  return total;
}

// Feature k adds into lane k % 16, features past the last full group of 16
// into lane 0; the mean adds the lanes in double, in lane order.
__attribute__((noinline)) void zscore_rows_scalar(const float* x, std::int64_t rows, std::int64_t cols,
                                                  const float* mean, const float* inv_std, bool use_max,
                                                  float* stat) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float lane[kLanes] = {};
    std::uint32_t bad = 0;
    std::int64_t k = 0;
    for (; k + kLanes <= cols; k += kLanes)
      for (std::int64_t j = 0; j < kLanes; ++j) {
        const float z = std::fabs((row[k + j] - mean[k + j]) * inv_std[k + j]);
        bad += is_nonfinite(z);
        lane[j] = use_max ? (lane[j] < z ? z : lane[j]) : lane[j] + z;
      }
    for (; k < cols; ++k) {
      const float z = std::fabs((row[k] - mean[k]) * inv_std[k]);
      bad += is_nonfinite(z);
      lane[0] = use_max ? (lane[0] < z ? z : lane[0]) : lane[0] + z;
    }
    float acc = 0.0f;
    if (use_max) {
      for (float v : lane) acc = std::max(acc, v);
    } else {
      double sum = 0;
      for (float v : lane) sum += v;
      acc = cols ? float(sum / double(cols)) : 0.0f;
    }
    // std::max drops NaN; a row with a NaN or infinity must still stand out.
    stat[r] = bad ? std::numeric_limits<float>::quiet_NaN() : acc;
  }
}

// The kernels call it for the rare rows whose mean is not finite.
void zscore_mean_row_scalar(const float* row, std::int64_t cols, const float* mean, const float* inv_std,
                            float* stat) {
  zscore_rows_scalar(row, 1, cols, mean, inv_std, false, stat);
}

template <int kGroups>
inline __attribute__((always_inline)) void zscore_rows_unrolled(const float* x, std::int64_t rows,
                                                                std::int64_t cols, const float* mean,
                                                                const float* inv_std, bool use_max,
                                                                float* stat) {
  if (use_max)
    row_kernels::zscore_max_rows<kGroups>(x, rows, cols, mean, inv_std, stat);
  else
    row_kernels::zscore_mean_rows<kGroups>(x, rows, cols, mean, inv_std, stat, zscore_mean_row_scalar);
}

__attribute__((target("avx2"))) void zscore_rows_avx2(const float* x, std::int64_t rows, std::int64_t cols,
                                                      const float* mean, const float* inv_std, bool use_max,
                                                      float* stat) {
  // Narrow rows of whole groups of 16 are unrolled (64: the digits).
  switch (cols) {
    case 0:  // no feature: the empty max and mean are 0
      std::fill(stat, stat + rows, 0.0f);
      return;
    case 16:
      return zscore_rows_unrolled<1>(x, rows, cols, mean, inv_std, use_max, stat);
    case 32:
      return zscore_rows_unrolled<2>(x, rows, cols, mean, inv_std, use_max, stat);
    case 48:
      return zscore_rows_unrolled<3>(x, rows, cols, mean, inv_std, use_max, stat);
    case 64:
      return zscore_rows_unrolled<4>(x, rows, cols, mean, inv_std, use_max, stat);
    default:
      return zscore_rows_unrolled<0>(x, rows, cols, mean, inv_std, use_max, stat);
  }
}

}  // namespace

bool row_scan_isa_supported(RowScanIsa isa) {
  // The checks include the operating system's support for the registers.
  __builtin_cpu_init();
  if (isa == RowScanIsa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  return true;
}

namespace {

// isa as a version this CPU runs; widest chosen once.
RowScanIsa runnable(RowScanIsa isa) {
  static const RowScanIsa widest =
      row_scan_isa_supported(RowScanIsa::avx2) ? RowScanIsa::avx2 : RowScanIsa::baseline;
  if (isa == RowScanIsa::widest) return widest;
  return row_scan_isa_supported(isa) ? isa : RowScanIsa::baseline;
}

}  // namespace

std::int64_t range_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* lo,
                        const float* hi, float* mask, RowScanIsa isa) {
  if (runnable(isa) == RowScanIsa::avx2) return row_kernels::range_rows_avx2(x, rows, cols, lo, hi, mask);
  return range_rows_scalar(x, rows, cols, lo, hi, mask);
}

void zscore_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                 const float* inv_std, bool use_max, float* stat, RowScanIsa isa) {
  if (runnable(isa) == RowScanIsa::avx2) return zscore_rows_avx2(x, rows, cols, mean, inv_std, use_max, stat);
  zscore_rows_scalar(x, rows, cols, mean, inv_std, use_max, stat);
}

KEEL_SCAN void distance_rows(const float* a, const float* b, std::int64_t rows, std::int64_t cols,
                             float* dist) {
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::int64_t k = 0; k < cols; ++k) {
      const double d = double(a[r * cols + k]) - double(b[r * cols + k]);
      s += d * d;
    }
    dist[r] = float(std::sqrt(s));
  }
}

KEEL_SCAN double sum_of_squares(const float* x, std::int64_t n) {
  double lane[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t j = 0; j < kLanes; ++j) lane[j] += double(x[i + j]) * double(x[i + j]);
  double s = 0;
  for (; i < n; ++i) s += double(x[i]) * double(x[i]);
  for (double v : lane) s += v;
  return s;
}

double median(std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + std::ptrdiff_t(mid));
  return (lower + upper) / 2;
}

}  // namespace keel::anomaly
