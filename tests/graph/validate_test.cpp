#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>

#include "test_registry.hpp"

using keel::test::validate_text;

namespace {

keel::Error error_of(const std::string& yaml) {
  try {
    validate_text(yaml);
  } catch (const keel::Error& e) {
    return e;
  }
  FAIL("the graph was accepted");
  throw std::logic_error("unreachable");
}

// Appends rather than `"n" + std::to_string(i)`, which trips a false
// -Wrestrict in GCC 12 at -O3.
std::string node_name(int i) {
  std::string s = "n";
  s += std::to_string(i);
  return s;
}

std::string one_node(const std::string& node) {
  return "keel: 1\ninputs:\n  x: {dtype: f32, shape: [4]}\nnodes:\n  - " + node + "\noutputs: [h]\n";
}

// A graph text from a dependency list: node i is "n<i>" and reads the nodes
// in deps[i] (or the input x when it has none), through add or relu.
std::string graph_text(const std::vector<std::vector<int>>& deps, int output) {
  std::string s = "keel: 1\ninputs:\n  x: {dtype: f32, shape: [4]}\nnodes:\n";
  for (std::size_t i = 0; i < deps.size(); ++i) {
    std::vector<std::string> in;
    for (int d : deps[i]) in.push_back(node_name(d));
    while (in.size() < 2 && deps[i].size() != 1) in.push_back("x");
    s += "  - {name: " + node_name(int(i)) + ", op: " + (in.size() == 1 ? "relu" : "add") + ", inputs: [" +
         in[0] + (in.size() == 2 ? ", " + in[1] : "") + "]}\n";
  }
  return s + "outputs: [" + node_name(output) + "]\n";
}

// The reference order: repeatedly take the first node in file order whose
// dependencies are all placed. Empty when a cycle blocks it.
std::vector<int> naive_topo(const std::vector<std::vector<int>>& deps) {
  std::vector<int> order;
  std::vector<bool> placed(deps.size(), false);
  while (order.size() < deps.size()) {
    bool progress = false;
    for (std::size_t i = 0; i < deps.size() && !progress; ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (int d : deps[i]) ready = ready && placed[std::size_t(d)];
      if (ready) placed[i] = true, order.push_back(int(i)), progress = true;
    }
    if (!progress) return {};
  }
  return order;
}

}  // namespace

TEST_CASE("missing attributes take the schema's defaults") {
  auto g = validate_text(one_node("{name: h, op: fixture, inputs: [x], attrs: {count: 3}}"));
  const keel::Attrs& a = g.nodes[0].attrs;
  CHECK(a.i("count") == 3);
  CHECK(a.s("mode") == "fast");
  CHECK(a.f("ratio") == 0.5);
  CHECK(a.b("enabled") == false);
  CHECK(a.ints("sizes") == std::vector<std::int64_t>{2, 3});
  CHECK(a.floats("weights").empty());
  CHECK(a.s("label").empty());
  CHECK(a.values().size() == 7);
}

TEST_CASE("attribute literals convert to the schema's types") {
  auto g = validate_text(one_node(
      "{name: h, op: fixture, inputs: [x], attrs: {count: +8, ratio: 1, enabled: true, sizes: [0, 7, 12],"
      " weights: [0.25, -2, 1e3], label: 12, mode: \"exact\"}}"));
  const keel::Attrs& a = g.nodes[0].attrs;
  CHECK(a.i("count") == 8);
  CHECK(a.f("ratio") == 1.0);
  CHECK(a.b("enabled"));
  CHECK(a.ints("sizes") == std::vector<std::int64_t>{0, 7, 12});
  CHECK(a.floats("weights") == std::vector<double>{0.25, -2.0, 1000.0});
  CHECK(a.s("label") == "12");
  CHECK(a.s("mode") == "exact");

  CHECK(validate_text(one_node("{name: h, op: fixture, inputs: [x], attrs: {count: 1, enabled: False}}"))
            .nodes[0]
            .attrs.b("enabled") == false);
  CHECK(validate_text(one_node("{name: h, op: scale, inputs: [x], attrs: {factor: -2.5e-1}}"))
            .nodes[0]
            .attrs.f("factor") == -0.25);
}

TEST_CASE("attribute errors name the node, the op and the plugin") {
  keel::Error e = error_of(one_node("{name: h, op: fixture, inputs: [x], attrs: {count: 2, ratio: 1.5}}"));
  CHECK(e.message() == "attribute 'ratio' = 1.5 is out of range (allowed: [0, 1])");
  CHECK(e.subject().node == "h");
  CHECK(e.subject().op == "fixture");
  CHECK(e.subject().plugin == "fixtures");
  CHECK(e.loc().line == 5);
  CHECK(e.loc().col == 66);

  e = error_of(one_node("{name: h, op: fixture, inputs: [x], attrs: {count: 99999999999999999999}}"));
  CHECK(e.message().find("must be an integer") != std::string::npos);
}

TEST_CASE("within a node, the error written first is the one reported") {
  // The unknown input comes before the bad attribute in the text.
  keel::Error e = error_of(one_node("{name: h, op: scale, inputs: [y], attrs: {factor: high}}"));
  CHECK(e.message().find("unresolved input 'y'") == 0);
  e = error_of(one_node("{name: h, op: scale, attrs: {factor: high}, inputs: [y]}"));
  CHECK(e.message().find("attribute 'factor'") == 0);
}

TEST_CASE("an unknown op suggests near names and says where plugins were searched") {
  keel::Error e = error_of(one_node("{name: h, op: mtamul, inputs: [x, x]}"));
  CHECK(e.message() ==
        "unknown op 'mtamul' (did you mean 'matmul' or 'mul'?) (plugins searched in: /opt/keel/plugins, "
        "plugins)");
  CHECK(e.loc().line == 5);
  CHECK(e.loc().col == 19);

  keel::Registry empty;
  try {
    keel::validate_graph(keel::parse_graph_text(one_node("{name: h, op: relu, inputs: [x]}"), "g.yaml"),
                         empty);
    FAIL("accepted");
  } catch (const keel::Error& err) {
    CHECK(err.message() == "unknown op 'relu' (no plugin folders were searched)");
  }
}

TEST_CASE("references resolve to graph inputs and output ports") {
  auto g = validate_text(
      "keel: 1\ninputs:\n  a: {dtype: f32, shape: [2]}\n  b: {dtype: f32, shape: [2]}\nnodes:\n"
      "  - {name: s, op: split, inputs: [b]}\n  - {name: m, op: mul, inputs: [s.second, a]}\n"
      "outputs: [m, s.second, s.first, a]\n");
  using V = keel::ValueId;
  CHECK(g.nodes[0].inputs == std::vector<V>{{-1, 1}});
  CHECK(g.nodes[1].inputs == std::vector<V>{{0, 1}, {-1, 0}});
  CHECK(g.outputs == std::vector<V>{{1, 0}, {0, 1}, {0, 0}, {-1, 0}});
  CHECK(g.subject(1).node == "m");
  CHECK(g.subject(1).op == "mul");
  CHECK(g.subject(1).plugin == "nn");
}

TEST_CASE("topological order follows dependencies and breaks ties by file order") {
  // n0 reads n2, n2 reads n3, n1 and n3 read only x: n1 and n3 are ready first.
  std::vector<std::vector<int>> deps = {{2}, {}, {3}, {}};
  auto g = validate_text(graph_text(deps, 0));
  CHECK(g.topo_order == std::vector<int>{1, 3, 2, 0});
  CHECK(g.topo_order == naive_topo(deps));

  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 2 + int(rng() % 12);
    // Random DAG over a random permutation, so file order is not a topological order.
    std::vector<int> rank(std::size_t(n), 0);
    for (int i = 0; i < n; ++i) rank[std::size_t(i)] = i;
    std::shuffle(rank.begin(), rank.end(), rng);
    std::vector<std::vector<int>> d(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n && d[std::size_t(i)].size() < 2; ++j)
        if (rank[std::size_t(j)] < rank[std::size_t(i)] && rng() % 3 == 0) d[std::size_t(i)].push_back(j);
    // Occasionally close a cycle: a node reads one that (transitively) reads it.
    const bool cyclic_attempt = trial % 4 == 0;
    if (cyclic_attempt) {
      int low = int(std::min_element(rank.begin(), rank.end()) - rank.begin());
      int high = int(std::max_element(rank.begin(), rank.end()) - rank.begin());
      d[std::size_t(low)] = {high};
    }
    INFO(graph_text(d, 0));
    auto expected = naive_topo(d);
    try {
      auto vg = validate_text(graph_text(d, 0));
      CHECK(expected == vg.topo_order);
    } catch (const keel::Error& e) {
      REQUIRE(expected.empty());
      // The printed cycle must be a real one: each name reads the one before it.
      std::string msg = e.message();
      REQUIRE(msg.rfind("cycle: ", 0) == 0);
      std::vector<int> names;
      for (std::size_t p = 7; p < msg.size();) {
        std::size_t end = msg.find(" -> ", p);
        names.push_back(std::stoi(msg.substr(p + 1, end == std::string::npos ? end : end - p - 1)));
        p = end == std::string::npos ? msg.size() : end + 4;
      }
      REQUIRE(names.size() >= 2);
      CHECK(names.front() == names.back());
      CHECK(names.front() == *std::min_element(names.begin(), names.end()));
      for (std::size_t k = 1; k < names.size(); ++k) {
        const auto& reads = d[std::size_t(names[k])];
        CHECK(std::find(reads.begin(), reads.end(), names[k - 1]) != reads.end());
      }
    }
  }
}

TEST_CASE("named dimensions become symbols in first-seen order") {
  auto g = validate_text(
      "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n  y: {dtype: i32, shape: [seq, batch]}\n"
      "  z: {dtype: u8, shape: []}\nnodes:\n  - {name: h, op: relu, inputs: [x]}\noutputs: [h]\n");
  CHECK(g.symbols == std::vector<std::string>{"batch", "seq"});
  REQUIRE(g.input_specs.size() == 3);
  CHECK(g.input_specs[0].dtype == keel::DType::f32);
  CHECK(g.input_specs[0].shape == keel::Shape{keel::symbolic_dim(0), 4});
  CHECK(g.input_specs[1].dtype == keel::DType::i32);
  CHECK(g.input_specs[1].shape == keel::Shape{keel::symbolic_dim(1), keel::symbolic_dim(0)});
  CHECK(g.input_specs[2].shape.empty());
}

TEST_CASE("nodes that feed no output are reported as warnings") {
  auto g = validate_text(
      "keel: 1\ninputs:\n  x: {dtype: f32, shape: [4]}\nnodes:\n"
      "  - {name: used, op: relu, inputs: [x]}\n"
      "  - {name: dead, op: relu, inputs: [used]}\n"
      "  - {name: deader, op: scale, inputs: [dead]}\n"
      "  - {name: out, op: relu, inputs: [used]}\n"
      "outputs: [out]\n");
  REQUIRE(g.warnings.size() == 2);
  CHECK(g.warnings[0].message() == "node 'dead' does not feed any output");
  CHECK(g.warnings[0].loc().line == 6);
  CHECK(g.warnings[0].loc().col == 5);
  CHECK(g.warnings[0].subject().op == "relu");
  CHECK(g.warnings[1].message() == "node 'deader' does not feed any output");
  CHECK(g.warnings[0].code() == keel::ExitCode::usage);
}

TEST_CASE("a 5,000-node chain validates quickly in either file order") {
  const int n = 5000;
  for (bool reversed : {false, true}) {
    std::string s = "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch]}\nnodes:\n";
    for (int k = 0; k < n; ++k) {
      int i = reversed ? n - 1 - k : k;
      s += "  - {name: " + node_name(i) + ", op: relu, inputs: [" +
           (i == 0 ? std::string("x") : node_name(i - 1)) + "]}\n";
    }
    s += "outputs: [" + node_name(n - 1) + "]\n";
    auto start = std::chrono::steady_clock::now();
    auto g = validate_text(s);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed < std::chrono::seconds(2));
    REQUIRE(g.topo_order.size() == std::size_t(n));
    for (int k = 0; k < n; ++k)
      CHECK(g.def.nodes[std::size_t(g.topo_order[std::size_t(k)])].name == node_name(k));
    CHECK(g.warnings.empty());
  }
}
