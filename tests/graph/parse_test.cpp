#include "graph/parse.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "error_checks.hpp"
#include "files.hpp"
#include "graph/train_def.hpp"
#include "test_registry.hpp"

using keel::parse_graph_text;

namespace {

const char* kGraph = R"(keel: 1
name: demo
seed: 42
inputs:
  x: {dtype: i64, shape: [batch, 4, 0]}
nodes:
  - {name: h, op: fixture, inputs: [x], attrs: {count: 3, mode: 'exact', sizes: [1, 2]}}
  - name: g
    op: split
    inputs: [h.y]
outputs: [g.second, h]
)";

}  // namespace

TEST_CASE("a graph file parses into its elements with 1-based positions") {
  keel::GraphDef g = parse_graph_text(kGraph, "demo.yaml");
  CHECK(g.file == "demo.yaml");
  CHECK(g.version == 1);
  CHECK(g.name == "demo");
  CHECK(g.seed == 42);

  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "x");
  CHECK(g.inputs[0].dtype == keel::DType::i64);
  CHECK(g.inputs[0].loc.line == 5);
  CHECK(g.inputs[0].loc.col == 3);
  REQUIRE(g.inputs[0].shape.size() == 3);
  CHECK(g.inputs[0].shape[0].symbol == "batch");
  CHECK(g.inputs[0].shape[1].size == 4);
  CHECK(g.inputs[0].shape[2].size == 0);
  CHECK(g.inputs[0].shape[1].loc.col == 34);

  REQUIRE(g.nodes.size() == 2);
  const keel::NodeDef& h = g.nodes[0];
  CHECK(h.name == "h");
  CHECK(h.op == "fixture");
  CHECK(h.loc.line == 7);
  CHECK(h.loc.col == 5);
  CHECK(h.op_loc.col == 19);
  REQUIRE(h.inputs.size() == 1);
  CHECK(h.inputs[0].text() == "x");
  REQUIRE(h.attrs.size() == 3);
  CHECK_FALSE(h.attrs.at("count").is_list);
  CHECK(h.attrs.at("count").items == std::vector<std::string>{"3"});
  CHECK_FALSE(h.attrs.at("count").quoted);
  CHECK(h.attrs.at("mode").quoted);
  CHECK(h.attrs.at("mode").items == std::vector<std::string>{"exact"});
  CHECK(h.attrs.at("sizes").is_list);
  CHECK(h.attrs.at("sizes").items == std::vector<std::string>{"1", "2"});
  CHECK(h.attrs.at("sizes").item_locs[1].col == 85);

  const keel::NodeDef& gnode = g.nodes[1];
  CHECK(gnode.loc.line == 8);
  CHECK(gnode.op_loc.line == 9);
  CHECK(gnode.op_loc.col == 9);
  REQUIRE(gnode.inputs.size() == 1);
  CHECK(gnode.inputs[0].name == "h");
  CHECK(gnode.inputs[0].port == "y");

  REQUIRE(g.outputs.size() == 2);
  CHECK(g.outputs[0].name == "g");
  CHECK(g.outputs[0].port == "second");
  CHECK(g.outputs[0].loc.line == 11);
  CHECK(g.outputs[0].loc.col == 11);
  CHECK(g.outputs[1].text() == "h");
}

TEST_CASE("name and seed are optional, and the seed defaults to 0") {
  keel::GraphDef g =
      parse_graph_text("keel: 1\nnodes: [{name: a, op: relu, inputs: [a]}]\noutputs: [a]\n", "m");
  CHECK(g.name.empty());
  CHECK(g.seed == 0);
  CHECK(g.inputs.empty());
}

TEST_CASE("a graph file larger than 16 MiB is refused before parsing") {
  std::string huge(std::size_t(16) << 20, ' ');
  huge += "\n";
  try {
    parse_graph_text(huge, "huge.yaml");
    FAIL("accepted");
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK(e.message().find("larger than 16 MiB") != std::string::npos);
  }
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on these.
TEST_CASE("a stray comma after the top-level node is a syntax error, not a hang") {
  for (const char* text : {",", ", a", "[a]\n, b", "\"keel\" ,", "{keel: 1} ,\n"}) {
    INFO(text);
    try {
      parse_graph_text(text, "comma.yaml");
      FAIL("accepted");
    } catch (const keel::Error& e) {
      CHECK(e.message() == "not valid YAML: unexpected ','");
    }
  }
}

TEST_CASE("a megabyte-long unknown key is reported quickly, shortened") {
  std::string key(std::size_t(1) << 20, 'k');
  auto start = std::chrono::steady_clock::now();
  try {
    // An explicit key (`? key`): YAML caps implicit keys at 1024 characters.
    parse_graph_text("keel: 1\n? " + key + "\n: 1\n", "long.yaml");
    FAIL("accepted");
  } catch (const keel::Error& e) {
    CHECK(e.message().size() < 300);
    CHECK(e.message().rfind("unknown key 'kkk", 0) == 0);
    CHECK(e.loc().line == 2);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("a missing graph file is a usage error naming the file") {
  try {
    keel::parse_graph_file("/nonexistent/graph.yaml");
    FAIL("accepted");
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    CHECK(e.loc().file == "/nonexistent/graph.yaml");
  }
}

// Every prefix and many single-byte corruptions of a valid file: each must be
// accepted or rejected with a keel::Error, never anything else.
TEST_CASE("truncated and corrupted graph files fail cleanly") {
  const std::string text =
      keel::test::slurp(std::filesystem::path(KEEL_SOURCE_DIR) / "tests/data/good_graphs/mlp_named_dim.yaml");
  REQUIRE(text.size() > 100);
  const std::string replacements = "[]{}:,-&*!|>'\"#\t\n x.";
  std::size_t rejected = 0, accepted = 0;
  auto attempt = [&](const std::string& t) {
    try {
      keel::test::validate_text(t);
      ++accepted;
    } catch (const keel::Error& e) {
      CHECK(e.code() == keel::ExitCode::usage);
      ++rejected;
    }
  };
  for (std::size_t n = 0; n < text.size(); ++n) attempt(text.substr(0, n));
  for (std::size_t i = 0; i < text.size(); i += 3)
    for (char c : replacements) {
      std::string t = text;
      t[i] = c;
      attempt(t);
    }
  CHECK(rejected > 0);
  CHECK(accepted > 0);
}

namespace {

const std::string kTrainHead =
    "keel: 1\nnodes:\n  - {name: h, op: fixture, inputs: [x]}\noutputs: [h]\ntrain:\n  loss: h\n  data: ";

std::string parse_error(const std::string& text) {
  return keel::test::usage_error_of([&] { parse_graph_text(text, "t.yaml"); });
}

}  // namespace

TEST_CASE("train.data reads header, drop_last, named columns and a separate hold-out source") {
  const keel::GraphDef g = parse_graph_text(
      kTrainHead +
          "{csv: a.csv, columns: {x: \"mean radius:mean area\", y: target, z: \"0:3\"}, header: true, "
          "drop_last: false, holdout: {csv: [b.csv, c.csv]}}\n",
      "t.yaml");
  const keel::DataDef& d = g.train->data;
  REQUIRE(d.columns.size() == 3);
  CHECK(d.columns[0].first_name == "mean radius");
  CHECK(d.columns[0].last_name == "mean area");
  CHECK_FALSE(d.columns[0].single);
  CHECK(d.columns[1].first_name == "target");
  CHECK(d.columns[1].single);
  CHECK(d.columns[2].first_name.empty());
  CHECK(d.columns[2].count == 3);
  CHECK(d.header == true);
  CHECK(d.drop_last == false);
  REQUIRE(d.holdout_source);
  CHECK(d.holdout_source->csv == std::vector<std::string>{"b.csv", "c.csv"});
  const keel::GraphDef plain =
      parse_graph_text(kTrainHead + "{csv: a.csv, columns: {x: 0}, holdout: 0.25}\n", "t.yaml");
  CHECK_FALSE(plain.train->data.header.has_value());     // detected
  CHECK_FALSE(plain.train->data.drop_last.has_value());  // decided by the graph
  CHECK(plain.train->data.holdout == 0.25);

  CHECK(parse_error(kTrainHead + "{csv: a.csv, columns: {x: 0}, holdout: {npy: {x: x.npy}}}\n") ==
        "t.yaml:7:39: train.data.holdout must be the same kind of source as the training data (csv)");
  CHECK(parse_error(kTrainHead + "{csv: a.csv, columns: {x: 0}, holdout: {}}\n") ==
        "t.yaml:7:39: train.data.holdout needs a fraction, or exactly one of 'csv:' and 'npy:'");
  CHECK(parse_error(kTrainHead + "{csv: a.csv, columns: {x: \"a:\"}}\n") ==
        "t.yaml:7:35: columns of 'x': a name range is 'first name:last name'");
  CHECK(parse_error(kTrainHead + "{csv: a.csv, columns: {x: 0}, heder: true}\n") ==
        "t.yaml:7:39: unknown key 'heder' in train.data (did you mean 'header'?)");
}

TEST_CASE("a node's init: maps parameter names to initializers with checked arguments") {
  const std::string head = "keel: 1\nnodes:\n  - {name: h, op: fixture, inputs: [x], init: ";
  const keel::GraphDef g = parse_graph_text(
      head + "{w: zeros, v: \"uniform(-0.5, 0.5)\", u: normal(0.02), k: kaiming}}\noutputs: [h]\n", "t.yaml");
  const auto& init = g.nodes[0].init;
  REQUIRE(init.size() == 4);
  CHECK(init.at("w").kind == "zeros");
  CHECK(init.at("v").kind == "uniform");
  CHECK(init.at("v").args == std::vector<double>{-0.5, 0.5});
  CHECK(init.at("u").args == std::vector<double>{0.02});
  CHECK(init.at("k").args.empty());
  CHECK(init.at("w").name_loc.line == 3);
  CHECK(init.at("w").name_loc.col == 48);
  CHECK(parse_error(head + "{w: normal(0)}}\noutputs: [h]\n") ==
        "t.yaml:3:51: initializer 'normal(0)' for parameter 'w': the standard deviation must be positive");
  CHECK(parse_error(head + "{w: constant}}\noutputs: [h]\n") ==
        "t.yaml:3:51: initializer 'constant' for parameter 'w': expected one value: constant(v)");
  CHECK(parse_error(head + "{w: xavier(2)}}\noutputs: [h]\n") ==
        "t.yaml:3:51: initializer 'xavier(2)' for parameter 'w': 'xavier' takes no arguments");
  CHECK(parse_error(head + "{w: \"uniform(1)\"}}\noutputs: [h]\n") ==
        "t.yaml:3:51: initializer 'uniform(1)' for parameter 'w': expected 2 numbers");
}
