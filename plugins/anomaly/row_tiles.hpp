// Tiles of rows for the row scans (range_kernels.hpp, zscore_kernels.hpp):
// GCC vector types, and the reductions across a row's 16 lane accumulators
// done for 8 rows at once. Internal to the anomaly plugin.
//
// A row scan reads each row once into 16 lane accumulators (feature k in
// lane k % 16; scans.hpp fixes that layout for the mean). The accumulators
// of 8 rows, a tile, are transposed so that reducing each row's lanes is a
// few vertical operations on all 8 rows, not a horizontal chain per row,
// and the tile's 8 results leave in one store: a 4-byte store per row into
// an output that misses the cache holds up the stream of loads.
//
// Everything here is forced inline (KEEL_ROW_INLINE) into functions
// compiled for AVX-512 or AVX2: an out-of-line copy would be compiled for
// the baseline instruction set, not for the caller's.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#define KEEL_ROW_INLINE inline __attribute__((always_inline))

namespace keel::anomaly::row_kernels {

// GCC vector extensions. W, the lanes of one register, is fixed per
// instruction set (16: AVX-512, 8: AVX2): GCC 12 compiles a comparison of
// vectors wider than the registers element by element.
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

constexpr int kGroup = 16;  // lane accumulators per row
constexpr int kTile = 8;    // rows reduced together: one 8x8 transpose

template <class V>
KEEL_ROW_INLINE void load(const float* p, V& v) {
  std::memcpy(&v, p, sizeof v);
}

// The two halves of 8 lanes of a 16-lane vector, as register extracts (a
// copy through memory would store 64 bytes and reload 32, which the store
// buffer cannot forward).
template <class V, class Half>
KEEL_ROW_INLINE void halves(const V& v, Half& low, Half& high) {
  static_assert(sizeof(V) == 2 * sizeof(Half));
  low = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  high = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
}

// Shuffle selectors for V from an 8-lane pattern (indices 0-7: the first
// operand, 8-15: the second), applied to each half of 8 lanes on its own.
template <class Sel>
KEEL_ROW_INLINE void per_half(const int (&pattern)[8], Sel& sel) {
  constexpr int n = int(sizeof(Sel) / sizeof(std::int32_t));
  for (int h = 0; h < n / 8; ++h)
    for (int e = 0; e < 8; ++e) {
      const int p = pattern[e];
      sel[h * 8 + e] = p < 8 ? h * 8 + p : n + h * 8 + p - 8;
    }
}

// Within each half of 8 lanes, m[i][j] becomes m[j][i]: 8 vectors of 8
// lanes are transposed, and vectors of 16 lanes are two 8x8 transposes side
// by side. Every shuffle is one instruction (unpcklps / unpckhps, shufps,
// vperm2f128 or vpermt2ps).
template <class V>
KEEL_ROW_INLINE void transpose8(V (&m)[kTile]) {
  using Sel = std::conditional_t<sizeof(V) == sizeof(i32x16), i32x16, i32x8>;
  Sel unpack_lo, unpack_hi, pairs_lo, pairs_hi, halves_lo, halves_hi;
  per_half({0, 8, 1, 9, 4, 12, 5, 13}, unpack_lo);
  per_half({2, 10, 3, 11, 6, 14, 7, 15}, unpack_hi);
  per_half({0, 1, 8, 9, 4, 5, 12, 13}, pairs_lo);
  per_half({2, 3, 10, 11, 6, 7, 14, 15}, pairs_hi);
  per_half({0, 1, 2, 3, 8, 9, 10, 11}, halves_lo);
  per_half({4, 5, 6, 7, 12, 13, 14, 15}, halves_hi);
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

// A row's lane accumulators: kGroup / W registers of W lanes.
template <int W, class V>
struct Group {
  V part[kGroup / W];
};

// The tile's lanes by lane: low[j] is lane j of rows 0..7, high[j] lane
// 8 + j. With 16-lane registers both halves transpose together.
template <int W, class V, class H>
KEEL_ROW_INLINE void by_lane(const Group<W, V> (&tile)[kTile], H (&low)[kTile], H (&high)[kTile]) {
  if constexpr (W == 16) {
    V m[kTile];
    for (int i = 0; i < kTile; ++i) m[i] = tile[i].part[0];
    transpose8(m);
    for (int j = 0; j < kTile; ++j) halves(m[j], low[j], high[j]);
  } else {
    for (int i = 0; i < kTile; ++i) low[i] = tile[i].part[0], high[i] = tile[i].part[1];
    transpose8(low);
    transpose8(high);
  }
}

template <bool kMax>
KEEL_ROW_INLINE void combine(i32x8& acc, const i32x8& v) {
  if constexpr (kMax)
    acc = acc < v ? v : acc;
  else
    acc += v;
}

// Lane i of per_row: row i's 16 lanes reduced (max, or sum when !kMax).
// Both are exact on integers, so the order does not matter.
template <bool kMax, int W, class V>
KEEL_ROW_INLINE void reduce_tile(const Group<W, V> (&tile)[kTile], i32x8& per_row) {
  i32x8 low[kTile], high[kTile];
  by_lane(tile, low, high);
  per_row = low[0];
  for (int j = 1; j < kTile; ++j) combine<kMax>(per_row, low[j]);
  for (int j = 0; j < kTile; ++j) combine<kMax>(per_row, high[j]);
}

// Lane i of mean[t]: row i of tile t, its 16 float lanes added in double
// in lane order, divided by cols, rounded to float: the scalar definition's
// steps. Each tile's sum is a chain of 16 dependent additions; two tiles at
// once keep two chains in flight.
template <int W, class V>
KEEL_ROW_INLINE void mean_tiles(const Group<W, V> (&tile)[2][kTile], std::int64_t cols, f32x8 (&mean)[2]) {
  f32x8 low[2][kTile], high[2][kTile];
  f64x8 sum[2] = {};
  for (int t = 0; t < 2; ++t) by_lane(tile[t], low[t], high[t]);
  for (int j = 0; j < kTile; ++j)
    for (int t = 0; t < 2; ++t) sum[t] += __builtin_convertvector(low[t][j], f64x8);
  for (int j = 0; j < kTile; ++j)
    for (int t = 0; t < 2; ++t) sum[t] += __builtin_convertvector(high[t][j], f64x8);
  for (int t = 0; t < 2; ++t) mean[t] = __builtin_convertvector(sum[t] / double(cols), f32x8);
}

// The first n of a tile's 8 row results (float bits) into out.
KEEL_ROW_INLINE void store_rows(float* out, int n, const i32x8& bits) {
  if (n == kTile) {
    std::memcpy(out, &bits, sizeof bits);
  } else {
    for (int i = 0; i < n; ++i) std::memcpy(out + i, reinterpret_cast<const char*>(&bits) + 4 * i, 4);
  }
}

}  // namespace keel::anomaly::row_kernels
