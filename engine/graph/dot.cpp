#include "graph/dot.hpp"

#include <algorithm>
#include <array>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>
#include <sstream>

#include "graph/train_def.hpp"

namespace keel {
namespace {

struct EdgeLabel {
  std::string port;  // empty for a node's first output and for graph inputs
};

using DotGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, boost::no_property, EdgeLabel>;
using Vertex = DotGraph::vertex_descriptor;

// Light fills that keep black text readable; plugins take them in the order
// they first appear in the file, so the same graph always looks the same.
constexpr std::array<const char*, 8> kPalette = {"#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6",
                                                 "#fb9a99", "#ffff99", "#8dd3c7", "#d9d9d9"};

// The text between the quotes of a DOT string: user text may hold quotes or
// backslashes, and a line break is written as the two characters \n.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string shape_text(const InputDef& in) {
  std::string s = "[";
  for (std::size_t i = 0; i < in.shape.size(); ++i) {
    if (i) s += ", ";
    s += in.shape[i].symbol.empty() ? std::to_string(in.shape[i].size) : in.shape[i].symbol;
  }
  return s + "]";
}

// Vertex ids: graph inputs first, then nodes, then one sink per output, then
// the optimizer of a training graph.
class VertexWriter {
 public:
  VertexWriter(const ValidatedGraph& g, const std::vector<std::string>& colours,
               const std::vector<bool>& training_only)
      : g_(g), colours_(colours), training_only_(training_only) {}
  void operator()(std::ostream& os, Vertex v) const {
    const std::size_t inputs = g_.def.inputs.size(), nodes = g_.def.nodes.size();
    if (v < inputs) {
      const InputDef& in = g_.def.inputs[v];
      os << "[shape=ellipse, label=\"" << escape(in.name) << "\\n"
         << escape(std::string(dtype_name(in.dtype)) + " " + shape_text(in)) << "\"]";
    } else if (v < inputs + nodes) {
      const NodeDef& n = g_.def.nodes[v - inputs];
      // Nodes only training runs need (the loss and what feeds only it) are
      // dashed and say so.
      const bool train = training_only_[v - inputs];
      os << "[shape=box, style=\"" << (train ? "filled,dashed" : "filled") << "\", fillcolor=\""
         << colours_[v - inputs] << "\", label=\"" << escape(n.name) << "\\n"
         << escape(n.op) << (train ? "\\n(training only)" : "") << "\"]";
    } else if (v >= inputs + nodes + g_.def.outputs.size()) {
      const TrainDef& t = *g_.def.train;
      std::string ops;
      for (const OptimizerDef* o : t.optimizers()) ops += (ops.empty() ? "" : ", ") + o->op;
      os << "[shape=note, style=dashed, label=\"optimizer\\n" << escape(ops) << "\\n(training only)\"]";
    } else {
      os << "[shape=ellipse, peripheries=2, label=\"" << escape(g_.def.outputs[v - inputs - nodes].text())
         << "\"]";
    }
  }

 private:
  const ValidatedGraph& g_;
  const std::vector<std::string>& colours_;
  const std::vector<bool>& training_only_;
};

class EdgeWriter {
 public:
  explicit EdgeWriter(const DotGraph& g) : g_(g) {}
  template <class Edge>
  void operator()(std::ostream& os, const Edge& e) const {
    const std::string& port = g_[e].port;
    if (!port.empty()) os << "[label=\"" << escape(port) << "\"]";
  }

 private:
  const DotGraph& g_;
};

// The graph's name, and a legend: one box per plugin in its colour.
class GraphWriter {
 public:
  GraphWriter(const ValidatedGraph& g, const std::vector<std::string>& plugins) : g_(g), plugins_(plugins) {}
  void operator()(std::ostream& os) const {
    if (!g_.def.name.empty()) os << "label=\"" << escape(g_.def.name) << "\";\n";
    os << "node [fontname=\"Helvetica\"];\n";
    os << "subgraph cluster_plugins {\nlabel=\"plugins\";\nstyle=dashed;\n";
    for (std::size_t i = 0; i < plugins_.size(); ++i)
      os << "plugin" << i << " [shape=box, style=filled, fillcolor=\"" << kPalette[i % kPalette.size()]
         << "\", label=\"" << escape(plugins_[i].empty() ? "?" : plugins_[i]) << "\"];\n";
    os << "}\n";
  }

 private:
  const ValidatedGraph& g_;
  const std::vector<std::string>& plugins_;
};

}  // namespace

std::string graph_to_dot(const ValidatedGraph& graph) {
  const std::size_t inputs = graph.def.inputs.size(), nodes = graph.def.nodes.size();
  const bool training = graph.def.train != nullptr;
  DotGraph g(inputs + nodes + graph.def.outputs.size() + (training ? 1 : 0));

  auto source_of = [&](const ValueId& v) -> Vertex {
    return v.node < 0 ? Vertex(v.index) : Vertex(inputs + std::size_t(v.node));
  };
  auto port_label = [&](const ValueId& v) -> std::string {
    if (v.node < 0 || v.index == 0) return "";
    const OpEntry* e = graph.nodes[std::size_t(v.node)].entry;
    return e && std::size_t(v.index) < e->schema.outputs.size() ? e->schema.outputs[std::size_t(v.index)].name
                                                                : std::to_string(v.index);
  };

  std::vector<std::string> plugin_order;
  std::vector<std::string> colours;
  for (std::size_t n = 0; n < nodes; ++n) {
    const ValidatedNode& vn = graph.nodes[n];
    const std::string plugin = vn.entry && vn.entry->plugin ? vn.entry->plugin->name : "";
    auto it = std::find(plugin_order.begin(), plugin_order.end(), plugin);
    if (it == plugin_order.end()) it = plugin_order.insert(plugin_order.end(), plugin);
    colours.push_back(kPalette[std::size_t(it - plugin_order.begin()) % kPalette.size()]);
    for (const ValueId& v : vn.inputs) boost::add_edge(source_of(v), inputs + n, EdgeLabel{port_label(v)}, g);
  }
  for (std::size_t o = 0; o < graph.outputs.size(); ++o) {
    const ValueId& v = graph.outputs[o];
    boost::add_edge(source_of(v), inputs + nodes + o, EdgeLabel{port_label(v)}, g);
  }

  // Training-only: in a graph with a train: section, the nodes no graph
  // output depends on (walked back from the outputs).
  std::vector<bool> training_only(nodes, false);
  if (training) {
    std::vector<bool> needed(nodes, false);
    std::vector<int> stack;
    for (const ValueId& v : graph.outputs)
      if (v.node >= 0) stack.push_back(v.node);
    while (!stack.empty()) {
      const int n = stack.back();
      stack.pop_back();
      if (needed[std::size_t(n)]) continue;
      needed[std::size_t(n)] = true;
      for (const ValueId& v : graph.nodes[std::size_t(n)].inputs)
        if (v.node >= 0) stack.push_back(v.node);
    }
    for (std::size_t n = 0; n < nodes; ++n) training_only[n] = !needed[n];
    // The optimizer reads the loss.
    const Vertex optimizer = inputs + nodes + graph.def.outputs.size();
    for (const ValueRef* loss : graph.def.train->losses())
      for (std::size_t n = 0; n < nodes; ++n)
        if (graph.def.nodes[n].name == loss->name)
          boost::add_edge(inputs + n, optimizer, EdgeLabel{"loss"}, g);
  }

  std::ostringstream os;
  boost::write_graphviz(os, g, VertexWriter(graph, colours, training_only), EdgeWriter(g),
                        GraphWriter(graph, plugin_order));
  return os.str();
}

}  // namespace keel
