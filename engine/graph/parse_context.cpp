#include "graph/parse_context.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>
#include <unordered_map>

#include "base/error.hpp"
#include "base/json.hpp"
#include "base/suggest.hpp"

namespace keel {
namespace {

// Keeps a hostile file from costing more than a moment: the YAML tree
// shares aliased nodes, so a small file can describe a huge (or cyclic)
// tree, and only our own walk decides how much of it is visited.
constexpr std::size_t kMaxVisitedNodes = 4'000'000;

}  // namespace

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  return word.size() <= 64 ? did_you_mean(word, candidates) : std::string();
}

std::string unknown_key_hint(const std::string& key, const std::vector<std::string>& allowed) {
  std::string hint = suggestion(key, allowed);
  if (!hint.empty()) return hint;
  hint = " (allowed:";
  for (std::size_t j = 0; j < allowed.size(); ++j) hint += (j ? ", " : " ") + allowed[j];
  return hint + ")";
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

const char* kind_name(const yaml::Node& n) {
  switch (n.kind()) {
    case yaml::Kind::map:
      return "a mapping";
    case yaml::Kind::sequence:
      return "a sequence";
    case yaml::Kind::scalar:
      return "a scalar";
    default:
      return "empty";
  }
}

std::optional<std::int64_t> parse_decimal(std::string_view s) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || b == e) return std::nullopt;
  return v;
}

void ParseContext::fail(const std::string& message, Loc l) const {
  throw usage_error(message, SourceLoc{file_, l.line, l.col});
}

Loc ParseContext::loc(const yaml::Node& n, Loc fallback) {
  const Loc l = n.mark();
  if (l.line == 0 || n.is_null()) return fallback;
  return std::tie(l.line, l.col) < std::tie(fallback.line, fallback.col) ? fallback : l;
}

void ParseContext::visit() {
  if (++visited_ > kMaxVisitedNodes)
    throw usage_error("the graph file has too many elements (aliases expand beyond " +
                          std::to_string(kMaxVisitedNodes) + ")",
                      SourceLoc{file_, 1, 1});
}

std::vector<Entry> ParseContext::entries(const yaml::Node& map, const format::Mapping& table,
                                         const std::string& where) {
  return collect(map, &table, where.empty() ? std::string(table.where) : where);
}

std::vector<Entry> ParseContext::any_entries(const yaml::Node& map) { return collect(map, nullptr, ""); }

std::vector<Entry> ParseContext::collect(const yaml::Node& map, const format::Mapping* table,
                                         const std::string& where) {
  const std::size_t n = map.size();
  std::vector<Entry> out;
  out.reserve(n);
  // Duplicates: a look through the entries so far for the few keys of a
  // node, a hash map (never a quadratic scan) for a long mapping.
  constexpr std::size_t kScanUpTo = 16;
  std::unordered_map<std::string_view, Loc> seen;
  for (std::size_t i = 0; i < n; ++i) {
    visit();
    const yaml::Node k = map.key(i);
    Loc kl = loc(k, loc(map, {1, 1}));
    if (!k.is_scalar()) fail(std::string("a key must be a name, not ") + kind_name(k), kl);
    const std::string_view key = k.scalar();
    std::optional<Loc> first;
    if (n > kScanUpTo) {
      if (auto [pos, fresh] = seen.emplace(key, kl); !fresh) first = pos->second;
    } else {
      for (const Entry& e : out)
        if (e.key == key) {
          first = e.key_loc;
          break;
        }
    }
    if (first)
      fail("duplicate key '" + display_text(key) + "' (first at line " + std::to_string(first->line) + ")",
           kl);
    if (table && !table->open && !table->find(key))
      fail("unknown key '" + display_text(key) + "' " + where +
               unknown_key_hint(std::string(key), table->names()),
           kl);
    const yaml::Node v = map.value(i);
    out.push_back({std::string(key), v, kl, loc(v, kl)});
  }
  return out;
}

std::string ParseContext::scalar(const Entry& e, const std::string& what) {
  if (!e.value.is_scalar())
    fail("'" + display_text(e.key) + "' must be " + what + ", not " + kind_name(e.value), e.value_loc);
  return std::string(e.value.scalar());
}

std::string ParseContext::identifier(const Entry& e, const std::string& what) {
  std::string s = scalar(e, "a name");
  if (!is_identifier(s))
    fail(
        "invalid " + what + " name '" + display_text(s) + "': names are identifiers ([A-Za-z_][A-Za-z0-9_]*)",
        e.value_loc);
  return s;
}

void ParseContext::need_kind(const Entry& e, yaml::Kind kind, const std::string& what) {
  if (e.value.kind() != kind)
    fail("'" + display_text(e.key) + "' must be " + what + ", not " + kind_name(e.value), e.value_loc);
}

std::int64_t ParseContext::integer(const Entry& f, std::int64_t min) {
  auto v = parse_decimal(scalar(f, "an integer"));
  if (!v || *v < min)
    fail("'" + f.key + "' must be an integer of at least " + std::to_string(min), f.value_loc);
  return *v;
}

double ParseContext::number(const Entry& f, double min, double below) {
  const std::string s = scalar(f, "a number");
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < min || v >= below)
    fail("'" + f.key + "' must be a number in [" + json_number(min) + ", " +
             (below == HUGE_VAL ? std::string("inf") : json_number(below)) + ")",
         f.value_loc);
  return v;
}

std::int64_t ParseContext::integer(const Entry& f, const format::Mapping& table) {
  return integer(f, static_cast<std::int64_t>(table.find(f.key)->min));
}

double ParseContext::number(const Entry& f, const format::Mapping& table) {
  const format::Key& k = *table.find(f.key);
  return number(f, k.min, k.below);
}

bool ParseContext::flag(const Entry& f) {
  const std::string s = scalar(f, "true or false");
  if (s != "true" && s != "false") fail("'" + f.key + "' must be true or false", f.value_loc);
  return s == "true";
}

std::vector<std::string> ParseContext::name_list(const Entry& f) {
  std::vector<std::string> out;
  if (f.value.is_scalar()) return {std::string(f.value.scalar())};
  need_kind(f, yaml::Kind::sequence, "a list of names");
  for (std::size_t i = 0; i < f.value.size(); ++i) {
    visit();
    const yaml::Node item = f.value.item(i);
    if (!item.is_scalar()) fail("'" + f.key + "' must be a list of names", loc(item, f.value_loc));
    out.emplace_back(item.scalar());
  }
  return out;
}

ValueRef ParseContext::parse_ref(const yaml::Node& n, Loc fallback) {
  visit();
  Loc l = loc(n, fallback);
  if (!n.is_scalar()) fail(std::string("a reference must be 'name' or 'name.port', not ") + kind_name(n), l);
  const std::string_view s = n.scalar();
  ValueRef r;
  r.loc = l;
  auto dot = s.find('.');
  r.name = s.substr(0, dot);
  if (dot != std::string::npos) r.port = s.substr(dot + 1);
  if (!is_identifier(r.name) || (dot != std::string::npos && !is_identifier(r.port)))
    fail("invalid reference '" + display_text(s) + "': a reference is 'name' or 'name.port'", l);
  return r;
}

AttrLiteral ParseContext::parse_attr(const Entry& a) {
  AttrLiteral lit;
  lit.loc = a.value_loc;
  lit.name_loc = a.key_loc;
  auto bad = [&](const yaml::Node& v, Loc l) {
    fail("attribute '" + display_text(a.key) + "' must be a scalar or a list of scalars, not " + kind_name(v),
         l);
  };
  // Quoted or explicitly tagged as a string: never read as a number or bool.
  if (a.value.is_scalar()) {
    lit.items.emplace_back(a.value.scalar());
    lit.item_locs.push_back(lit.loc);
    lit.item_quoted.push_back(a.value.quoted());
    lit.quoted = lit.item_quoted[0];
    return lit;
  }
  if (!a.value.is_sequence()) bad(a.value, lit.loc);
  lit.is_list = true;
  for (std::size_t i = 0; i < a.value.size(); ++i) {
    visit();
    const yaml::Node item = a.value.item(i);
    Loc l = loc(item, lit.loc);
    if (!item.is_scalar()) bad(item, l);
    lit.items.emplace_back(item.scalar());
    lit.item_locs.push_back(l);
    lit.item_quoted.push_back(item.quoted());
  }
  return lit;
}

}  // namespace keel
