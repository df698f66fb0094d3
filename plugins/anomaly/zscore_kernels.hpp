// The AVX2 kernels of zscore_rows (scans.hpp), instantiated by scans.cpp
// inside functions compiled for AVX2. They compute exactly the scalar
// definition in scans.cpp: z = (x - mean) * inv_std in float, each row's |z|
// into 16 lanes in feature order, then per row the largest lane, or the
// lanes added in double in lane order and divided by cols. Rows are read in
// memory order, which the hardware prefetchers follow best (going feature
// group by feature group across a tile is faster in cache but slower from
// memory). kGroups is cols / 16 when the caller knows it at compile time
// (narrow rows, fully unrolled), 0 otherwise.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "row_tiles.hpp"

namespace keel::anomaly::row_kernels {

constexpr std::int32_t kInfBits = 0x7f800000;  // |v| bits at or above: NaN or infinity
constexpr std::int32_t kNaNBits = 0x7fc00000;  // std::numeric_limits<float>::quiet_NaN()

template <int kGroups>
KEEL_ROW_INLINE std::int64_t whole_groups(std::int64_t cols) {
  return kGroups ? kGroups : cols / kGroup;
}

// |(v - mean) * inv_std| as float bits with the sign cleared: ordered as the
// floats are, and NaN and infinity above every finite value.
KEEL_ROW_INLINE void abs_z_bits(const float* row, const float* mean, const float* inv_std, i32x8& bits) {
  f32x8 v, m, s;
  load(row, v);
  load(mean, m);
  load(inv_std, s);
  bits = i32x8((v - m) * s) & 0x7fffffff;
}

KEEL_ROW_INLINE std::int32_t abs_z_bits(float v, float mean, float inv_std) {
  const float z = std::fabs((v - mean) * inv_std);
  std::int32_t bits;
  std::memcpy(&bits, &z, sizeof bits);
  return bits;
}

// The features past the last whole group of 16 go to lane 0, one at a time.
// Out of line: they are few, and inlined they would crowd the registers of
// the vector loop.

// The largest of start and the tail's |z| bits.
inline __attribute__((noinline)) std::int32_t tail_max_z(std::int32_t start, const float* row,
                                                         std::int64_t from, std::int64_t cols,
                                                         const float* mean, const float* inv_std) {
  for (std::int64_t k = from; k < cols; ++k) start = std::max(start, abs_z_bits(row[k], mean[k], inv_std[k]));
  return start;
}

// start plus the tail's |z|, added in feature order, in float.
inline __attribute__((noinline)) float tail_sum_z(float start, const float* row, std::int64_t from,
                                                  std::int64_t cols, const float* mean,
                                                  const float* inv_std) {
  for (std::int64_t k = from; k < cols; ++k) start += std::fabs((row[k] - mean[k]) * inv_std[k]);
  return start;
}

// Per lane, the largest |z| as bits (0: +0.0).
template <int kGroups>
KEEL_ROW_INLINE void lane_max_z(const float* row, std::int64_t cols, const float* mean, const float* inv_std,
                                Lanes<i32x8>& top) {
  const std::int64_t whole = whole_groups<kGroups>(cols) * kGroup;
  top.low = i32x8{};
  top.high = i32x8{};
  for (std::int64_t k = 0; k < whole; k += kGroup) {
    i32x8 low, high;
    abs_z_bits(row + k, mean + k, inv_std + k, low);
    abs_z_bits(row + k + 8, mean + k + 8, inv_std + k + 8, high);
    top.low = top.low < low ? low : top.low;
    top.high = top.high < high ? high : top.high;
  }
  if (whole < cols) top.low[0] = tail_max_z(top.low[0], row, whole, cols, mean, inv_std);
}

// Per lane, the sum of |z| in float in feature order. A NaN or an infinity
// makes its lane NaN or infinite, and so the row's mean.
template <int kGroups>
KEEL_ROW_INLINE void lane_sum_z(const float* row, std::int64_t cols, const float* mean, const float* inv_std,
                                Lanes<f32x8>& sum) {
  const std::int64_t whole = whole_groups<kGroups>(cols) * kGroup;
  sum.low = f32x8{};
  sum.high = f32x8{};
  for (std::int64_t k = 0; k < whole; k += kGroup) {
    i32x8 low, high;
    abs_z_bits(row + k, mean + k, inv_std + k, low);
    abs_z_bits(row + k + 8, mean + k + 8, inv_std + k + 8, high);
    sum.low += f32x8(low);
    sum.high += f32x8(high);
  }
  if (whole < cols) sum.low[0] = tail_sum_z(sum.low[0], row, whole, cols, mean, inv_std);
}

// Tiles of 8 rows; a last, shorter tile is padded with zero lanes, which
// are never stored.
template <int kGroups>
KEEL_ROW_INLINE void zscore_max_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                                     const float* inv_std, float* stat) {
  for (std::int64_t r = 0; r < rows; r += kTile) {
    const int n = int(std::min<std::int64_t>(kTile, rows - r));
    Lanes<i32x8> tile[kTile];
    for (int i = 0; i < kTile; ++i)
      if (i < n)
        lane_max_z<kGroups>(x + (r + i) * cols, cols, mean, inv_std, tile[i]);
      else
        tile[i].low = tile[i].high = i32x8{};
    i32x8 top;
    max_tile(tile, top);
    // A row with a NaN or an infinity has the largest bits: NaN, as the
    // scalar definition gives.
    store_rows(stat + r, n, top >= kInfBits ? i32x8{} + kNaNBits : top);
  }
}

// The statistic of one row by the scalar definition.
using ExactRow = void (*)(const float* row, std::int64_t cols, const float* mean, const float* inv_std,
                          float* stat);

// cols > 0: an empty row's statistic (0) is the caller's. A row whose mean
// comes out NaN or infinite met a NaN or an infinity, or overflowed (lanes
// are sums of non-negative values): exact_row gives it what the scalar
// definition gives (NaN when a |z| is not finite, else infinity). Such rows
// are rare; the fast path need not tell the cases apart. Two tiles at a
// time (mean_tiles).
template <int kGroups>
KEEL_ROW_INLINE void zscore_mean_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                                      const float* inv_std, float* stat, ExactRow exact_row) {
  for (std::int64_t r = 0; r < rows; r += 2 * kTile) {
    Lanes<f32x8> tile[2][kTile];
    for (int i = 0; i < 2 * kTile; ++i)
      if (r + i < rows)
        lane_sum_z<kGroups>(x + (r + i) * cols, cols, mean, inv_std, tile[i / kTile][i % kTile]);
      else
        tile[i / kTile][i % kTile].low = tile[i / kTile][i % kTile].high = f32x8{};
    f32x8 m[2];
    mean_tiles(tile, cols, m);
    for (int t = 0; t < 2; ++t) {
      const std::int64_t first = r + t * kTile;
      const int n = int(std::clamp<std::int64_t>(rows - first, 0, kTile));
      const i32x8 bits = i32x8(m[t]);
      store_rows(stat + first, n, bits);
      const i32x8 not_finite = (bits & 0x7fffffff) >= kInfBits;
      std::uint64_t any[4];
      std::memcpy(any, &not_finite, sizeof any);
      if (any[0] | any[1] | any[2] | any[3])
        for (int i = 0; i < n; ++i)
          if (not_finite[i]) exact_row(x + (first + i) * cols, cols, mean, inv_std, stat + first + i);
    }
  }
}

}  // namespace keel::anomaly::row_kernels
