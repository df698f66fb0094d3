// graph/yaml_tree against yaml-cpp's own YAML::Load, which builds the same
// document as a tree of YAML::Node: every node must agree in kind, text,
// quoting, position and children, and aliases must resolve to the node their
// anchor names.
#include "graph/yaml_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "files.hpp"
#include "graph/yaml_split.hpp"

namespace {

using keel::yaml::Kind;
using keel::yaml::Tree;

Kind kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return Kind::map;
    case YAML::NodeType::Sequence:
      return Kind::sequence;
    case YAML::NodeType::Scalar:
      return Kind::scalar;
    default:
      return Kind::null;
  }
}

// Compares two trees node by node, to `depth` levels (an alias can make a
// tree cyclic); counts the nodes compared.
void same(const keel::yaml::Node& ours, const YAML::Node& ref, int depth, std::size_t& count) {
  ++count;
  INFO("node at " << ref.Mark().line + 1 << ":" << ref.Mark().column + 1);
  REQUIRE(ours.kind() == kind_of(ref));
  CHECK(ours.mark().line == ref.Mark().line + 1);
  CHECK(ours.mark().col == ref.Mark().column + 1);
  if (ref.IsScalar()) {
    CHECK(ours.scalar() == ref.Scalar());
    CHECK(ours.quoted() == (ref.Tag() == "!" || ref.Tag() == "tag:yaml.org,2002:str"));
  }
  if (depth == 0) return;
  if (ref.IsSequence()) {
    REQUIRE(ours.size() == ref.size());
    std::size_t i = 0;
    for (const YAML::Node& item : ref) same(ours.item(i++), item, depth - 1, count);
  } else if (ref.IsMap()) {
    REQUIRE(ours.size() == ref.size());
    std::size_t i = 0;
    for (auto it = ref.begin(); it != ref.end(); ++it, ++i) {
      same(ours.key(i), it->first, depth - 1, count);
      same(ours.value(i), it->second, depth - 1, count);
    }
  }
}

std::size_t check_against_load(const std::string& text, int depth = 64) {
  const Tree tree(text, "t.yaml");
  const YAML::Node ref = YAML::Load(text);
  std::size_t count = 0;
  REQUIRE(tree.has_root());
  same(tree.root(), ref, depth, count);
  return count;
}

}  // namespace

TEST_CASE("the yaml tree of every shipped and test graph matches YAML::Load") {
  const std::filesystem::path root(KEEL_SOURCE_DIR);
  int files = 0;
  for (const auto* dir : {"graphs", "tests/data/good_graphs"})
    for (const auto& f : std::filesystem::directory_iterator(root / dir))
      if (f.path().extension() == ".yaml") {
        INFO(f.path());
        CHECK(check_against_load(keel::test::slurp(f.path())) > 10);
        ++files;
      }
  CHECK(files >= 8);
}

TEST_CASE("the yaml tree keeps scalars' quoting, tags, nulls and block text as YAML::Load does") {
  check_against_load(R"(plain: 1
single: '1'
double: "a\tb\u00e9"
str: !!str 2
nonspecific: ! 3
int: !!int 4
nulls: [~, null, Null, , '']
empty:
block: |
  line one
    indented
folded: >
  a
  b
? explicit key
: value
{flow: map}: as a key
[flow, seq]: as a key
nested: [{a: [1, {b: c}]}, [], {}]
)");
}

TEST_CASE("an alias is the node its anchor names, with the anchor's position") {
  const std::string text = "a: &x {b: [1, 2]}\nc: *x\nd: &s 'q'\ne: [*s, *s]\nf: &x 3\ng: *x\n";
  check_against_load(text);
  const Tree tree(text, "t.yaml");
  const auto top = tree.root();
  CHECK(top.value(1).mark().line == 1);  // c: the anchored mapping on line 1
  CHECK(top.value(1).value(0).item(1).scalar() == "2");
  CHECK(top.value(3).item(1).quoted());  // e: the quoted scalar d names
  CHECK(top.value(5).scalar() == "3");   // g: a redefined anchor names the later node
}

TEST_CASE("a cyclic alias makes a cyclic tree, walked as deep as one likes") {
  const std::string text = "&a [x, *a]\n";
  check_against_load(text, 50);
  const Tree tree(text, "t.yaml");
  auto n = tree.root();
  for (int i = 0; i < 1000; ++i) n = n.item(1);
  CHECK(n.item(0).scalar() == "x");
}

TEST_CASE("the yaml tree stores long and many scalars across its blocks") {
  // Scalars longer than a 64 KiB text block, others that end a block, and
  // more nodes and children than one array block holds.
  std::string text =
      "long: " + std::string(200'000, 'a') + "\nexact: " + std::string(65'536, 'b') + "\nitems:\n";
  for (int i = 0; i < 30'000; ++i)
    text += "  - " + std::string(std::size_t(1 + i % 97), char('c' + i % 20)) + "\n";
  text += "after: " + std::string(70'000, 'z') + "\nlast: end\n";
  CHECK(check_against_load(text) > 30'000);
}

TEST_CASE("the yaml tree counts documents and tells an empty one") {
  CHECK_FALSE(Tree("", "t.yaml").has_root());
  CHECK_FALSE(Tree("# only a comment\n", "t.yaml").has_root());
  CHECK_FALSE(Tree("---\n...\n", "t.yaml").has_root());
  const Tree one("a: 1\n", "t.yaml");
  CHECK(one.has_root());
  CHECK_FALSE(one.has_second_document());
  const Tree two("a: 1\n---\nb: 2\n", "t.yaml");
  CHECK(two.has_second_document());
  CHECK(two.second_document().line == 3);
  CHECK(two.root().key(0).scalar() == "a");
}

TEST_CASE("the yaml tree reports yaml-cpp's syntax errors at their position") {
  try {
    Tree("a: [1, 2\nb: 3\n", "bad.yaml");
    FAIL("accepted");
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK(e.loc().file == "bad.yaml");
    CHECK(e.message().rfind("not valid YAML: ", 0) == 0);
    CHECK(e.loc().line >= 2);
  }
}

namespace {

// A graph file of `count` one-line nodes after `before` (more items of the
// sequence), with `line(i)` the i-th node's line: large enough to be read
// by two parsers at once (graph/yaml_split.hpp).
std::string large_graph(int count, const std::string& before, const std::function<std::string(int)>& line,
                        const std::string& after = "outputs: [n1]\n") {
  std::string text = "keel: 1\nname: big\ninputs:\n  x: {dtype: f32, shape: [batch, 16]}\nnodes:\n" + before;
  for (int i = 0; i < count; ++i) text += line(i);
  return text + after;
}

std::string relu_line(int i) { return "  - {name: n" + std::to_string(i) + ", op: relu, inputs: [x]}\n"; }

// What yaml-cpp's YAML::Load says of a text it refuses, as the tree words it.
std::string load_error(const std::string& text) {
  try {
    YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return "not valid YAML: " + e.msg + " at " + std::to_string(e.mark.line + 1) + ":" +
           std::to_string(e.mark.column + 1);
  }
  return "accepted";
}

std::string tree_error(const std::string& text) {
  try {
    Tree(text, "big.yaml");
  } catch (const keel::Error& e) {
    return e.message() + " at " + std::to_string(e.loc().line) + ":" + std::to_string(e.loc().col);
  }
  return "accepted";
}

}  // namespace

TEST_CASE("a large graph file read by two parsers at once matches YAML::Load") {
  const std::string nested = "  - {name: n, op: scale, inputs: [x], attrs: {factor: 0.5, axes: [1, -2]}}\n";
  const std::string block = "  - name: first\n    op: relu\n    inputs: [x]\n";
  // Each shape that may be split, and those that may be only in part.
  const std::vector<std::pair<const char*, std::string>> files = {
      {"one-line nodes", large_graph(30'000, "", relu_line)},
      {"block nodes, then one-line nodes with nested flow collections",
       large_graph(30'000, block, [&](int i) { return i % 2 ? nested : relu_line(i); })},
      {"items at column 0, a comment and a blank line among them",
       large_graph(30'000, "", [](int i) { return (i == 9'000 ? "# x\n\n" : "") + relu_line(i).substr(2); })},
      {"keys with colons, empty values, nodes last in the file without a final newline",
       [] {
         std::string text = large_graph(
             30'000, "", [](int) { return std::string("  - {name: , op: a:b, k:v, inputs: []}\n"); }, "");
         text.pop_back();
         return text;
       }()},
  };
  for (const auto& [what, text] : files) {
    INFO(what);
    CHECK(text.size() > (std::size_t{1} << 20));  // large enough to be split
    CHECK(keel::yaml::find_tail_split(text, 10'000).has_value());
    CHECK(check_against_load(text) > 30'000);
  }
}

TEST_CASE("a large graph file's syntax errors are reported as YAML::Load reports them, wherever they are") {
  auto broken_at = [](int at, const std::string& bad) {
    return large_graph(30'000, "", [&](int i) { return i == at ? bad : relu_line(i); });
  };
  for (const std::string& text :
       {broken_at(25'000, "  - {name: a: : b}\n"), broken_at(100, "  - {name: a: : b}\n"),
        broken_at(25'000, "  - {name: a, inputs: [x}\n"), broken_at(25'000, "   - {name: a}\n"),
        large_graph(30'000, "", relu_line, "outputs: [n1\n")}) {
    const std::string expected = load_error(text);
    INFO(expected);
    CHECK(expected != "accepted");
    CHECK(tree_error(text) == expected);
  }
}
