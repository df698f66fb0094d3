// Numeric tables in text form, as np.savetxt, pandas and spreadsheets write
// them: one row per line, fields separated by commas or by runs of
// whitespace (decided per file: commas when the first line holds one), an
// optional header row of column names, '#' comment lines and blank lines
// skipped, CRLF accepted, a UTF-8 byte order mark skipped.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

// Whether the first line is a row of column names.
enum class CsvHeader {
  absent,   // every line is data
  present,  // the first line names the columns
  detect,   // a header when no field of the first line is a number (a data row never looks like that)
};

struct CsvTable {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> values;       // rows x cols, row-major
  std::vector<std::string> header;  // the column names; empty without a header row
};

// The first line of a file alone: its column names (empty when there is no
// header) and how many fields it has.
struct CsvHead {
  std::vector<std::string> names;
  std::size_t cols = 0;
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
// Messages quote the offending field, cut after a few hundred characters.
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvFieldCheck& check = {},
                   CsvHeader header = CsvHeader::absent);

// Only the first (non-comment) line: cheap, for resolving column names
// before the values are read and checked.
CsvHead parse_csv_head(std::string_view text, const std::string& source, CsvHeader header);

// A file's text (at most kMaxCsvBytes), for the two functions above.
std::string read_csv_text(const std::filesystem::path& path);

// Reads and parses a file.
CsvTable read_csv(const std::filesystem::path& path, const CsvFieldCheck& check = {},
                  CsvHeader header = CsvHeader::absent);

}  // namespace keel
