// graph/yaml_tree against yaml-cpp's own YAML::Load, which builds the same
// document as a tree of YAML::Node: every node must agree in kind, text,
// quoting, position and children, and aliases must resolve to the node their
// anchor names.
#include "graph/yaml_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "files.hpp"

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
