#include "runtime/csv.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

#include "base/error.hpp"
#include "runtime/read_file.hpp"

namespace keel {

namespace {

namespace fs = std::filesystem;

struct Span {
  std::size_t begin, end;  // byte offsets within the line
};

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The offending field as a message quotes it: enough to recognise, never a
// whole line of a file that is not a table (one field when it has no
// separator), and control characters escaped so the message stays one line.
std::string quoted(std::string_view field) {
  constexpr std::size_t kShown = 200;
  return "'" + printable(field, kShown) + "'";
}

bool parses_as_number(std::string_view field) {
  const char* b = field.data();
  const char* e = b + field.size();
  if (field.size() > 1 && *b == '+') ++b;
  double v = 0;
  const auto [end, ec] = std::from_chars(b, e, v);
  return (ec == std::errc{} || ec == std::errc::result_out_of_range) && end == e;
}

// A header cell as pandas writes it: quotes only around names that need them.
std::string header_name(std::string_view field) {
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"')
    field = field.substr(1, field.size() - 2);
  return std::string(field);
}

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

class CsvParser {
 public:
  CsvParser(std::string_view text, const std::string& source, const CsvFieldCheck& check, CsvHeader header,
            bool head_only = false)
      : text_(text), source_(source), check_(check), header_(header), head_only_(head_only) {}

  CsvTable parse() {
    // Spreadsheets put a byte order mark before the first name; it is not
    // part of it.
    std::size_t pos = text_.substr(0, kUtf8Bom.size()) == kUtf8Bom ? kUtf8Bom.size() : 0;
    while (pos < text_.size()) {
      std::size_t eol = text_.find('\n', pos);
      if (eol == std::string_view::npos) eol = text_.size();
      std::string_view line = text_.substr(pos, eol - pos);
      pos = eol + 1;
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const std::size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;
      if (!separator_known_) {
        comma_ = line.find(',') != std::string_view::npos;
        separator_known_ = true;
        if (is_header(line)) {
          read_header(line);
          if (head_only_) return std::move(table_);
          continue;
        }
        if (head_only_) {
          split(line);
          table_.cols = spans_.size();
          return std::move(table_);
        }
      }
      row(line);
    }
    if (head_only_) return std::move(table_);
    if (table_.rows == 0) throw usage_error("no data rows", {source_});
    return std::move(table_);
  }

 private:
  [[noreturn]] void fail(std::size_t col0, const std::string& what) const {
    throw usage_error(what, {source_, line_no_, static_cast<int>(col0 + 1)});
  }

  bool is_header(std::string_view line) {
    if (header_ != CsvHeader::detect) return header_ == CsvHeader::present;
    split(line, true);
    for (const Span& s : spans_)
      if (parses_as_number(line.substr(s.begin, s.end - s.begin))) return false;
    return true;
  }

  void read_header(std::string_view line) {
    split(line, true);
    for (const Span& s : spans_) table_.header.push_back(header_name(line.substr(s.begin, s.end - s.begin)));
    table_.cols = spans_.size();
    first_line_ = line_no_;
  }

  // Empty fields are allowed in a header (pandas leaves the index column's
  // name empty), never in data.
  void split(std::string_view line, bool allow_empty = false) {
    spans_.clear();
    if (comma_) {
      std::size_t begin = 0;
      for (;;) {
        std::size_t end = line.find(',', begin);
        const bool last = end == std::string_view::npos;
        if (last) end = line.size();
        std::size_t b = begin, e = end;
        while (b < e && is_blank(line[b])) ++b;
        while (e > b && is_blank(line[e - 1])) --e;
        if (b == e && !allow_empty) fail(b, "empty field");
        spans_.push_back({b, e});
        if (last) return;
        begin = end + 1;
      }
    }
    std::size_t i = 0;
    for (;;) {
      while (i < line.size() && is_blank(line[i])) ++i;
      if (i == line.size()) return;
      const std::size_t b = i;
      while (i < line.size() && !is_blank(line[i])) ++i;
      spans_.push_back({b, i});
    }
  }

  void row(std::string_view line) {
    split(line);
    if (table_.rows == 0 && table_.header.empty()) {
      table_.cols = spans_.size();
      first_line_ = line_no_;
      // One reservation from the first line's length keeps growth cheap; it
      // never exceeds half the text in doubles, however the lines vary.
      table_.values.reserve(table_.cols * (text_.size() / (line.size() + 1) + 1));
    } else if (spans_.size() != table_.cols) {
      const std::size_t col0 = spans_.size() > table_.cols ? spans_[table_.cols].begin : line.size();
      fail(col0, "expected " + std::to_string(table_.cols) + " fields (as on line " +
                     std::to_string(first_line_) + "), found " + std::to_string(spans_.size()));
    }
    for (std::size_t c = 0; c < spans_.size(); ++c) {
      const std::string_view field = line.substr(spans_[c].begin, spans_[c].end - spans_[c].begin);
      const double v = number(field, spans_[c].begin);
      if (check_) {
        const std::string problem = check_(c, v);
        if (!problem.empty()) fail(spans_[c].begin, quoted(field) + " " + problem);
      }
      table_.values.push_back(v);
    }
    ++table_.rows;
  }

  double number(std::string_view field, std::size_t col0) const {
    const char* b = field.data();
    const char* e = b + field.size();
    // from_chars rejects the '+' some writers put before positive numbers.
    if (field.size() > 1 && *b == '+' && (std::isdigit(static_cast<unsigned char>(b[1])) || b[1] == '.')) ++b;
    double v = 0;
    const auto [end, ec] = std::from_chars(b, e, v);
    if (ec == std::errc::result_out_of_range) fail(col0, quoted(field) + " is outside the range of a double");
    if (ec != std::errc{} || end != e)
      fail(col0, quoted(field) + " is not a number" +
                     (header_ == CsvHeader::detect && line_no_ == first_line_ && table_.rows == 0 &&
                              table_.header.empty()
                          ? " (if the first line names the columns, set header: true)"
                          : ""));
    // NaN or infinity in training data poisons every later step; refuse it here.
    if (!std::isfinite(v)) fail(col0, quoted(field) + " is not a finite number");
    return v;
  }

  std::string_view text_;
  const std::string& source_;
  const CsvFieldCheck& check_;
  const CsvHeader header_;
  const bool head_only_;
  CsvTable table_;
  std::vector<Span> spans_;
  bool separator_known_ = false;
  bool comma_ = false;
  int line_no_ = 0;
  int first_line_ = 0;
};

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvFieldCheck& check,
                   CsvHeader header) {
  return CsvParser(text, source, check, header).parse();
}

CsvHead parse_csv_head(std::string_view text, const std::string& source, CsvHeader header) {
  CsvTable t = CsvParser(text, source, {}, header, true).parse();
  return {std::move(t.header), t.cols};
}

CsvTable read_csv(const fs::path& path, const CsvFieldCheck& check, CsvHeader header) {
  return parse_csv(read_csv_text(path), path.string(), check, header);
}

std::string read_csv_text(const fs::path& path) { return read_input_file(path, kMaxCsvBytes, "CSV data"); }

}  // namespace keel
