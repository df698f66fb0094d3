// Tiles of rows for the row scans (range_kernels.hpp, zscore_kernels.hpp):
// 8-lane vector types and the reductions across a row's 16 lane
// accumulators, done for 8 rows at once. Internal to the anomaly plugin.
//
// A row scan reads each row once into 16 lane accumulators (feature k in
// lane k % 16; scans.hpp fixes that layout for the mean), two registers of
// 8. The accumulators of 8 rows, a tile, are transposed so that reducing
// each row's lanes is a few vertical operations on all 8 rows, not a
// horizontal chain per row, and the tile's 8 results leave in one store: a
// 4-byte store per row into an output that misses the cache holds up the
// stream of loads.
//
// Everything here is forced inline (KEEL_ROW_INLINE) into functions
// compiled for AVX2: an out-of-line copy would be compiled for the baseline
// instruction set, not for the caller's.
#pragma once

#include <cstdint>
#include <cstring>

#define KEEL_ROW_INLINE inline __attribute__((always_inline))

namespace keel::anomaly::row_kernels {

// GCC vector extensions, one AVX2 register each (two for f64x8).
using f32x8 = float __attribute__((vector_size(32)));
using i32x8 = std::int32_t __attribute__((vector_size(32)));
using f64x8 = double __attribute__((vector_size(64)));

constexpr int kGroup = 16;  // lane accumulators per row
constexpr int kTile = 8;    // rows reduced together: one 8x8 transpose

// A row's 16 lane accumulators: lanes 0-7 and 8-15.
template <class V>
struct Lanes {
  V low, high;
};

template <class V>
KEEL_ROW_INLINE void load(const float* p, V& v) {
  std::memcpy(&v, p, sizeof v);
}

// m[i][j] becomes m[j][i]. Every shuffle is one AVX instruction (unpcklps /
// unpckhps, shufps, vperm2f128).
template <class V>
KEEL_ROW_INLINE void transpose8(V (&m)[kTile]) {
  V t[kTile], s[kTile];
  for (int i = 0; i < kTile; i += 2) {  // t[i]: lanes 0, 1, 4, 5 of rows i, i + 1; t[i + 1]: 2, 3, 6, 7
    t[i] = __builtin_shufflevector(m[i], m[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(m[i], m[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int b = 0; b < kTile; b += 4) {  // s[b + j]: lanes j and j + 4 of rows b .. b + 3
    s[b] = __builtin_shufflevector(t[b], t[b + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    s[b + 1] = __builtin_shufflevector(t[b], t[b + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    s[b + 2] = __builtin_shufflevector(t[b + 1], t[b + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    s[b + 3] = __builtin_shufflevector(t[b + 1], t[b + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int j = 0; j < 4; ++j) {
    m[j] = __builtin_shufflevector(s[j], s[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    m[j + 4] = __builtin_shufflevector(s[j], s[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// The tile's lanes by lane: low[j] is lane j of rows 0..7, high[j] lane 8 + j.
template <class V>
KEEL_ROW_INLINE void by_lane(const Lanes<V> (&tile)[kTile], V (&low)[kTile], V (&high)[kTile]) {
  for (int i = 0; i < kTile; ++i) low[i] = tile[i].low, high[i] = tile[i].high;
  transpose8(low);
  transpose8(high);
}

// Lane i of max: the largest of row i's 16 lanes.
KEEL_ROW_INLINE void max_tile(const Lanes<i32x8> (&tile)[kTile], i32x8& max) {
  i32x8 low[kTile], high[kTile];
  by_lane(tile, low, high);
  max = low[0];
  for (int j = 1; j < kTile; ++j) max = max < low[j] ? low[j] : max;
  for (int j = 0; j < kTile; ++j) max = max < high[j] ? high[j] : max;
}

// Lane i of mean[t]: row i of tile t, its 16 float lanes added in double
// in lane order, divided by cols, rounded to float: the scalar definition's
// steps. Each tile's sum is a chain of 16 dependent additions; two tiles at
// once keep two chains in flight.
KEEL_ROW_INLINE void mean_tiles(const Lanes<f32x8> (&tile)[2][kTile], std::int64_t cols, f32x8 (&mean)[2]) {
  f32x8 low[2][kTile], high[2][kTile];
  f64x8 sum[2] = {};
  for (int t = 0; t < 2; ++t) by_lane(tile[t], low[t], high[t]);
  for (int j = 0; j < kTile; ++j)
    for (int t = 0; t < 2; ++t) sum[t] += __builtin_convertvector(low[t][j], f64x8);
  for (int j = 0; j < kTile; ++j)
    for (int t = 0; t < 2; ++t) sum[t] += __builtin_convertvector(high[t][j], f64x8);
  for (int t = 0; t < 2; ++t) mean[t] = __builtin_convertvector(sum[t] / double(cols), f32x8);
}

// The first n of a tile's 8 row results (float bits) into out: one store
// for a whole tile.
KEEL_ROW_INLINE void store_rows(float* out, int n, const i32x8& bits) {
  if (n == kTile) {
    std::memcpy(out, &bits, sizeof bits);
  } else {
    for (int i = 0; i < n; ++i) std::memcpy(out + i, reinterpret_cast<const char*>(&bits) + 4 * i, 4);
  }
}

}  // namespace keel::anomaly::row_kernels
