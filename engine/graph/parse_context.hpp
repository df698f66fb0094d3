// What the graph parser's parts share (graph/parse.cpp reads the graph,
// graph/parse_train.cpp the train: section): the file's name for errors,
// the walk's element budget, and readers of keys and scalar values that
// fail with one FILE:LINE:COL line.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/format_keys.hpp"
#include "graph/graph_def.hpp"
#include "graph/yaml_tree.hpp"

namespace keel {

struct Entry {
  std::string key;
  yaml::Node value;
  Loc key_loc;
  Loc value_loc;  // the key's position when the value is empty
};

bool is_identifier(std::string_view s);
const char* kind_name(const yaml::Node& n);
std::optional<std::int64_t> parse_decimal(std::string_view s);

// Suggestions only for name-sized words: the edit distance costs the
// product of the two lengths, and a file can hold a megabyte-long key.
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates);

// What an unknown key gets: the near names, or every allowed key.
std::string unknown_key_hint(const std::string& key, const std::vector<std::string>& allowed);

class ParseContext {
 public:
  explicit ParseContext(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const std::string& message, Loc l) const;

  // Where `n` was written, or `fallback` (its key or enclosing element) when
  // yaml-cpp has no useful mark: an empty value is marked at the next token,
  // and an alias carries its anchor's mark, which lies before the alias.
  static Loc loc(const yaml::Node& n, Loc fallback);

  // Counts one element against the budget of a walk.
  void visit();

  // The entries of a mapping in document order, with duplicate keys
  // rejected, and keys that are not in `table` unless it is open. The YAML
  // parser keeps duplicates silently, so this is the only place they can be
  // caught. `where` overrides the table's place in the message.
  std::vector<Entry> entries(const yaml::Node& map, const format::Mapping& table,
                             const std::string& where = "");
  // The entries of a mapping whose keys are names of the file's own.
  std::vector<Entry> any_entries(const yaml::Node& map);

  std::string scalar(const Entry& e, const std::string& what);
  std::string identifier(const Entry& e, const std::string& what);
  void need_kind(const Entry& e, yaml::Kind kind, const std::string& what);
  std::int64_t integer(const Entry& f, std::int64_t min);
  double number(const Entry& f, double min, double below = HUGE_VAL);
  bool flag(const Entry& f);
  std::vector<std::string> name_list(const Entry& f);
  ValueRef parse_ref(const yaml::Node& n, Loc fallback);
  AttrLiteral parse_attr(const Entry& a);

  // The value of `f` checked as its key in `table` says (integer, number,
  // boolean, choice): the bounds live in the table alone.
  std::int64_t integer(const Entry& f, const format::Mapping& table);
  double number(const Entry& f, const format::Mapping& table);

 private:
  std::vector<Entry> collect(const yaml::Node& map, const format::Mapping* table, const std::string& where);

  std::string file_;
  std::size_t visited_ = 0;
};

}  // namespace keel
