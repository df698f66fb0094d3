#include "graph/attrs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "base/json.hpp"
#include "base/suggest.hpp"

namespace keel {

namespace {

std::optional<std::int64_t> to_int(const std::string& s) {
  std::int64_t v = 0;
  const char* b = s.data() + (s.size() > 1 && s[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> to_float(const std::string& s) {
  double v = 0;
  const char* b = s.data() + (s.size() > 1 && s[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

struct Converter {
  const AttrSpec& spec;
  const AttrLiteral& lit;
  const std::string& file;
  const ErrorSubject& subject;

  [[noreturn]] void bad(std::size_t i, const std::string& why) const {
    const Loc l = i < lit.item_locs.size() && lit.item_locs[i].line ? lit.item_locs[i] : lit.loc;
    throw usage_error("attribute '" + spec.name + "': " + why, {file, l.line, l.col}, subject);
  }

  void in_range(std::size_t i, double v) const {
    if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max))
      bad(i, lit.items[i] + " is out of range [" + (spec.min ? json_number(*spec.min) : "-inf") + ", " +
                 (spec.max ? json_number(*spec.max) : "inf") + "]");
  }

  std::int64_t integer(std::size_t i) const {
    auto v = lit.quoted ? std::nullopt : to_int(lit.items[i]);
    if (!v) bad(i, "expected an integer, got '" + lit.items[i] + "'");
    in_range(i, double(*v));
    return *v;
  }

  double number(std::size_t i) const {
    auto v = lit.quoted ? std::nullopt : to_float(lit.items[i]);
    if (!v) bad(i, "expected a number, got '" + lit.items[i] + "'");
    in_range(i, *v);
    return *v;
  }

  AttrValue convert() const {
    const bool list = spec.type == AttrType::Ints || spec.type == AttrType::Floats;
    if (list != lit.is_list)
      bad(0, std::string("expected ") + (list ? "a list" : "a single value") + " (" + attr_type_name(spec.type) + ")");
    switch (spec.type) {
      case AttrType::Int: return integer(0);
      case AttrType::Float: return number(0);
      case AttrType::Bool:
        if (!lit.quoted && (lit.items[0] == "true" || lit.items[0] == "false")) return lit.items[0] == "true";
        bad(0, "expected true or false, got '" + lit.items[0] + "'");
      case AttrType::String: {
        const std::string& s = lit.items[0];
        if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
          std::string allowed;
          for (const auto& c : spec.choices) allowed += (allowed.empty() ? "" : ", ") + c;
          bad(0, "'" + s + "' is not one of: " + allowed);
        }
        return s;
      }
      case AttrType::Ints: {
        std::vector<std::int64_t> v;
        for (std::size_t i = 0; i < lit.items.size(); ++i) v.push_back(integer(i));
        return v;
      }
      case AttrType::Floats: {
        std::vector<double> v;
        for (std::size_t i = 0; i < lit.items.size(); ++i) v.push_back(number(i));
        return v;
      }
    }
    bad(0, "unsupported attribute type");
  }
};

}  // namespace

Attrs typed_attrs(const OpSchema& schema, const std::map<std::string, AttrLiteral>& literals,
                  const std::string& file, const ErrorSubject& subject, Loc where) {
  std::vector<std::string> names;
  for (const auto& a : schema.attrs) names.push_back(a.name);
  for (const auto& [name, lit] : literals)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw usage_error("unknown attribute '" + name + "' for op '" + schema.name + "'" + did_you_mean(name, names),
                        {file, lit.loc.line, lit.loc.col}, subject);
  std::map<std::string, AttrValue> values;
  for (const auto& spec : schema.attrs) {
    auto it = literals.find(spec.name);
    if (it != literals.end()) {
      values[spec.name] = Converter{spec, it->second, file, subject}.convert();
    } else if (spec.default_value) {
      values[spec.name] = *spec.default_value;
    } else {
      throw usage_error("missing required attribute '" + spec.name + "' of op '" + schema.name + "'",
                        {file, where.line, where.col}, subject);
    }
  }
  return Attrs(std::move(values));
}

}  // namespace keel
