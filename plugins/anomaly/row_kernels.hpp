// The vector kernels behind zscore_rows (scans.hpp), written once for W
// float lanes per register and instantiated by scans.cpp for AVX-512
// (W = 16) and AVX2 (W = 8) inside functions compiled for those instruction
// sets. Internal to the anomaly plugin.
//
// A row is read once into 16 lane accumulators, feature k in lane k % 16
// and the features past the last full group of 16 in lane 0, in feature
// order: the layout and the order of the additions of the scalar
// definition in scans.cpp, so every result is bit for bit the same. The
// accumulators of 8 rows (a tile) are then transposed, so the reductions
// across a row's lanes become vertical operations on 8 rows at once, with
// no horizontal reduction chain per row, and the tile's results are written
// with one store.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace keel::anomaly::row_kernels {

// GCC vector extensions. The widths are fixed per instantiation: GCC 12
// splits a vector wider than the instruction set's registers element by
// element for comparisons, so each instruction set gets its own W.
using f32x16 = float __attribute__((vector_size(64)));
using i32x16 = std::int32_t __attribute__((vector_size(64)));
using f32x8 = float __attribute__((vector_size(32)));
using i32x8 = std::int32_t __attribute__((vector_size(32)));
using f64x8 = double __attribute__((vector_size(64)));

template <int W>
struct Lanes;
template <>
struct Lanes<16> {
  using F = f32x16;
  using I = i32x16;
};
template <>
struct Lanes<8> {
  using F = f32x8;
  using I = i32x8;
};

constexpr int kGroup = 16;                     // lane accumulators per row
constexpr int kTile = 8;                       // rows reduced together: one 8x8 transpose
constexpr std::int32_t kInfBits = 0x7f800000;  // |v| bits at or above: NaN or infinity
constexpr std::int32_t kNaNBits = 0x7fc00000;  // std::numeric_limits<float>::quiet_NaN()

// Everything here is forced inline: an out-of-line copy would be compiled
// for the baseline instruction set, not for the caller's.
#define KEEL_INLINE inline __attribute__((always_inline))

template <class V>
KEEL_INLINE void load(const float* p, V& v) {
  std::memcpy(&v, p, sizeof v);
}

// A row's 16 lanes (kGroup / W registers, 64 contiguous bytes) as two
// halves of 8, the width the tile transposes work on.
template <class Group, class Half>
KEEL_INLINE void halves(const Group& group, Half& low, Half& high) {
  static_assert(sizeof(Group) == 2 * sizeof(Half));
  std::memcpy(&low, &group, sizeof low);
  std::memcpy(&high, reinterpret_cast<const char*>(&group) + sizeof low, sizeof high);
}

// m[i][j] becomes m[j][i]. Every shuffle is one AVX instruction (unpcklps /
// unpckhps, shufps, vperm2f128).
template <class V>
KEEL_INLINE void transpose8(V (&m)[kTile]) {
  const i32x8 unpack_lo = {0, 8, 1, 9, 4, 12, 5, 13}, unpack_hi = {2, 10, 3, 11, 6, 14, 7, 15};
  const i32x8 pairs_lo = {0, 1, 8, 9, 4, 5, 12, 13}, pairs_hi = {2, 3, 10, 11, 6, 7, 14, 15};
  const i32x8 halves_lo = {0, 1, 2, 3, 8, 9, 10, 11}, halves_hi = {4, 5, 6, 7, 12, 13, 14, 15};
  V t[kTile], s[kTile];
  for (int i = 0; i < kTile; i += 2) {  // t[i]: lanes 0, 1, 4, 5 of rows i, i + 1; t[i + 1]: 2, 3, 6, 7
    t[i] = __builtin_shuffle(m[i], m[i + 1], unpack_lo);
    t[i + 1] = __builtin_shuffle(m[i], m[i + 1], unpack_hi);
  }
  for (int b = 0; b < kTile; b += 4) {  // s[b + j]: lanes j and j + 4 of rows b .. b + 3
    s[b] = __builtin_shuffle(t[b], t[b + 2], pairs_lo);
    s[b + 1] = __builtin_shuffle(t[b], t[b + 2], pairs_hi);
    s[b + 2] = __builtin_shuffle(t[b + 1], t[b + 3], pairs_lo);
    s[b + 3] = __builtin_shuffle(t[b + 1], t[b + 3], pairs_hi);
  }
  for (int j = 0; j < 4; ++j) {
    m[j] = __builtin_shuffle(s[j], s[j + 4], halves_lo);
    m[j + 4] = __builtin_shuffle(s[j], s[j + 4], halves_hi);
  }
}

template <bool kMax>
KEEL_INLINE void combine(i32x8& acc, const i32x8& v) {
  if constexpr (kMax)
    acc = acc < v ? v : acc;
  else
    acc += v;
}

// Lane i of per_row: row i's 16 lanes reduced (sum, or max when kMax).
// Both are exact on integers, so the order does not matter.
template <bool kMax, class Group>
KEEL_INLINE void reduce_tile(const Group (&tile)[kTile], i32x8& per_row) {
  i32x8 m[kTile];
  for (int i = 0; i < kTile; ++i) {
    i32x8 high;
    halves(tile[i], m[i], high);
    combine<kMax>(m[i], high);
  }
  transpose8(m);
  per_row = m[0];
  for (int j = 1; j < kTile; ++j) combine<kMax>(per_row, m[j]);
}

// Lane i of mean: row i's 16 float lanes added in double in lane order,
// divided by cols, rounded to float: the scalar definition's steps.
template <class Group>
KEEL_INLINE void mean_tile(const Group (&tile)[kTile], std::int64_t cols, f32x8& mean) {
  f32x8 low[kTile], high[kTile];
  for (int i = 0; i < kTile; ++i) halves(tile[i], low[i], high[i]);
  transpose8(low);
  transpose8(high);
  f64x8 sum = {};
  for (int j = 0; j < kTile; ++j) sum += __builtin_convertvector(low[j], f64x8);
  for (int j = 0; j < kTile; ++j) sum += __builtin_convertvector(high[j], f64x8);
  mean = __builtin_convertvector(sum / double(cols), f32x8);
}

// The first n of a tile's 8 row results (float bits) into out.
KEEL_INLINE void store_rows(float* out, int n, const i32x8& bits) {
  if (n == kTile) {
    std::memcpy(out, &bits, sizeof bits);
  } else {
    for (int i = 0; i < n; ++i) std::memcpy(out + i, reinterpret_cast<const char*>(&bits) + 4 * i, 4);
  }
}

// A row's lane accumulators: kGroup / W registers of W lanes.
template <int W, class V>
struct Group {
  V part[kGroup / W];
};

// Rows are read one after another, in memory order, which the hardware
// prefetchers follow best (going feature group by feature group across the
// 8 rows of a tile is faster in cache but slower from memory). kGroups is
// cols / 16 when the caller knows it at compile time, 0 otherwise.

template <int kGroups>
KEEL_INLINE std::int64_t full_groups(std::int64_t cols) {
  return kGroups ? kGroups : cols / kGroup;
}

// |(v - mean) * inv_std| as float bits with the sign cleared: ordered as the
// floats are, and NaN and infinity above every finite value.
template <class F, class I>
KEEL_INLINE void abs_z_bits(const float* row, const float* mean, const float* inv_std, I& bits) {
  F v, m, s;
  load(row, v);
  load(mean, m);
  load(inv_std, s);
  bits = I((v - m) * s) & 0x7fffffff;
}

KEEL_INLINE std::int32_t abs_z_bits(float v, float mean, float inv_std) {
  const float z = std::fabs((v - mean) * inv_std);
  std::int32_t bits;
  std::memcpy(&bits, &z, sizeof bits);
  return bits;
}

template <class I>
KEEL_INLINE void keep_max(I& top, const I& bits) {
  top = top < bits ? bits : top;
}

// Per lane, the largest |z| as bits (0: +0.0).
template <int W, int kGroups>
KEEL_INLINE void lane_max_z(const float* row, std::int64_t cols, const float* mean, const float* inv_std,
                            Group<W, typename Lanes<W>::I>& top) {
  using F = typename Lanes<W>::F;
  using I = typename Lanes<W>::I;
  const std::int64_t full = full_groups<kGroups>(cols) * kGroup;
  for (auto& t : top.part) t = I{};
  for (std::int64_t k = 0; k < full; k += kGroup)
    for (int p = 0; p < kGroup / W; ++p) {
      I bits;
      abs_z_bits<F>(row + k + p * W, mean + k + p * W, inv_std + k + p * W, bits);
      keep_max(top.part[p], bits);
    }
  for (std::int64_t k = full; k < cols; ++k)
    top.part[0][0] = std::max(top.part[0][0], abs_z_bits(row[k], mean[k], inv_std[k]));
}

// Per lane, the sum of |z| in float in feature order. A NaN or an infinity
// makes its lane NaN or infinite, and so the row's mean (mean_rows).
template <int W, int kGroups>
KEEL_INLINE void lane_sum_z(const float* row, std::int64_t cols, const float* mean, const float* inv_std,
                            Group<W, typename Lanes<W>::F>& sum) {
  using F = typename Lanes<W>::F;
  using I = typename Lanes<W>::I;
  const std::int64_t full = full_groups<kGroups>(cols) * kGroup;
  for (auto& part : sum.part) part = F{};
  for (std::int64_t k = 0; k < full; k += kGroup)
    for (int p = 0; p < kGroup / W; ++p) {
      I bits;
      abs_z_bits<F>(row + k + p * W, mean + k + p * W, inv_std + k + p * W, bits);
      sum.part[p] += F(bits);
    }
  for (std::int64_t k = full; k < cols; ++k) sum.part[0][0] += std::fabs((row[k] - mean[k]) * inv_std[k]);
}

// Tiles of 8 rows; a last, shorter tile is padded with zero lanes, which
// are never stored.
template <int W, int kGroups>
KEEL_INLINE void zscore_max_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                                 const float* inv_std, float* stat) {
  using Top = Group<W, typename Lanes<W>::I>;
  for (std::int64_t r = 0; r < rows; r += kTile) {
    const int n = int(std::min<std::int64_t>(kTile, rows - r));
    Top tile[kTile];
    for (int i = 0; i < kTile; ++i)
      if (i < n)
        lane_max_z<W, kGroups>(x + (r + i) * cols, cols, mean, inv_std, tile[i]);
      else
        tile[i] = Top{};
    i32x8 top;
    reduce_tile<true>(tile, top);
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
// are rare; the fast path need not tell the cases apart.
template <int W, int kGroups>
KEEL_INLINE void zscore_mean_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                                  const float* inv_std, float* stat, ExactRow exact_row) {
  using Sum = Group<W, typename Lanes<W>::F>;
  for (std::int64_t r = 0; r < rows; r += kTile) {
    const int n = int(std::min<std::int64_t>(kTile, rows - r));
    Sum tile[kTile];
    for (int i = 0; i < kTile; ++i)
      if (i < n)
        lane_sum_z<W, kGroups>(x + (r + i) * cols, cols, mean, inv_std, tile[i]);
      else
        tile[i] = Sum{};
    f32x8 m;
    mean_tile(tile, cols, m);
    const i32x8 bits = i32x8(m);
    store_rows(stat + r, n, bits);
    const i32x8 not_finite = (bits & 0x7fffffff) >= kInfBits;
    std::uint64_t any[4];
    std::memcpy(any, &not_finite, sizeof any);
    if (any[0] | any[1] | any[2] | any[3])
      for (int i = 0; i < n; ++i)
        if (not_finite[i]) exact_row(x + (r + i) * cols, cols, mean, inv_std, stat + r + i);
  }
}

#undef KEEL_INLINE

}  // namespace keel::anomaly::row_kernels
