// Where a large graph file can be read by two YAML parsers at once.
//
// A generated graph of 100,000 nodes is mostly one run of lines such as
//   "  - {name: n7, op: add, inputs: [n6, n5]}"
// at the end of its `nodes:` sequence. Each such line is a whole flow
// mapping of plain scalars (no quotes, comments, anchors, aliases, tags or
// nested mappings), so yaml-cpp reads it the same whatever came before it
// in the sequence. The second half of that run can then be parsed on its
// own, in another thread, while the rest of the file is parsed with those
// lines left blank; yaml_tree.cpp joins the two trees. Any other shape of
// file is read in one pass, as before.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace keel::yaml {

// The lines [begin, end) of the text (byte offsets; `end` is past the last
// line's newline, or the text's end) are the last items of the top-level
// `nodes:` block sequence, one per line, from 0-based line `first_line` on.
// The items on lines run_line .. first_line - 1 are of the same kind, and
// `sequence_line` is the 0-based line of the sequence's first item.
struct TailSplit {
  std::size_t begin = 0, end = 0;
  std::size_t first_line = 0, run_line = 0, sequence_line = 0;
};

namespace split_detail {

// "- {...}" after `indent` spaces, on one line: a flow mapping whose
// scalars are plain (letters, digits, _ . - + / and spaces) and whose
// brackets all close on the line.
inline bool simple_item(std::string_view line, std::size_t indent) {
  if (line.size() < indent + 4 || line.compare(indent, 3, "- {") != 0) return false;
  for (std::size_t i = 0; i < indent; ++i)
    if (line[i] != ' ') return false;
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  char open[8];
  std::size_t depth = 0;
  for (std::size_t i = indent + 2; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '{' || c == '[') {
      if (depth == sizeof open) return false;
      open[depth++] = c;
    } else if (c == '}' || c == ']') {
      if (depth == 0 || open[depth - 1] != (c == '}' ? '{' : '[')) return false;
      if (--depth == 0) return i + 1 == line.size();
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == ' ' || c == ',' || c == ':' || c == '.' || c == '-' || c == '+' || c == '/')) {
      return false;
    }
  }
  return false;
}

// A line that starts a top-level key (anything at column 0 that is not an
// item, a comment or a blank): the end of a block sequence.
inline bool top_level_line(std::string_view line) {
  return !line.empty() && line[0] != ' ' && line[0] != '-' && line[0] != '#' && line[0] != '\t' &&
         line[0] != '\r';
}

}  // namespace split_detail

// The second half of the run of one-line items that ends the `nodes:`
// sequence, when the file has exactly one `nodes:` line at the top level,
// that run is at least `min_items` long and the line after it (if any) is
// a top-level key; nothing otherwise. What this finds is a guess from the
// lines alone: the reader checks it against what the parsers made of them.
inline std::optional<TailSplit> find_tail_split(std::string_view text, std::size_t min_items) {
  std::size_t pos = 0, line_no = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= text.size()) return false;
    const std::size_t nl = text.find('\n', pos);
    const std::size_t stop = nl == std::string_view::npos ? text.size() : nl;
    line = text.substr(pos, stop - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    return true;
  };
  auto is_nodes_key = [](std::string_view line) {
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    return line == "nodes:";
  };
  std::string_view line;
  std::size_t keys = 0, after_key = 0, after_key_line = 0;
  while (next_line(line))
    if (is_nodes_key(line) && ++keys == 1) after_key = pos, after_key_line = line_no;
  if (keys != 1) return std::nullopt;

  pos = after_key;
  line_no = after_key_line;
  if (!next_line(line)) return std::nullopt;
  const std::size_t indent = line.find_first_not_of(' ');
  if (indent == std::string_view::npos || line.compare(indent, 2, "- ") != 0) return std::nullopt;
  const std::size_t sequence_line = line_no - 1;
  // The current run of one-line items: its first line and offset, its length.
  std::size_t run_line = 0, run_start = 0, items = 0, run_end = 0;
  auto take = [&](std::string_view l, std::size_t at) {
    if (!split_detail::simple_item(l, indent)) return items = 0, false;
    if (items++ == 0) run_line = line_no - 1, run_start = at;
    run_end = pos;
    return true;
  };
  take(line, after_key);
  // Any other line (a longer item, a comment, a blank) ends the run; the
  // sequence ends at the end of the text or at a top-level key.
  for (std::size_t at = pos; next_line(line); at = pos) {
    if (split_detail::top_level_line(line)) break;
    take(line, at);
  }
  if (items < min_items) return std::nullopt;

  // The first line of the run's second half.
  std::size_t skip = items / 2;
  pos = run_start;
  line_no = run_line;
  while (skip-- > 0) next_line(line);
  return TailSplit{pos, run_end, line_no, run_line, sequence_line};
}

}  // namespace keel::yaml
