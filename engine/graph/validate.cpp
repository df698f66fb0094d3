#include "graph/validate.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <queue>

#include "base/suggest.hpp"

namespace keel {
namespace {

using DepGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

bool before(const Loc& a, const Loc& b) { return std::tie(a.line, a.col) < std::tie(b.line, b.col); }

// Suggestions only for name-sized words: the edit distance costs the
// product of the two lengths, and a file can hold a megabyte-long key.
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  return word.size() <= 64 ? did_you_mean(word, candidates) : std::string();
}

std::string number_text(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
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

// Keeps the error that comes first in the file among several candidates,
// so a node with two problems reports the one the author reads first.
struct FirstError {
  std::optional<Error> error;
  Loc at;
  void offer(const Error& e, Loc l) {
    if (!error || before(l, at)) error = e, at = l;
  }
};

// Thrown inside the DFS visitor to stop at the first back edge.
struct BackEdge {
  int from, to;
};

struct CycleVisitor : boost::default_dfs_visitor {
  std::vector<int>* parent;
  template <class E, class G>
  void tree_edge(E e, const G& g) const {
    (*parent)[boost::target(e, g)] = static_cast<int>(boost::source(e, g));
  }
  template <class E, class G>
  void back_edge(E e, const G& g) const {
    throw BackEdge{static_cast<int>(boost::source(e, g)), static_cast<int>(boost::target(e, g))};
  }
};

class Validator {
 public:
  Validator(ValidatedGraph& g, const Registry& r) : g_(g), reg_(r) {}

  void run() {
    const GraphDef& def = g_.def;
    for (std::size_t i = 0; i < def.inputs.size(); ++i) values_.emplace(def.inputs[i].name, -1 - int(i));
    for (std::size_t i = 0; i < def.nodes.size(); ++i) values_.emplace(def.nodes[i].name, int(i));
    for (const auto& [name, id] : values_) value_names_.push_back(name);

    g_.nodes.resize(def.nodes.size());
    for (std::size_t i = 0; i < def.nodes.size(); ++i) check_node(int(i));
    order_nodes();
    for (const ValueRef& r : def.outputs) {
      try {
        g_.outputs.push_back(resolve(r, "output"));
      } catch (const Error& e) {
        throw usage_error(e.message(), g_.loc(r.loc));
      }
    }
    warn_unused();
    collect_input_specs();
  }

 private:
  ErrorSubject subject_of(int n) const {
    const NodeDef& d = g_.def.nodes[n];
    const OpEntry* e = g_.nodes[n].entry;
    return {d.name, display_text(d.op), e && e->plugin ? e->plugin->name : ""};
  }
  [[noreturn]] void fail(int n, const std::string& msg, Loc l) const {
    throw usage_error(msg, g_.loc(l), subject_of(n));
  }

  void check_node(int n) {
    const NodeDef& d = g_.def.nodes[n];
    ValidatedNode& vn = g_.nodes[n];
    vn.entry = reg_.find(d.op);
    if (!vn.entry) {
      std::string where = " (no plugin folders were searched)";
      if (!reg_.searched.empty()) {
        std::vector<std::string> dirs;
        for (const auto& p : reg_.searched) dirs.push_back(p.string());
        where = " (plugins searched in: " + join(dirs) + ")";
      }
      fail(n, "unknown op '" + display_text(d.op) + "'" + suggestion(d.op, reg_.op_names()) + where,
           d.op_loc);
    }
    FirstError first;
    auto attempt = [&](auto&& check) {
      try {
        check();
      } catch (const Error& e) {
        first.offer(e, Loc{e.loc().line, e.loc().col});
      }
    };
    attempt([&] { check_attrs(n); });
    attempt([&] { check_inputs(n); });
    if (first.error) throw *first.error;
  }

  void check_attrs(int n) {
    const NodeDef& d = g_.def.nodes[n];
    const OpSchema& schema = g_.nodes[n].entry->schema;
    std::vector<std::string> known;
    for (const AttrSpec& s : schema.attrs) known.push_back(s.name);

    // std::map orders by name; errors should follow the file.
    std::vector<const std::pair<const std::string, AttrLiteral>*> written;
    for (const auto& kv : d.attrs) written.push_back(&kv);
    std::sort(written.begin(), written.end(),
              [](auto* a, auto* b) { return before(a->second.name_loc, b->second.name_loc); });

    std::map<std::string, AttrValue> values;
    for (const auto* kv : written) {
      const auto& [name, lit] = *kv;
      auto spec = std::find_if(schema.attrs.begin(), schema.attrs.end(),
                               [&](const AttrSpec& s) { return s.name == name; });
      if (spec == schema.attrs.end()) {
        std::string hint = suggestion(name, known);
        if (hint.empty())
          hint = known.empty() ? " (it has no attributes)" : " (attributes: " + join(known) + ")";
        fail(n, "unknown attribute '" + display_text(name) + "' for op '" + d.op + "'" + hint,
             lit.name_loc.line ? lit.name_loc : lit.loc);
      }
      values.emplace(name, convert(n, *spec, lit));
    }
    for (const AttrSpec& s : schema.attrs) {
      if (values.count(s.name)) continue;
      if (!s.default_value)
        fail(n, "missing required attribute '" + s.name + "' (" + attr_type_name(s.type) + ")", d.loc);
      values.emplace(s.name, *s.default_value);
    }
    g_.nodes[n].attrs = Attrs(std::move(values));
  }

  AttrValue convert(int n, const AttrSpec& spec, const AttrLiteral& lit) const {
    const bool wants_list = spec.type == AttrType::Ints || spec.type == AttrType::Floats;
    const std::string type = attr_type_name(spec.type);
    if (wants_list && !lit.is_list)
      fail(n, "attribute '" + spec.name + "' must be a list (" + type + "), such as [1, 2]", lit.loc);
    if (!wants_list && lit.is_list)
      fail(n, "attribute '" + spec.name + "' must be a single " + type + ", not a list", lit.loc);

    if (lit.items.empty() && !wants_list) fail(n, "attribute '" + spec.name + "' has no value", lit.loc);
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
      fail(n, "attribute '" + spec.name + "' must be " + what + ", not " + got, at(i));
    };
    auto in_range = [&](std::size_t i, double v) {
      if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max)) {
        std::string range = spec.min && spec.max
                                ? "[" + number_text(*spec.min) + ", " + number_text(*spec.max) + "]"
                            : spec.min ? ">= " + number_text(*spec.min)
                                       : "<= " + number_text(*spec.max);
        fail(n,
             "attribute '" + spec.name + "' = " + display_text(lit.items[i]) +
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
          fail(n,
               "attribute '" + spec.name + "' must be one of " + quoted_list(spec.choices) + ", not '" +
                   display_text(s) + "'" + suggestion(s, spec.choices),
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
    fail(n, "attribute '" + spec.name + "' has an unknown type", lit.loc);
  }

  static std::string quoted_list(const std::vector<std::string>& items) {
    std::vector<std::string> q;
    for (const auto& s : items) q.push_back("'" + s + "'");
    return join(q);
  }

  void check_inputs(int n) {
    const NodeDef& d = g_.def.nodes[n];
    const OpSchema& schema = g_.nodes[n].entry->schema;
    if (d.inputs.size() != schema.inputs.size()) {
      std::vector<std::string> ports;
      for (const PortSpec& p : schema.inputs) ports.push_back(p.name);
      Loc at = d.inputs.size() > schema.inputs.size() ? d.inputs[schema.inputs.size()].loc : d.inputs_loc;
      fail(n,
           "op '" + d.op + "' takes " + std::to_string(schema.inputs.size()) + " input" +
               (schema.inputs.size() == 1 ? "" : "s") + (ports.empty() ? "" : " (" + join(ports) + ")") +
               ", got " + std::to_string(d.inputs.size()),
           at);
    }
    for (const ValueRef& r : d.inputs) {
      try {
        g_.nodes[n].inputs.push_back(resolve(r, "input"));
      } catch (const Error& e) {
        fail(n, e.message(), r.loc);
      }
    }
  }

  // Throws an Error without a position; callers add theirs.
  ValueId resolve(const ValueRef& r, const char* role) const {
    auto it = values_.find(r.name);
    if (it == values_.end())
      throw usage_error("unresolved " + std::string(role) + " '" + r.text() +
                        "': no graph input or node has that name" + suggestion(r.name, value_names_));
    if (it->second < 0) {
      if (!r.port.empty())
        throw usage_error("graph input '" + r.name + "' has no ports: write '" + r.name + "'");
      return {-1, -1 - it->second};
    }
    const int producer = it->second;
    if (r.port.empty()) return {producer, 0};
    // An unknown op is reported at its own node; its ports cannot be checked.
    const OpEntry* entry = reg_.find(g_.def.nodes[producer].op);
    if (!entry) return {producer, 0};
    std::vector<std::string> ports;
    for (const PortSpec& p : entry->schema.outputs) ports.push_back(p.name);
    auto p = std::find(ports.begin(), ports.end(), r.port);
    if (p == ports.end())
      throw usage_error("node '" + r.name + "' (op '" + entry->schema.name + "') has no output '" + r.port +
                        "' (outputs: " + join(ports) + ")");
    return {producer, int(p - ports.begin())};
  }

  // Cycle check with Boost.Graph's DFS (a back edge closes a cycle), then a
  // topological order that breaks ties by file order so it is reproducible.
  void order_nodes() {
    const int count = int(g_.nodes.size());
    DepGraph deps(count);
    std::vector<int> indegree(count, 0);
    for (int n = 0; n < count; ++n)
      for (const ValueId& v : g_.nodes[n].inputs)
        if (v.node >= 0) boost::add_edge(v.node, n, deps), ++indegree[n];

    std::vector<int> parent(count, -1);
    CycleVisitor visitor;
    visitor.parent = &parent;
    try {
      boost::depth_first_search(deps, boost::visitor(visitor));
    } catch (const BackEdge& b) {
      std::vector<int> cycle{b.from};
      for (int v = b.from; v != b.to; v = parent[v]) cycle.push_back(parent[v]);
      std::reverse(cycle.begin(), cycle.end());
      std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
      std::string text;
      for (int v : cycle) text += g_.def.nodes[v].name + " -> ";
      text += g_.def.nodes[cycle[0]].name;
      fail(cycle[0], "cycle: " + text, g_.def.nodes[cycle[0]].loc);
    }

    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int n = 0; n < count; ++n)
      if (indegree[n] == 0) ready.push(n);
    while (!ready.empty()) {
      int n = ready.top();
      ready.pop();
      g_.topo_order.push_back(n);
      for (auto [e, end] = boost::out_edges(n, deps); e != end; ++e) {
        int m = int(boost::target(*e, deps));
        if (--indegree[m] == 0) ready.push(m);
      }
    }
  }

  void warn_unused() {
    std::vector<bool> used(g_.nodes.size(), false);
    std::vector<int> stack;
    for (const ValueId& v : g_.outputs)
      if (v.node >= 0 && !used[v.node]) used[v.node] = true, stack.push_back(v.node);
    while (!stack.empty()) {
      int n = stack.back();
      stack.pop_back();
      for (const ValueId& v : g_.nodes[n].inputs)
        if (v.node >= 0 && !used[v.node]) used[v.node] = true, stack.push_back(v.node);
    }
    for (std::size_t n = 0; n < used.size(); ++n)
      if (!used[n])
        g_.warnings.push_back(usage_error("node '" + g_.def.nodes[n].name + "' does not feed any output",
                                          g_.loc(g_.def.nodes[n].loc), subject_of(int(n))));
  }

  void collect_input_specs() {
    std::map<std::string, int> index;  // symbol -> its position in g_.symbols
    for (const InputDef& in : g_.def.inputs) {
      TensorSpec spec{in.dtype, {}};
      for (const DimDef& d : in.shape) {
        if (d.symbol.empty()) {
          spec.shape.push_back(d.size);
          continue;
        }
        auto [it, fresh] = index.emplace(d.symbol, int(g_.symbols.size()));
        if (fresh) g_.symbols.push_back(d.symbol);
        spec.shape.push_back(symbolic_dim(it->second));
      }
      g_.input_specs.push_back(std::move(spec));
    }
  }

  ValidatedGraph& g_;
  const Registry& reg_;
  std::map<std::string, int> values_;  // >= 0: node index; < 0: -1 - input index
  std::vector<std::string> value_names_;
};

}  // namespace

ErrorSubject ValidatedGraph::subject(int node) const {
  if (node < 0 || node >= int(def.nodes.size())) return {};
  const OpEntry* e = node < int(nodes.size()) ? nodes[node].entry : nullptr;
  return {def.nodes[node].name, def.nodes[node].op, e && e->plugin ? e->plugin->name : ""};
}

ValidatedGraph validate_graph(GraphDef def, const Registry& registry) {
  ValidatedGraph g;
  g.def = std::move(def);
  Validator(g, registry).run();
  return g;
}

}  // namespace keel
