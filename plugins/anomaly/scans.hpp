// The scans behind the anomaly checks: one pass over the data each, no
// allocation, written so the compiler vectorizes them. They are separate
// from the ops so the benchmark measures exactly what a guard runs.
//
// Every comparison is written so that NaN counts as a violation (a NaN is
// never inside a range, never below a threshold).
#pragma once

#include <cstdint>
#include <vector>

namespace keel::anomaly {

// Number of NaN or infinite values among x[0..n).
std::int64_t count_nonfinite(const float* x, std::int64_t n);

// x is [rows, cols]. mask[r] = 1 when row r holds a NaN or infinity, else 0.
// Returns the number of non-finite values.
std::int64_t nonfinite_rows(const float* x, std::int64_t rows, std::int64_t cols, float* mask);

// Values outside [lo[c], hi[c]] (NaN included). mask[r] = 1 for a row with
// any such value. Returns the number of such values.
std::int64_t range_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* lo,
                        const float* hi, float* mask);

// Per row, the largest (use_max) or the mean |x[r,c] - mean[c]| * inv_std[c].
// A row holding a NaN gets NaN.
void zscore_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                 const float* inv_std, bool use_max, float* stat);

// Per row, the L2 distance between a and b (both [rows, cols]).
void distance_rows(const float* a, const float* b, std::int64_t rows, std::int64_t cols, float* dist);

// Sum of squares, in double: the L2 norm of x is its square root.
double sum_of_squares(const float* x, std::int64_t n);

// The median of v (the mean of the two middle values for an even count);
// v is reordered. NaN for an empty v.
double median(std::vector<double>& v);

}  // namespace keel::anomaly
