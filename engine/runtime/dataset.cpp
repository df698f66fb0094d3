#include "runtime/dataset.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "base/error.hpp"
#include "base/random.hpp"
#include "base/suggest.hpp"
#include "runtime/csv.hpp"
#include "runtime/npy.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

__extension__ typedef unsigned __int128 u128;

// Why `v` cannot be stored in `dtype` as the same number; empty when it can.
// f32 may round (that is what asking for f32 means) but must not overflow.
std::string value_problem(DType dtype, double v) {
  const bool integral = std::trunc(v) == v;
  switch (dtype) {
    case DType::f64:
      return {};
    case DType::f32:
      return std::fabs(v) > FLT_MAX ? "is outside the range of f32" : "";
    case DType::i32:
      if (!integral) return "is not an integer";
      return v < -0x1p31 || v >= 0x1p31 ? "is outside the range of i32" : "";
    case DType::i64:
      if (!integral) return "is not an integer";
      return v < -0x1p63 || v >= 0x1p63 ? "is outside the range of i64" : "";
    case DType::u8:
      if (!integral) return "is not an integer";
      return v < 0 || v > 255 ? "is outside the range of u8 (0..255)" : "";
    case DType::boolean:
      return v == 0 || v == 1 ? "" : "is not 0 or 1";
  }
  return {};
}

// Why `v` cannot be a value of binding `b`; empty when it can.
std::string binding_problem(const ColumnBinding& b, double v) {
  std::string problem = value_problem(b.dtype, v);
  if (!problem.empty())
    return problem + " (input '" + b.input + "' is " + std::string(dtype_name(b.dtype)) + ")";
  if (b.classes > 0 && (v < 0 || v >= double(b.classes)))
    return "is a label outside the loss's class range 0.." + std::to_string(b.classes - 1) + " (node '" +
           b.loss_node + "')";
  return {};
}

std::string column_range(const ColumnBinding& b) {
  return b.count == 1 ? "column " + std::to_string(b.first)
                      : "columns " + std::to_string(b.first) + ".." + std::to_string(b.first + b.count - 1);
}

void check_bindings(const std::vector<ColumnBinding>& bindings) {
  if (bindings.empty()) throw usage_error("no inputs are bound to data columns");
  std::set<std::string> seen;
  for (const ColumnBinding& b : bindings) {
    const std::string who = "input '" + b.input + "'";
    if (b.input.empty()) throw usage_error("a column binding has no input name");
    if (!seen.insert(b.input).second) throw usage_error(who + " is bound to data twice");
    if (!b.first_name.empty()) continue;  // resolved against the header
    if (b.first < 0) throw usage_error(who + ": first column " + std::to_string(b.first) + " is negative");
    if (b.count < 1)
      throw usage_error(who + ": column count " + std::to_string(b.count) + " must be at least 1");
    if (b.scalar && b.count != 1)
      throw usage_error(who + " has shape [batch] and takes one column, not " + std::to_string(b.count));
  }
}

// Column names of the files side by side (a file without a header row
// contributes empty names), and the file each column comes from.
struct Header {
  std::vector<std::string> names;
  std::vector<std::size_t> file;
};

std::int64_t column_named(const Header& h, const std::string& name, const ColumnBinding& b,
                          const std::vector<fs::path>& files) {
  std::int64_t found = -1;
  for (std::size_t c = 0; c < h.names.size(); ++c) {
    if (h.names[c] != name) continue;
    if (found >= 0)
      throw usage_error("input '" + b.input + "': column name '" + printable(name) +
                            "' is ambiguous: columns " + std::to_string(found) + " and " + std::to_string(c) +
                            " have it",
                        b.where);
    found = std::int64_t(c);
  }
  if (found >= 0) return found;
  bool any = false;
  for (const std::string& n : h.names) any |= !n.empty();
  if (!any)
    throw usage_error("input '" + b.input + "' names column '" + printable(name) + "', but " +
                          files.front().string() +
                          " has no header row (set header: true if its first line names the columns)",
                      b.where);
  std::vector<std::string> candidates;
  for (const std::string& n : h.names)
    if (!n.empty() && n.size() <= 64) candidates.push_back(n);
  throw usage_error("input '" + b.input + "': no column named '" + printable(name) + "' in the header row" +
                        (name.size() <= 64 ? did_you_mean(name, candidates) : std::string()),
                    b.where);
}

// Name ranges include both ends, as spreadsheets and pandas' .loc select.
void resolve_names(std::vector<ColumnBinding>& bindings, const Header& h,
                   const std::vector<fs::path>& files) {
  for (ColumnBinding& b : bindings) {
    if (b.first_name.empty()) continue;
    const std::int64_t first = column_named(h, b.first_name, b, files);
    const std::int64_t last = b.last_name.empty() ? first : column_named(h, b.last_name, b, files);
    if (last < first)
      throw usage_error("input '" + b.input + "': column '" + printable(b.last_name) + "' (" +
                            std::to_string(last) + ") comes before column '" + printable(b.first_name) +
                            "' (" + std::to_string(first) + ")",
                        b.where);
    b.first = first;
    b.count = last - first + 1;
    if (b.scalar && b.count != 1)
      throw usage_error(
          "input '" + b.input + "' has shape [batch] and takes one column, not " + std::to_string(b.count),
          b.where);
  }
}

// Where a global column lives after the files are put side by side.
struct ColumnRef {
  const CsvTable* table;
  std::size_t col;
};

template <class T>
void fill(Tensor& out, const std::vector<ColumnRef>& refs, std::size_t rows) {
  T* dst = out.as<T>();
  for (std::size_t r = 0; r < rows; ++r)
    for (const ColumnRef& ref : refs)
      *dst++ = static_cast<T>(ref.table->values[r * ref.table->cols + ref.col]);
}

}  // namespace

Dataset Dataset::from_csv(const std::vector<fs::path>& files, const std::vector<ColumnBinding>& given,
                          CsvHeader header) {
  if (files.empty()) throw usage_error("no CSV files given");
  check_bindings(given);
  std::vector<ColumnBinding> bindings = given;
  const bool by_name = std::any_of(bindings.begin(), bindings.end(),
                                   [](const ColumnBinding& b) { return !b.first_name.empty(); });
  if (by_name) {
    // Names first (one line of each file), so that every value can be
    // checked against its binding while it is parsed.
    Header h;
    for (std::size_t f = 0; f < files.size(); ++f) {
      CsvHead head = parse_csv_head(read_csv_text(files[f]), files[f].string(), header);
      head.names.resize(head.cols);
      h.names.insert(h.names.end(), head.names.begin(), head.names.end());
      h.file.insert(h.file.end(), head.cols, f);
    }
    resolve_names(bindings, h, files);
  }

  std::vector<CsvTable> tables;
  tables.reserve(files.size());
  std::size_t offset = 0;  // global index of the current file's first column
  for (const fs::path& file : files) {
    // Checked while parsing, so the error points at the offending field.
    const CsvFieldCheck check = [&](std::size_t col, double v) -> std::string {
      const auto global = static_cast<std::int64_t>(offset + col);
      for (const ColumnBinding& b : bindings) {
        if (global < b.first || global - b.first >= b.count) continue;
        std::string problem = binding_problem(b, v);
        if (!problem.empty()) return problem;
      }
      return {};
    };
    tables.push_back(read_csv(file, check, header));
    if (tables.back().rows != tables.front().rows)
      throw usage_error("has " + std::to_string(tables.back().rows) + " rows, but " + files.front().string() +
                            " has " + std::to_string(tables.front().rows),
                        {file.string()});
    offset += tables.back().cols;
  }

  std::vector<ColumnRef> columns;
  for (const CsvTable& t : tables)
    for (std::size_t c = 0; c < t.cols; ++c) columns.push_back({&t, c});
  const auto total = static_cast<std::int64_t>(columns.size());

  Dataset ds;
  ds.rows_ = tables.front().rows;
  for (const ColumnBinding& b : bindings) {
    if (b.first >= total || b.count > total - b.first)
      throw usage_error("input '" + b.input + "' is bound to " + column_range(b) + ", but the data has " +
                            std::to_string(total) + " columns (0.." + std::to_string(total - 1) + ")",
                        b.where);
    const std::vector<ColumnRef> refs(columns.begin() + b.first, columns.begin() + b.first + b.count);
    Shape shape{static_cast<Dim>(ds.rows_)};
    if (!b.scalar) shape.push_back(b.count);
    Tensor t(b.dtype, shape);
    switch (b.dtype) {
      case DType::f32:
        fill<float>(t, refs, ds.rows_);
        break;
      case DType::f64:
        fill<double>(t, refs, ds.rows_);
        break;
      case DType::i32:
        fill<std::int32_t>(t, refs, ds.rows_);
        break;
      case DType::i64:
        fill<std::int64_t>(t, refs, ds.rows_);
        break;
      case DType::u8:
      case DType::boolean:
        fill<std::uint8_t>(t, refs, ds.rows_);
        break;
    }
    ds.names_.push_back(b.input);
    ds.columns_.push_back(std::move(t));
  }
  return ds;
}

Dataset Dataset::from_npy(const std::vector<std::pair<std::string, fs::path>>& files) {
  if (files.empty()) throw usage_error("no .npy files given");
  Dataset ds;
  std::set<std::string> seen;
  for (const auto& [name, path] : files) {
    if (name.empty()) throw usage_error("a .npy data file has no input name", {path.string()});
    if (!seen.insert(name).second) throw usage_error("input '" + name + "' is bound to data twice");
    Tensor t = read_npy(path);
    if (t.shape().empty())
      throw usage_error("holds a 0-d array; data needs a first axis of rows", {path.string()});
    const auto rows = static_cast<std::size_t>(t.shape()[0]);
    if (rows == 0) throw usage_error("has no rows", {path.string()});
    if (ds.columns_.empty()) ds.rows_ = rows;
    if (rows != ds.rows_)
      throw usage_error("has " + std::to_string(rows) + " rows, but " + files.front().second.string() +
                            " has " + std::to_string(ds.rows_),
                        {path.string()});
    ds.names_.push_back(name);
    ds.columns_.push_back(std::move(t));
  }
  return ds;
}

const Tensor* Dataset::column(const std::string& input) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == input) return &columns_[i];
  return nullptr;
}

std::vector<Tensor> Dataset::gather(const std::vector<std::size_t>& rows) const {
  for (std::size_t r : rows)
    if (r >= rows_)
      throw usage_error("row " + std::to_string(r) + " is out of range for a dataset of " +
                        std::to_string(rows_) + " rows");
  std::vector<Tensor> out;
  out.reserve(columns_.size());
  for (const Tensor& col : columns_) {
    Shape shape = col.shape();
    shape[0] = static_cast<Dim>(rows.size());
    Tensor batch(col.dtype(), shape);
    const std::size_t row_bytes = col.nbytes() / rows_;
    const auto* src = static_cast<const std::byte*>(col.data());
    auto* dst = static_cast<std::byte*>(batch.data());
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::memcpy(dst + i * row_bytes, src + rows[i] * row_bytes, row_bytes);
    out.push_back(std::move(batch));
  }
  return out;
}

std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed, std::uint64_t stream) {
  const std::uint64_t key = stream_key(seed, "permutation:" + std::to_string(stream));
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  // Lemire's multiply-and-reject: j = floor(x * (i + 1) / 2^64), redrawing the
  // rare x whose low product half falls in the biased sliver. Redraws use
  // counters past n, so every draw stays a pure function of (key, counter).
  for (std::size_t i = n; i-- > 1;) {
    const std::uint64_t range = static_cast<std::uint64_t>(i) + 1;
    u128 m = static_cast<u128>(bits_at(key, i)) * range;
    auto low = static_cast<std::uint64_t>(m);
    if (low < range) {
      const std::uint64_t threshold = -range % range;
      for (std::uint64_t redraw = 1; low < threshold; ++redraw) {
        m = static_cast<u128>(bits_at(key, i + redraw * n)) * range;
        low = static_cast<std::uint64_t>(m);
      }
    }
    std::swap(p[i], p[static_cast<std::size_t>(m >> 64)]);
  }
  return p;
}

Split split_rows(std::size_t n, double holdout, std::uint64_t seed) {
  if (!(holdout >= 0 && holdout < 1))
    throw usage_error("holdout fraction " + std::to_string(holdout) + " must be in [0, 1)");
  const std::vector<std::size_t> order = permutation(n, seed, 0);
  const auto held = static_cast<std::size_t>(std::llround(holdout * static_cast<double>(n)));
  Split s;
  s.train.assign(order.begin(), order.end() - static_cast<std::ptrdiff_t>(held));
  s.holdout.assign(order.end() - static_cast<std::ptrdiff_t>(held), order.end());
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.holdout.begin(), s.holdout.end());
  return s;
}

}  // namespace keel
