// The AVX2 kernel of range_rows (scans.hpp); the scalar definition is in
// scans.cpp. range needs only each row's count of values outside [lo, hi]
// (both comparisons are false for NaN, so NaN is outside): per 8 values, a
// bit mask of those inside, whose bits the integer units count while the
// vector units compare; a tile's 8 masks leave in one store (row_tiles.hpp).
// Counts are uint32 per row, as in the scalar definition.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

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

// mask[0..n) = 1 where bit i of flags is set, else 0: one vector store.
KEEL_ROW_INLINE void store_flags(float* mask, int n, std::uint32_t flags) {
  const i32x8 bit = (i32x8{} + std::int32_t(flags)) & i32x8{1, 2, 4, 8, 16, 32, 64, 128};
  store_rows(mask, n, bit != 0 ? i32x8{} + 0x3f800000 : i32x8{});  // 1.0f
}

inline __attribute__((target("avx2,popcnt"))) std::int64_t range_rows_avx2(const float* x, std::int64_t rows,
                                                                           std::int64_t cols, const float* lo,
                                                                           const float* hi, float* mask) {
  const std::int64_t whole = cols / 8 * 8;
  std::int64_t total = 0;
  for (std::int64_t r = 0; r < rows; r += kTile) {
    const int n = int(std::min<std::int64_t>(kTile, rows - r));
    std::uint32_t flags = 0;  // bit i: row r + i has a value outside
    for (int i = 0; i < n; ++i) {
      const float* row = x + (r + i) * cols;
      std::uint32_t inside = 0;
      for (std::int64_t k = 0; k < whole; k += 8) {
        const __m256 v = _mm256_loadu_ps(row + k);
        const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, _mm256_loadu_ps(lo + k), _CMP_GE_OQ),
                                        _mm256_cmp_ps(v, _mm256_loadu_ps(hi + k), _CMP_LE_OQ));
        inside += std::uint32_t(_mm_popcnt_u32(std::uint32_t(_mm256_movemask_ps(in))));
      }
      const std::uint32_t c =
          std::uint32_t(whole) - inside + (whole < cols ? violations(row, whole, cols, lo, hi) : 0);
      flags |= std::uint32_t(c != 0) << i;
      total += c;
    }
    store_flags(mask + r, n, flags);
  }
  return total;
}

}  // namespace keel::anomaly::row_kernels
