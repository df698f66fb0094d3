// The row scans behind range and zscore (plugins/anomaly/scans.hpp), every
// instruction-set version this CPU runs, against naive references written
// here: a count of values outside the bounds, the largest |z| per row, and
// the mean |z| in double. Row widths and counts cover whole and partial
// vector groups and tiles of rows; values include NaN, infinities, signed
// zeros and values equal to their bounds.
#include "scans.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using keel::anomaly::RowScanIsa;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

const std::vector<RowScanIsa> kIsas{RowScanIsa::widest, RowScanIsa::avx2, RowScanIsa::baseline};
const char* isa_name(RowScanIsa isa) {
  switch (isa) {
    case RowScanIsa::avx2:
      return "avx2";
    case RowScanIsa::baseline:
      return "baseline";
    case RowScanIsa::widest:
      break;
  }
  return "widest";
}

// Mostly ordinary values, with the special ones sprinkled in.
float value(std::mt19937& rng) {
  static const float special[] = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 3.0e38f, -3.0e38f, 1e-45f, 1.0f};
  if (std::uniform_int_distribution<int>(0, 30)(rng) == 0)
    return special[std::uniform_int_distribution<int>(0, 9)(rng)];
  return std::uniform_real_distribution<float>(-4.0f, 4.0f)(rng);
}

std::uint32_t bits(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

struct Shape {
  std::int64_t rows, cols;
};
const Shape kShapes[] = {{1, 1},   {3, 5},   {8, 15}, {9, 16},   {17, 17}, {7, 31},
                         {16, 33}, {23, 64}, {5, 70}, {11, 100}, {4, 0},   {0, 8}};

}  // namespace

TEST_CASE("range counts the values outside each feature's bounds and masks their rows, in every version") {
  std::mt19937 rng(7);
  for (const Shape s : kShapes) {
    std::vector<float> x(std::size_t(s.rows * s.cols)), lo(std::size_t(s.cols)), hi(std::size_t(s.cols));
    for (float& v : x) v = value(rng);
    for (std::int64_t c = 0; c < s.cols; ++c) {
      lo[std::size_t(c)] = -2.0f, hi[std::size_t(c)] = 2.0f;
      if (c % 7 == 3) lo[std::size_t(c)] = hi[std::size_t(c)] = 0.5f;  // a single accepted value
      if (c % 11 == 5) lo[std::size_t(c)] = 3.0f;                      // lo > hi: nothing accepted
      if (c % 13 == 6) hi[std::size_t(c)] = kNaN;                      // NaN bound: nothing accepted
      if (c % 5 == 1) lo[std::size_t(c)] = -kInf, hi[std::size_t(c)] = kInf;
      if (c % 3 == 0 && s.rows > 0) x[std::size_t(c)] = lo[std::size_t(c)];  // on the bound
    }
    std::int64_t naive = 0;
    std::vector<float> naive_mask(std::size_t(s.rows), 0.0f);
    for (std::int64_t r = 0; r < s.rows; ++r)
      for (std::int64_t c = 0; c < s.cols; ++c) {
        const float v = x[std::size_t(r * s.cols + c)];
        if (!(v >= lo[std::size_t(c)] && v <= hi[std::size_t(c)])) ++naive, naive_mask[std::size_t(r)] = 1.0f;
      }
    for (RowScanIsa isa : kIsas) {
      if (!keel::anomaly::row_scan_isa_supported(isa)) continue;
      INFO(isa_name(isa) << ", [" << s.rows << ", " << s.cols << "]");
      std::vector<float> mask(std::size_t(s.rows), -1.0f);
      CHECK(keel::anomaly::range_rows(x.data(), s.rows, s.cols, lo.data(), hi.data(), mask.data(), isa) ==
            naive);
      CHECK(mask == naive_mask);
    }
  }
}

TEST_CASE("zscore gives each row its largest |z|, or NaN where a |z| is not finite, in every version") {
  std::mt19937 rng(8);
  for (const Shape s : kShapes) {
    std::vector<float> x(std::size_t(s.rows * s.cols)), mean(std::size_t(s.cols)),
        inv_std(std::size_t(s.cols));
    for (float& v : x) v = value(rng);
    for (std::int64_t c = 0; c < s.cols; ++c) {
      mean[std::size_t(c)] = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
      inv_std[std::size_t(c)] = c % 9 == 4 ? 1e30f : std::uniform_real_distribution<float>(0.1f, 4.0f)(rng);
    }
    std::vector<float> naive(std::size_t(s.rows), 0.0f);
    for (std::int64_t r = 0; r < s.rows; ++r)
      for (std::int64_t c = 0; c < s.cols; ++c) {
        // In float, as documented: the statistic is one of these values.
        const float z =
            std::fabs((x[std::size_t(r * s.cols + c)] - mean[std::size_t(c)]) * inv_std[std::size_t(c)]);
        float& out = naive[std::size_t(r)];
        out = std::isfinite(z) && !std::isnan(out) ? std::max(out, z) : kNaN;
      }
    for (RowScanIsa isa : kIsas) {
      if (!keel::anomaly::row_scan_isa_supported(isa)) continue;
      std::vector<float> stat(std::size_t(s.rows), -1.0f);
      keel::anomaly::zscore_rows(x.data(), s.rows, s.cols, mean.data(), inv_std.data(), true, stat.data(),
                                 isa);
      for (std::int64_t r = 0; r < s.rows; ++r) {
        INFO(isa_name(isa) << ", [" << s.rows << ", " << s.cols << "], row " << r);
        const float want = naive[std::size_t(r)], got = stat[std::size_t(r)];
        CHECK((std::isnan(want) ? std::isnan(got) : bits(got) == bits(want)));
      }
    }
  }
}

TEST_CASE(
    "zscore's mean |z| per row matches a sum in double, NaN where a |z| is not finite, in every version") {
  std::mt19937 rng(9);
  for (const Shape s : kShapes) {
    std::vector<float> x(std::size_t(s.rows * s.cols)), mean(std::size_t(s.cols)),
        inv_std(std::size_t(s.cols));
    for (float& v : x) v = value(rng);
    for (std::int64_t c = 0; c < s.cols; ++c) {
      mean[std::size_t(c)] = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
      inv_std[std::size_t(c)] = std::uniform_real_distribution<float>(0.1f, 4.0f)(rng);
    }
    for (RowScanIsa isa : kIsas) {
      if (!keel::anomaly::row_scan_isa_supported(isa)) continue;
      std::vector<float> stat(std::size_t(s.rows), -1.0f);
      keel::anomaly::zscore_rows(x.data(), s.rows, s.cols, mean.data(), inv_std.data(), false, stat.data(),
                                 isa);
      for (std::int64_t r = 0; r < s.rows; ++r) {
        INFO(isa_name(isa) << ", [" << s.rows << ", " << s.cols << "], row " << r);
        double sum = 0;
        bool bad = false;
        for (std::int64_t c = 0; c < s.cols; ++c) {
          const float z =
              std::fabs((x[std::size_t(r * s.cols + c)] - mean[std::size_t(c)]) * inv_std[std::size_t(c)]);
          bad = bad || !std::isfinite(z);
          sum += z;
        }
        const float got = stat[std::size_t(r)];
        if (bad) {
          CHECK(std::isnan(got));
        } else {
          const double want = s.cols ? sum / double(s.cols) : 0.0;
          CHECK(std::fabs(double(got) - want) <= 1e-6 * std::max(1.0, std::fabs(want)) * 4);
        }
      }
    }
  }
}
