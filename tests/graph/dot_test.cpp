#include "graph/dot.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "test_registry.hpp"

namespace {

struct DotVertex {
  std::string label, shape, fill, peripheries;
};

// Reads back the attribute `key="value"` or `key=value` from a DOT
// attribute list, undoing the \" and \\ escapes.
std::string attribute(const std::string& list, const std::string& key) {
  std::size_t p = list.find(key + "=");
  if (p == std::string::npos) return "";
  p += key.size() + 1;
  std::string out;
  if (list[p] != '"') {
    while (p < list.size() && list[p] != ',' && list[p] != ']') out += list[p++];
    return out;
  }
  for (++p; p < list.size() && list[p] != '"'; ++p) {
    if (list[p] == '\\' && p + 1 < list.size() && (list[p + 1] == '"' || list[p + 1] == '\\'))
      ++p;
    else if (list[p] == '\\' && p + 1 < list.size())
      out += list[p++];  // \n stays as written
    out += list[p];
  }
  return out;
}

struct Dot {
  std::map<std::string, DotVertex> vertices;                          // by id
  std::set<std::tuple<std::string, std::string, std::string>> edges;  // from label, to label, edge label
};

Dot read_dot(const std::string& text) {
  Dot d;
  std::istringstream in(text);
  std::string line;
  const std::regex vertex(R"(^(\d+)\[(.*)\];$)"), edge(R"(^(\d+)->(\d+) ?(\[.*\])?;$)");
  std::vector<std::tuple<std::string, std::string, std::string>> raw;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, vertex)) {
      const std::string list = m[2];
      d.vertices[m[1]] = {attribute(list, "label"), attribute(list, "shape"), attribute(list, "fillcolor"),
                          attribute(list, "peripheries")};
    } else if (std::regex_match(line, m, edge)) {
      raw.emplace_back(m[1], m[2], attribute(m[3], "label"));
    }
  }
  for (auto& [from, to, label] : raw) d.edges.emplace(d.vertices[from].label, d.vertices[to].label, label);
  return d;
}

}  // namespace

TEST_CASE("the dot export draws inputs, nodes, outputs and port edges") {
  auto g = keel::test::validate_text(R"(keel: 1
name: 'say "hi"'
inputs:
  x: {dtype: f32, shape: [batch, 4]}
  w: {dtype: f32, shape: [4, 4]}
nodes:
  - {name: h, op: matmul, inputs: [x, w]}
  - {name: s, op: split, inputs: [h]}
  - {name: r, op: relu, inputs: [s.second]}
outputs: [r, s.first]
)");
  const std::string text = keel::graph_to_dot(g);
  INFO(text);
  CHECK(text.rfind("digraph", 0) == 0);
  CHECK(text.find(R"(label="say \"hi\"")") != std::string::npos);

  Dot d = read_dot(text);
  std::map<std::string, DotVertex> by_label;
  for (auto& [id, v] : d.vertices) by_label[v.label] = v;
  REQUIRE(by_label.size() == 7);

  CHECK(by_label.at("x\\nf32 [batch, 4]").shape == "ellipse");
  CHECK(by_label.at("w\\nf32 [4, 4]").shape == "ellipse");
  // One colour per plugin: nn's ops share one, the fixtures plugin gets the next.
  CHECK(by_label.at("h\\nmatmul").shape == "box");
  CHECK(by_label.at("h\\nmatmul").fill == "#a6cee3");
  CHECK(by_label.at("r\\nrelu").fill == "#a6cee3");
  CHECK(by_label.at("s\\nsplit").fill == "#b2df8a");
  CHECK(by_label.at("r").peripheries == "2");
  CHECK(by_label.at("s.first").peripheries == "2");

  using E = std::tuple<std::string, std::string, std::string>;
  std::set<E> expected = {
      {"x\\nf32 [batch, 4]", "h\\nmatmul", ""},
      {"w\\nf32 [4, 4]", "h\\nmatmul", ""},
      {"h\\nmatmul", "s\\nsplit", ""},
      {"s\\nsplit", "r\\nrelu", "second"},
      {"r\\nrelu", "r", ""},
      {"s\\nsplit", "s.first", ""},
  };
  CHECK(d.edges == expected);
}
