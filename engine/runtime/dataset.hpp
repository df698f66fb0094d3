// Training and evaluation data held in memory: rows of numbers read from
// CSV or .npy files, bound column by column to graph inputs, split into a
// training part and a hold-out part, and gathered into batches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "keel/tensor.hpp"
#include "runtime/csv.hpp"
#include "runtime/tensor.hpp"

namespace keel {

// Which columns of the (side-by-side concatenated) files feed one graph input.
struct ColumnBinding {
  std::string input;  // graph input name
  DType dtype = DType::f32;
  std::int64_t first = 0;  // first column (0-based)
  std::int64_t count = 1;  // number of columns
  bool scalar = false;     // true: one column bound to an input of shape [batch]
  // Non-empty: the columns are named by the header row instead, from
  // `first_name` to `last_name`, both included; first/count are filled in.
  std::string first_name, last_name;
  // > 0: the values are class labels of a loss over this many classes and
  // must lie in [0, classes); `loss_node` names the loss in messages.
  std::int64_t classes = 0;
  std::string loss_node;
  SourceLoc where;  // where the binding is written (the graph file), for errors about it
};

class Dataset {
 public:
  // Reads CSV files (comma- or whitespace-separated, detected per file; a
  // header row as `header` says; lines starting with '#' skipped) and
  // concatenates their columns side by side; every file must have the same
  // number of rows. Errors (keel::Error usage, naming FILE:LINE:COL):
  // unreadable file, a field that is not a number, ragged rows, differing
  // row counts, a binding beyond the last column or naming no column, a
  // non-integer value for an integer input, a label outside its class range.
  static Dataset from_csv(const std::vector<std::filesystem::path>& files,
                          const std::vector<ColumnBinding>& bindings, CsvHeader header = CsvHeader::absent);

  // One .npy file per input (first axis = rows); all must have the same
  // number of rows and the binding's dtype.
  static Dataset from_npy(const std::vector<std::pair<std::string, std::filesystem::path>>& files);

  std::size_t rows() const { return rows_; }
  const std::vector<std::string>& inputs() const { return names_; }
  // The whole column bound to `input` ([rows, ...]); nullptr when none is.
  const Tensor* column(const std::string& input) const;

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
// round(holdout * n) of them held out (round half away from zero: 0.25 of
// 10 rows holds out 3). Both parts come back sorted.
struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> holdout;
};
Split split_rows(std::size_t n, double holdout, std::uint64_t seed);

}  // namespace keel
