// The scans behind the anomaly checks: one pass over the data each, no
// allocation, written so the compiler vectorizes them (range and zscore:
// with explicit AVX2 kernels, scans.cpp). They are separate from the ops so
// the benchmark measures exactly what a guard runs.
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

// The instruction sets range_rows and zscore_rows have versions for. Both
// give the same results, bit for bit. `widest`, what the ops use, is the
// widest this CPU runs; naming one is for tests (an unsupported one runs
// `baseline`).
enum class RowScanIsa { widest, avx2, baseline };

// Whether this CPU runs isa's version (widest and baseline: always).
bool row_scan_isa_supported(RowScanIsa isa);

// Values outside [lo[c], hi[c]] (NaN included). mask[r] = 1 for a row with
// any such value. Returns the number of such values.
std::int64_t range_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* lo,
                        const float* hi, float* mask, RowScanIsa isa = RowScanIsa::widest);

// Per row, the largest (use_max) or the mean |z| over its features, z =
// (x[r,c] - mean[c]) * inv_std[c] in float; 0 for a row of no features. A
// row where some |z| is NaN or infinite gets NaN. The mean adds |z| in float
// into 16 partial sums (feature c into sum c % 16, features past the last
// whole group of 16 into sum 0, each in feature order), adds the 16 in
// double in order, divides by cols and rounds to float: that order is part
// of the result.
void zscore_rows(const float* x, std::int64_t rows, std::int64_t cols, const float* mean,
                 const float* inv_std, bool use_max, float* stat, RowScanIsa isa = RowScanIsa::widest);

// Per row, the L2 distance between a and b (both [rows, cols]).
void distance_rows(const float* a, const float* b, std::int64_t rows, std::int64_t cols, float* dist);

// Sum of squares, in double: the L2 norm of x is its square root.
double sum_of_squares(const float* x, std::int64_t n);

// The median of v (the mean of the two middle values for an even count);
// v is reordered. NaN for an empty v.
double median(std::vector<double>& v);

}  // namespace keel::anomaly
