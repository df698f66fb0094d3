// The attribute checks of keel::testing::check_op: values a schema rules
// out are refused (when the host can type attribute text, as the runner
// does), and the op's factory and infer cope with values at the edges of
// declared ranges and with every choice.
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "keel/testing/conformance.hpp"

namespace keel::testing {
namespace detail {

inline std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Values a declared attribute rules out, written as in a graph file.
inline std::vector<std::string> invalid_texts(const AttrSpec& a) {
  std::vector<std::string> t;
  const bool list = a.type == AttrType::Ints || a.type == AttrType::Floats;
  auto wrap = [&](const std::string& v) { return list ? "[" + v + "]" : v; };
  switch (a.type) {
    case AttrType::Int:
    case AttrType::Ints:
      t.push_back(wrap("1.5"));
      t.push_back(wrap("x"));
      break;
    case AttrType::Float:
    case AttrType::Floats:
      t.push_back(wrap("x"));
      break;
    case AttrType::Bool:
      t.push_back("maybe");
      break;
    case AttrType::String:
      if (!a.choices.empty()) t.push_back("not_one_of_the_choices");
      break;
  }
  if (a.min) t.push_back(wrap(number_text(std::floor(*a.min) - 1)));
  if (a.max) t.push_back(wrap(number_text(std::ceil(*a.max) + 1)));
  if (list) t.push_back("1");  // a scalar where a list is expected
  return t;
}

// Declared constraints are enforced (when the host can type attribute
// text), and the op's factory and infer cope with every value at their
// edges and every choice.
inline void check_attributes(const OpSchema& s, const OpMaker& factory, const Options& opt,
                             const OpExample& base, Sink& out) {
  if (s.attrs.empty()) return out.skip("attributes", "the op has no attributes");
  int refused = 0, edges = 0;
  if (opt.type_attr) {
    for (const AttrSpec& a : s.attrs)
      for (const std::string& text : invalid_texts(a)) {
        Status st = opt.type_attr(a, text);
        if (st.ok())
          return out.fail("attributes",
                          "'" + a.name + ": " + text + "' is accepted but the schema rules it out");
        if (st.message().empty())
          return out.fail("attributes", "'" + a.name + ": " + text + "' is refused without a message");
        ++refused;
      }
  }
  for (const AttrSpec& a : s.attrs) {
    std::vector<AttrValue> values;
    if (a.type == AttrType::Int) {
      if (a.min) values.push_back(static_cast<std::int64_t>(std::ceil(*a.min)));
      if (a.max) values.push_back(static_cast<std::int64_t>(std::floor(*a.max)));
    } else if (a.type == AttrType::Float) {
      if (a.min) values.push_back(*a.min);
      if (a.max) values.push_back(*a.max);
    } else if (a.type == AttrType::String) {
      for (const auto& c : a.choices) values.push_back(c);
    } else if (a.type == AttrType::Bool) {
      values = {true, false};
    }
    for (const AttrValue& v : values) {
      OpExample ex = base;
      ex.attrs[a.name] = v;
      Options edge = opt;
      edge.attrs.erase(a.name);
      ExampleRun run(s, factory, edge, ex, "");
      // Factory and infer only: an edge value may legitimately ask for more
      // memory than a check should allocate (a huge layer width).
      std::unique_ptr<Op> op;
      InferContext ic;
      Status st = run.create(op);
      if (st.ok()) st = run.infer(*op, run.bound(-1), ic);
      if (!st.ok() && !says_why(st))
        return out.fail("attributes", "'" + a.name + "' at the edge of its range: " + st.message());
      ++edges;
    }
  }
  std::string detail = std::to_string(edges) + " edge values and choices accepted or refused with a message";
  if (opt.type_attr) detail = std::to_string(refused) + " ruled-out values refused; " + detail;
  out.pass("attributes", detail);
}

}  // namespace detail
}  // namespace keel::testing
