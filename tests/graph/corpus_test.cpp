// Every file under tests/data/bad_graphs names, on its first line, the
// position and a fragment of the one error it must produce:
//   # expect: LINE:COL: message fragment
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "test_registry.hpp"

namespace fs = std::filesystem;

namespace {

struct Expectation {
  int line = 0;
  int col = 0;
  std::string fragment;
};

Expectation read_expectation(const fs::path& file) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  const std::string prefix = "# expect: ";
  REQUIRE(first.rfind(prefix, 0) == 0);
  Expectation e;
  std::size_t colon1 = first.find(':', prefix.size());
  std::size_t colon2 = first.find(':', colon1 + 1);
  REQUIRE(colon2 != std::string::npos);
  e.line = std::stoi(first.substr(prefix.size(), colon1 - prefix.size()));
  e.col = std::stoi(first.substr(colon1 + 1, colon2 - colon1 - 1));
  e.fragment = first.substr(colon2 + 2);
  return e;
}

std::vector<fs::path> yaml_files(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

const fs::path kData = fs::path(KEEL_SOURCE_DIR) / "tests" / "data";

}  // namespace

TEST_CASE("every bad graph fails with its expected position and message") {
  auto files = yaml_files(kData / "bad_graphs");
  REQUIRE(files.size() >= 20);
  for (const fs::path& file : files) {
    INFO(file.string());
    Expectation expected = read_expectation(file);
    auto start = std::chrono::steady_clock::now();
    try {
      keel::validate_graph(keel::parse_graph_file(file), keel::test::graph_test_registry());
      FAIL_CHECK("no error was reported");
    } catch (const keel::Error& e) {
      INFO(e.format());
      CHECK(e.code() == keel::ExitCode::usage);
      CHECK(e.loc().file == file.string());
      CHECK(e.loc().line == expected.line);
      CHECK(e.loc().col == expected.col);
      CHECK(e.message().find(expected.fragment) != std::string::npos);
      CHECK(e.message().find('\n') == std::string::npos);
    }
    // Aliases and deep nesting must not cost more than plain text.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  }
}

TEST_CASE("the bad-graph corpus covers every error class") {
  std::set<std::string> present;
  for (const fs::path& file : yaml_files(kData / "bad_graphs")) present.insert(file.stem().string());
  for (const char* name : {"not_yaml",
                           "empty",
                           "top_not_mapping",
                           "missing_version",
                           "version_not_int",
                           "unsupported_version",
                           "unknown_top_key",
                           "unknown_node_key",
                           "unknown_input_key",
                           "duplicate_key",
                           "duplicate_node",
                           "node_shadows_input",
                           "nodes_not_sequence",
                           "missing_op",
                           "unknown_op",
                           "unknown_attr",
                           "attr_wrong_type",
                           "attr_out_of_range",
                           "attr_bad_choice",
                           "missing_required_attr",
                           "wrong_input_count",
                           "unresolved_input",
                           "unknown_port",
                           "bad_dtype",
                           "bad_dim",
                           "cycle",
                           "self_loop",
                           "unknown_output",
                           "alias_bomb",
                           "recursive_alias",
                           "deep_nesting",
                           "invalid_name",
                           "stray_comma",
                           "two_documents"}) {
    INFO(name);
    CHECK(present.count(name) == 1);
  }
}

TEST_CASE("the good graphs validate without warnings") {
  auto files = yaml_files(kData / "good_graphs");
  REQUIRE(files.size() >= 2);
  for (const fs::path& file : files) {
    INFO(file.string());
    keel::ValidatedGraph g =
        keel::validate_graph(keel::parse_graph_file(file), keel::test::graph_test_registry());
    CHECK(g.warnings.empty());
    CHECK(g.topo_order.size() == g.nodes.size());
  }
}
