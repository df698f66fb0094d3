#include "graph/attrs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include "base/suggest.hpp"

namespace keel {

namespace {

bool before(const Loc& a, const Loc& b) { return std::tie(a.line, a.col) < std::tie(b.line, b.col); }

std::string number_text(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ", ";
    s += items[i];
  }
  return s;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ", ";
    s += "'" + items[i] + "'";
  }
  return s;
}

std::optional<std::int64_t> to_int(const std::string& s) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  if (b == e || ec != std::errc() || p != e) return std::nullopt;
  return v;
}

std::optional<double> to_float(const std::string& s) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  double v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  // from_chars also reads "inf" and "nan"; an attribute must be finite.
  if (b == e || ec != std::errc() || p != e || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

struct Typing {
  const OpSchema& schema;
  const std::string& file;
  const ErrorSubject& subject;

  [[noreturn]] void fail(const std::string& msg, Loc l) const {
    throw usage_error(msg, SourceLoc{file, l.line, l.col}, subject);
  }

  AttrValue convert(const AttrSpec& spec, const AttrLiteral& lit) const {
    const bool wants_list = spec.type == AttrType::Ints || spec.type == AttrType::Floats;
    const std::string type = attr_type_name(spec.type);
    if (wants_list && !lit.is_list)
      fail("attribute '" + spec.name + "' must be a list (" + type + "), such as [1, 2]", lit.loc);
    if (!wants_list && lit.is_list)
      fail("attribute '" + spec.name + "' must be a single " + type + ", not a list", lit.loc);
    if (lit.items.empty() && !wants_list) fail("attribute '" + spec.name + "' has no value", lit.loc);
    // Literals built by hand (command-line overrides) may leave these short.
    auto quoted = [&](std::size_t i) {
      return i < lit.item_quoted.size() ? bool(lit.item_quoted[i]) : lit.quoted;
    };
    auto at = [&](std::size_t i) {
      return i < lit.item_locs.size() && lit.item_locs[i].line ? lit.item_locs[i] : lit.loc;
    };
    auto item_error = [&](std::size_t i, const char* what) {
      std::string got = quoted(i) ? "the string \"" + display_text(lit.items[i]) + "\""
                                  : "'" + display_text(lit.items[i]) + "'";
      fail("attribute '" + spec.name + "' must be " + what + ", not " + got, at(i));
    };
    auto in_range = [&](std::size_t i, double v) {
      if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max)) {
        std::string range = spec.min && spec.max
                                ? "[" + number_text(*spec.min) + ", " + number_text(*spec.max) + "]"
                            : spec.min ? ">= " + number_text(*spec.min)
                                       : "<= " + number_text(*spec.max);
        fail("attribute '" + spec.name + "' = " + display_text(lit.items[i]) +
                 " is out of range (allowed: " + range + ")",
             at(i));
      }
    };
    auto get_int = [&](std::size_t i) {
      auto v = quoted(i) ? std::nullopt : to_int(lit.items[i]);
      if (!v) item_error(i, "an integer");
      in_range(i, double(*v));
      return *v;
    };
    auto get_float = [&](std::size_t i) {
      auto v = quoted(i) ? std::nullopt : to_float(lit.items[i]);
      if (!v) item_error(i, "a finite number");
      in_range(i, *v);
      return *v;
    };
    switch (spec.type) {
      case AttrType::Int:
        return get_int(0);
      case AttrType::Float:
        return get_float(0);
      case AttrType::Bool: {
        auto v = quoted(0) ? std::nullopt : to_bool(lit.items[0]);
        if (!v) item_error(0, "true or false");
        return *v;
      }
      case AttrType::String: {
        const std::string& s = lit.items[0];
        if (!spec.choices.empty() &&
            std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end())
          fail("attribute '" + spec.name + "' must be one of " + quoted_list(spec.choices) + ", not '" +
                   display_text(s) + "'" + did_you_mean(s, spec.choices),
               lit.loc);
        return s;
      }
      case AttrType::Ints: {
        std::vector<std::int64_t> v;
        for (std::size_t i = 0; i < lit.items.size(); ++i) v.push_back(get_int(i));
        return v;
      }
      case AttrType::Floats: {
        std::vector<double> v;
        for (std::size_t i = 0; i < lit.items.size(); ++i) v.push_back(get_float(i));
        return v;
      }
    }
    fail("attribute '" + spec.name + "' has an unknown type", lit.loc);
  }
};

}  // namespace

Attrs typed_attrs(const OpSchema& schema, const std::map<std::string, AttrLiteral>& literals,
                  const std::string& file, const ErrorSubject& subject, Loc where) {
  const Typing typing{schema, file, subject};
  std::vector<std::string> known;
  for (const AttrSpec& s : schema.attrs) known.push_back(s.name);

  // std::map orders by name; errors should follow the file.
  std::vector<const std::pair<const std::string, AttrLiteral>*> written;
  for (const auto& kv : literals) written.push_back(&kv);
  std::sort(written.begin(), written.end(),
            [](auto* a, auto* b) { return before(a->second.name_loc, b->second.name_loc); });

  std::map<std::string, AttrValue> values;
  for (const auto* kv : written) {
    // Not a structured binding: clang before 16 cannot capture those.
    const std::string& name = kv->first;
    const AttrLiteral& lit = kv->second;
    auto spec = std::find_if(schema.attrs.begin(), schema.attrs.end(),
                             [&](const AttrSpec& s) { return s.name == name; });
    if (spec == schema.attrs.end()) {
      std::string hint = did_you_mean(name, known);
      if (hint.empty())
        hint = known.empty() ? " (it has no attributes)" : " (attributes: " + join(known) + ")";
      typing.fail("unknown attribute '" + display_text(name) + "' for op '" + schema.name + "'" + hint,
                  lit.name_loc.line ? lit.name_loc : lit.loc);
    }
    values.emplace(name, typing.convert(*spec, lit));
  }
  for (const AttrSpec& s : schema.attrs) {
    if (values.count(s.name)) continue;
    if (!s.default_value)
      typing.fail("missing required attribute '" + s.name + "' (" + attr_type_name(s.type) + ")", where);
    values.emplace(s.name, *s.default_value);
  }
  return Attrs(std::move(values));
}

}  // namespace keel
