// Numeric tables in text form, as np.savetxt and spreadsheets write them:
// one row per line, fields separated by commas or by runs of whitespace
// (decided per file: commas when the first data line holds one), no header
// row, '#' comment lines and blank lines skipped, CRLF accepted.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

struct CsvTable {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> values;  // rows x cols, row-major
};

// Called for each field once it is parsed; returns an empty string when the
// value suits the column, else what is wrong (e.g. "is not an integer"),
// which the reader reports at the field's FILE:LINE:COL.
using CsvFieldCheck = std::function<std::string(std::size_t column, double value)>;

// Refuses files larger than this before reading them.
inline constexpr std::size_t kMaxCsvBytes = std::size_t{1} << 30;

// Parses `text`; `source` names it in errors. Throws keel::Error (usage) at
// FILE:LINE:COL (1-based; COL is the field's first character) for a field
// that is not a finite number, an empty field, a row whose field count
// differs from the first row's, a failed check, or no data rows at all.
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvFieldCheck& check = {});

// Reads and parses a file (at most kMaxCsvBytes).
CsvTable read_csv(const std::filesystem::path& path, const CsvFieldCheck& check = {});

}  // namespace keel
