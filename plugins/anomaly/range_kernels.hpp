// The vector kernels of range_rows (scans.hpp) for AVX-512 and AVX2; the
// scalar definition is in scans.cpp. range needs only each row's count of
// values outside [lo, hi] (both comparisons are false for NaN, so NaN is
// outside): both kernels count the values inside and subtract, and write a
// tile's 8 masks in one store (row_tiles.hpp). Counts are uint32 per row,
// as in the scalar definition.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "row_tiles.hpp"

namespace keel::anomaly::row_kernels {

// Violations among row[from..cols), one at a time: the few values past the
// last whole vector. Out of line, so as not to crowd the vector loop.
inline __attribute__((noinline)) std::uint32_t violations(const float* row, std::int64_t from,
                                                          std::int64_t cols, const float* lo,
                                                          const float* hi) {
  std::uint32_t c = 0;
  for (std::int64_t k = from; k < cols; ++k) c += !((row[k] >= lo[k]) & (row[k] <= hi[k]));
  return c;
}

using u32x8 = std::uint32_t __attribute__((vector_size(32)));
using u64x8 = std::uint64_t __attribute__((vector_size(64)));

// AVX-512: per row, lane counts of the values inside [lo, hi] (a compare, a
// compare under its mask, a masked add), then the tile's rows reduced
// together. kGroups: cols / 16 when known at compile time, else 0.
template <int kGroups>
__attribute__((target("avx512f"), always_inline)) inline void lane_inside_avx512(
    const float* row, std::int64_t full, const float* lo, const float* hi, Group<16, i32x16>& inside) {
  const __m512i minus_one = _mm512_set1_epi32(-1);
  __m512i count = _mm512_setzero_si512();
  for (std::int64_t k = 0; k < (kGroups ? kGroups * 16 : full); k += 16) {
    const __m512 v = _mm512_loadu_ps(row + k);
    const __mmask16 above_lo = _mm512_cmp_ps_mask(v, _mm512_loadu_ps(lo + k), _CMP_GE_OQ);
    const __mmask16 in = _mm512_mask_cmp_ps_mask(above_lo, v, _mm512_loadu_ps(hi + k), _CMP_LE_OQ);
    count = _mm512_mask_sub_epi32(count, in, count, minus_one);
  }
  inside.part[0] = i32x16(count);
}

// The tile's row counts of values outside the bounds (full values per row
// in the lanes, tail counted one by one) -> mask and running total. Counts
// are uint32 per row, as in the scalar definition.
KEEL_ROW_INLINE void finish_range_tile(const i32x8& inside, std::int64_t full, bool has_tail,
                                       const std::uint32_t (&tail)[kTile], int n, float* mask, u64x8& total) {
  u32x8 outside = (u32x8{} + std::uint32_t(full)) - u32x8(inside);
  if (has_tail) {
    u32x8 t;
    std::memcpy(&t, tail, sizeof t);
    outside += t;
  }
  if (n < kTile) outside = i32x8{0, 1, 2, 3, 4, 5, 6, 7} < n ? outside : u32x8{};
  total += __builtin_convertvector(outside, u64x8);
  store_rows(mask, n, outside != 0 ? i32x8{} + 0x3f800000 : i32x8{});  // 1.0f
}

template <int kGroups>
__attribute__((target("avx512f"))) std::int64_t range_avx512(const float* x, std::int64_t rows,
                                                             std::int64_t cols, const float* lo,
                                                             const float* hi, float* mask) {
  const std::int64_t full = kGroups ? kGroups * 16 : cols / 16 * 16;
  u64x8 total = {};
  for (std::int64_t r = 0; r < rows; r += kTile) {
    const int n = int(std::min<std::int64_t>(kTile, rows - r));
    Group<16, i32x16> tile[kTile];
    std::uint32_t tail[kTile] = {};
    for (int i = 0; i < kTile; ++i) {
      if (i >= n) {
        tile[i] = {};
        continue;
      }
      const float* row = x + (r + i) * cols;
      lane_inside_avx512<kGroups>(row, full, lo, hi, tile[i]);
      if (full < cols) tail[i] = violations(row, full, cols, lo, hi);
    }
    i32x8 inside;
    reduce_tile<false>(tile, inside);
    finish_range_tile(inside, full, full < cols, tail, n, mask + r, total);
  }
  std::int64_t sum = 0;
  for (int i = 0; i < 8; ++i) sum += std::int64_t(total[i]);
  return sum;
}

inline __attribute__((target("avx512f"))) std::int64_t range_rows_avx512(const float* x, std::int64_t rows,
                                                                         std::int64_t cols, const float* lo,
                                                                         const float* hi, float* mask) {
  switch (cols) {  // narrow rows of whole groups of 16, unrolled (64: the digits)
    case 16:
      return range_avx512<1>(x, rows, cols, lo, hi, mask);
    case 32:
      return range_avx512<2>(x, rows, cols, lo, hi, mask);
    case 48:
      return range_avx512<3>(x, rows, cols, lo, hi, mask);
    case 64:
      return range_avx512<4>(x, rows, cols, lo, hi, mask);
    default:
      return range_avx512<0>(x, rows, cols, lo, hi, mask);
  }
}

// mask[0..n) = 1 where bit i of flags is set, else 0: one vector store.
KEEL_ROW_INLINE void store_flags(float* mask, int n, std::uint32_t flags) {
  const i32x8 bit = (i32x8{} + std::int32_t(flags)) & i32x8{1, 2, 4, 8, 16, 32, 64, 128};
  store_rows(mask, n, bit != 0 ? i32x8{} + 0x3f800000 : i32x8{});  // 1.0f
}

// AVX2: per 8 values a bit mask of those inside [lo, hi], its bits counted;
// the tile's masks from the rows' flags.
inline __attribute__((target("avx2,popcnt"))) std::int64_t range_rows_avx2(const float* x, std::int64_t rows,
                                                                           std::int64_t cols, const float* lo,
                                                                           const float* hi, float* mask) {
  const std::int64_t full = cols / 8 * 8;
  std::int64_t total = 0;
  for (std::int64_t r = 0; r < rows; r += kTile) {
    const int n = int(std::min<std::int64_t>(kTile, rows - r));
    std::uint32_t flags = 0;
    for (int i = 0; i < n; ++i) {
      const float* row = x + (r + i) * cols;
      std::uint32_t inside = 0;
      for (std::int64_t k = 0; k < full; k += 8) {
        const __m256 v = _mm256_loadu_ps(row + k);
        const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, _mm256_loadu_ps(lo + k), _CMP_GE_OQ),
                                        _mm256_cmp_ps(v, _mm256_loadu_ps(hi + k), _CMP_LE_OQ));
        inside += _mm_popcnt_u32(std::uint32_t(_mm256_movemask_ps(in)));
      }
      const std::uint32_t c =
          std::uint32_t(full) - inside + (full < cols ? violations(row, full, cols, lo, hi) : 0);
      flags |= std::uint32_t(c != 0) << i;
      total += c;
    }
    store_flags(mask + r, n, flags);
  }
  return total;
}

}  // namespace keel::anomaly::row_kernels
