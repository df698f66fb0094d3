#include "scans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace keel::anomaly {

namespace {

// Exponent bits all ones: NaN or infinity. Integer arithmetic on the bits
// vectorizes and is exact, unlike std::isfinite under some flags.
inline std::uint32_t is_nonfinite(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return (b & 0x7f800000u) == 0x7f800000u;
}

}  // namespace

std::int64_t count_nonfinite(const float* x, std::int64_t n) {
  std::int64_t count = 0;
  // Blocks of 32-bit counters so the inner loop vectorizes with no widening.
  constexpr std::int64_t kBlock = 1 << 16;
  for (std::int64_t start = 0; start < n; start += kBlock) {
    const std::int64_t end = std::min(n, start + kBlock);
    std::uint32_t c = 0;
    for (std::int64_t i = start; i < end; ++i) c += is_nonfinite(x[i]);
    count += c;
  }
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

std::int64_t range_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* lo,
                        const float* hi, float* mask) {
  std::int64_t total = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    std::uint32_t c = 0;
    for (std::int64_t k = 0; k < cols; ++k) c += !(row[k] >= lo[k] && row[k] <= hi[k]);
    mask[r] = c ? 1.0f : 0.0f;
    total += c;
  }
  return total;
}

void zscore_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                 const float* inv_std, bool use_max, float* stat) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float acc = 0.0f;
    std::uint32_t bad = 0;
    if (use_max) {
      for (std::int64_t k = 0; k < cols; ++k) {
        const float z = std::fabs((row[k] - mean[k]) * inv_std[k]);
        bad += is_nonfinite(z);
        acc = std::max(acc, z);
      }
    } else {
      double sum = 0;
      for (std::int64_t k = 0; k < cols; ++k) {
        const float z = std::fabs((row[k] - mean[k]) * inv_std[k]);
        bad += is_nonfinite(z);
        sum += z;
      }
      acc = cols ? float(sum / double(cols)) : 0.0f;
    }
    // std::max drops NaN; a row with a NaN or infinity must still stand out.
    stat[r] = bad ? std::numeric_limits<float>::quiet_NaN() : acc;
  }
}

void distance_rows(const float* a, const float* b, std::int64_t rows, std::int64_t cols, float* dist) {
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::int64_t k = 0; k < cols; ++k) {
      const double d = double(a[r * cols + k]) - double(b[r * cols + k]);
      s += d * d;
    }
    dist[r] = float(std::sqrt(s));
  }
}

double sum_of_squares(const float* x, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
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
