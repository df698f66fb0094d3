#include "graph/validate.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <queue>
#include <string_view>
#include <unordered_map>

#include "base/suggest.hpp"
#include "graph/attrs.hpp"
#include "graph/train_def.hpp"

namespace keel {
namespace {

using DepGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

bool before(const Loc& a, const Loc& b) { return std::tie(a.line, a.col) < std::tie(b.line, b.col); }

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
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
    values_.reserve(def.inputs.size() + def.nodes.size());
    for (std::size_t i = 0; i < def.inputs.size(); ++i) values_.emplace(def.inputs[i].name, -1 - int(i));
    for (std::size_t i = 0; i < def.nodes.size(); ++i) values_.emplace(def.nodes[i].name, int(i));

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
      fail(n, "unknown op '" + display_text(d.op) + "'" + did_you_mean(d.op, reg_.op_names()) + where,
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
    // Nothing to type or fill in: the attributes stay empty, and the error
    // subject (three strings) is not built for every node of a large graph.
    if (d.attrs.empty() && g_.nodes[n].entry->schema.attrs.empty()) return;
    g_.nodes[n].attrs = typed_attrs(g_.nodes[n].entry->schema, d.attrs, g_.def.file, subject_of(n), d.loc);
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
    g_.nodes[n].inputs.reserve(d.inputs.size());
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
                        "': no graph input or node has that name" + did_you_mean(r.name, value_names()));
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

  // A topological order that breaks ties by file order, so it is
  // reproducible (Kahn's algorithm over each node's consumers). When some
  // nodes never become ready there is a cycle, and Boost.Graph's DFS finds
  // the one to print (its first back edge). The DFS runs only then: on a
  // large acyclic graph its stack and adjacency lists are most of the cost.
  void order_nodes() {
    const int count = int(g_.nodes.size());
    // consumers[first[n] .. first[n + 1]) read node n, in file order, once
    // per input that names it.
    std::vector<int> first(count + 1, 0), indegree(count, 0);
    for (int n = 0; n < count; ++n)
      for (const ValueId& v : g_.nodes[n].inputs)
        if (v.node >= 0) ++first[v.node + 1], ++indegree[n];
    for (int n = 0; n < count; ++n) first[n + 1] += first[n];
    std::vector<int> consumers(first[count]);
    std::vector<int> next(first.begin(), first.end() - 1);
    for (int n = 0; n < count; ++n)
      for (const ValueId& v : g_.nodes[n].inputs)
        if (v.node >= 0) consumers[next[v.node]++] = n;

    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int n = 0; n < count; ++n)
      if (indegree[n] == 0) ready.push(n);
    g_.topo_order.reserve(count);
    while (!ready.empty()) {
      int n = ready.top();
      ready.pop();
      g_.topo_order.push_back(n);
      for (int i = first[n]; i < first[n + 1]; ++i)
        if (--indegree[consumers[i]] == 0) ready.push(consumers[i]);
    }
    if (int(g_.topo_order.size()) < count) fail_on_cycle();
  }

  // Reports the cycle a DFS meets first (a back edge closes it), from the
  // node that comes first in the file.
  [[noreturn]] void fail_on_cycle() {
    const int count = int(g_.nodes.size());
    DepGraph deps(count);
    for (int n = 0; n < count; ++n)
      for (const ValueId& v : g_.nodes[n].inputs)
        if (v.node >= 0) boost::add_edge(v.node, n, deps);
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
    // Unreachable: nodes left unordered always close a cycle.
    throw runtime_error("internal error: nodes left unordered, but no cycle found");
  }

  void warn_unused() {
    std::vector<bool> used(g_.nodes.size(), false);
    std::vector<int> stack;
    std::vector<ValueId> roots = g_.outputs;
    // A training graph's losses are roots too: they drive the backward pass.
    if (g_.def.train)
      for (const ValueRef* loss : g_.def.train->losses()) {
        try {
          roots.push_back(resolve(*loss, "loss"));
        } catch (const Error& e) {
          throw usage_error(e.message(), g_.loc(loss->loc));  // where the loss is named
        }
      }
    // So is a guard: the engine reads its outputs and acts on them.
    for (std::size_t n = 0; n < g_.nodes.size(); ++n)
      if (g_.nodes[n].entry->schema.role == Role::guard) roots.push_back({int(n), 0});
    for (const ValueId& v : roots)
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

  // Every name a reference can use, sorted: the candidates of a
  // did-you-mean, built only for the message.
  std::vector<std::string> value_names() const {
    std::vector<std::string> names;
    names.reserve(values_.size());
    for (const auto& [name, id] : values_) names.emplace_back(name);
    std::sort(names.begin(), names.end());
    return names;
  }

  ValidatedGraph& g_;
  const Registry& reg_;
  // >= 0: node index; < 0: -1 - input index. The names are g_.def's, which
  // stays put while the validator runs.
  std::unordered_map<std::string_view, int> values_;
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
