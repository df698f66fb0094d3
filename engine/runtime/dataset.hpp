// Training and evaluation data held in memory: rows of numbers read from
// CSV or .npy files, bound column by column to graph inputs, split into a
// training part and a hold-out part, and gathered into batches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "keel/tensor.hpp"
#include "runtime/tensor.hpp"

namespace keel {

// Which columns of the (side-by-side concatenated) files feed one graph input.
struct ColumnBinding {
  std::string input;      // graph input name
  DType dtype = DType::f32;
  std::int64_t first = 0;  // first column (0-based)
  std::int64_t count = 1;  // number of columns
  bool scalar = false;     // true: one column bound to an input of shape [batch]
};

class Dataset {
 public:
  // Reads CSV files (comma- or whitespace-separated, detected per file; no
  // header row; lines starting with '#' skipped) and concatenates their
  // columns side by side; every file must have the same number of rows.
  // Errors (keel::Error usage, naming FILE:LINE:COL): unreadable file, a
  // field that is not a number, ragged rows, differing row counts, a
  // binding beyond the last column, a non-integer value for an integer
  // input.
  static Dataset from_csv(const std::vector<std::filesystem::path>& files,
                          const std::vector<ColumnBinding>& bindings);

  // One .npy file per input (first axis = rows); all must have the same
  // number of rows and the binding's dtype.
  static Dataset from_npy(const std::vector<std::pair<std::string, std::filesystem::path>>& files);

  std::size_t rows() const { return rows_; }
  const std::vector<std::string>& inputs() const { return names_; }

  // One tensor per input (in the order of inputs()), holding `rows` in that
  // order; shape [rows.size(), ...].
  std::vector<Tensor> gather(const std::vector<std::size_t>& rows) const;

 private:
  std::size_t rows_ = 0;
  std::vector<std::string> names_;
  std::vector<Tensor> columns_;  // per input: [rows, ...]
};

// A permutation of 0..n-1 that depends only on (seed, stream): Fisher-Yates
// driven by the engine's counter-based generator.
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed, std::uint64_t stream);

// Deterministic split: the rows in a seeded order, the last
// round(holdout * n) of them held out. Both parts come back sorted.
struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> holdout;
};
Split split_rows(std::size_t n, double holdout, std::uint64_t seed);

}  // namespace keel
