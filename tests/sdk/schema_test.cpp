// keel schema: a JSON Schema for graph files, checked with an independent
// validator (Python's jsonschema, draft 2020-12) against every bundled
// graph, and against a graph with a misspelled attribute.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "sdk_util.hpp"

namespace fs = std::filesystem;
using namespace keel::test;

namespace {

ProcessResult validate(const fs::path& schema, const std::vector<std::string>& graphs) {
  std::vector<std::string> argv{
      "/usr/bin/python3", std::string(KEEL_SOURCE_DIR) + "/tests/sdk/validate_graphs.py", schema.string()};
  argv.insert(argv.end(), graphs.begin(), graphs.end());
  return run_process(argv);
}

fs::path write_schema(const TempDir& dir) {
  ProcessResult r = run_keel({"schema"});
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  return dir.write("graph.schema.json", r.out);
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("every bundled graph validates against keel schema") {
  TempDir dir;
  const fs::path schema = write_schema(dir);
  std::vector<std::string> graphs;
  for (const auto& e : fs::directory_iterator(fs::path(KEEL_SOURCE_DIR) / "graphs"))
    if (e.path().extension() == ".yaml") graphs.push_back(e.path().string());
  REQUIRE(graphs.size() >= 5);
  ProcessResult r = validate(schema, graphs);
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  for (const auto& g : graphs) CHECK(r.out.find(g + ": valid") != std::string::npos);
}

TEST_CASE("keel schema rejects a misspelled attribute, as keel validate does") {
  TempDir dir;
  const fs::path schema = write_schema(dir);
  std::string graph = read(fs::path(KEEL_SOURCE_DIR) / "graphs/digits_templates.yaml");
  const auto at = graph.find("factor:");
  REQUIRE(at != std::string::npos);
  graph.replace(at, 7, "factr:");
  const fs::path bad = dir.write("misspelled.yaml", graph);

  ProcessResult r = validate(schema, {bad.string()});
  INFO(describe(r));
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("'factr' was unexpected") != std::string::npos);

  ProcessResult v = run_keel({"validate", bad.string()});
  CHECK(v.exit_code == 2);
  CHECK(v.first_err_line().find("unknown attribute 'factr'") != std::string::npos);

  // The optimizer's attributes in a train: section are checked the same way.
  std::string train = read(fs::path(KEEL_SOURCE_DIR) / "graphs/digits_train.yaml");
  const auto m = train.find("momentum:");
  REQUIRE(m != std::string::npos);
  train.replace(m, 9, "momentun:");
  ProcessResult t = validate(schema, {dir.write("misspelled_train.yaml", train).string()});
  INFO(describe(t));
  CHECK(t.exit_code == 1);
  CHECK(t.out.find("'momentun' was unexpected") != std::string::npos);
}

TEST_CASE("keel schema rules out what the op schemas rule out") {
  TempDir dir;
  const fs::path schema = write_schema(dir);
  const std::string head = "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\noutputs: [y]\nnodes:\n";
  const std::pair<const char*, const char*> cases[] = {
      {"  - {name: y, op: linear, inputs: [x]}\n", "'attrs' is a required property"},  // units is required
      {"  - {name: y, op: linear, inputs: [x], attrs: {units: 0}}\n", "0 is less than the minimum of 1"},
      {"  - {name: y, op: linear, inputs: [x], attrs: {units: many}}\n", "'many' is not of type 'integer'"},
      {"  - {name: y, op: relu, inputs: [x, x]}\n", "is too long"},
      {"  - {name: y, op: residual, inputs: [x, x], attrs: {gain: sometimes}}\n",
       "'sometimes' is not one of"},
      {"  - {name: y, op: relux, inputs: [x]}\n", "'relux' is not one of"},
  };
  int i = 0;
  for (const auto& [node, message] : cases) {
    const fs::path g = dir.write("case" + std::to_string(i++) + ".yaml", head + node);
    ProcessResult r = validate(schema, {g.string()});
    INFO(node << describe(r));
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(message) != std::string::npos);
  }
}

TEST_CASE("keel schema accepts the data and init keys keel validate accepts, and refuses what it refuses") {
  TempDir dir;
  const fs::path schema = write_schema(dir);
  const std::string head =
      "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n  y: {dtype: i32, shape: [batch]}\n"
      "outputs: [fc]\nnodes:\n";
  const std::string loss = "  - {name: loss, op: softmax_cross_entropy, inputs: [fc, y]}\n";
  const std::string train = "train:\n  loss: loss\n  data: {csv: [d.csv], columns: {x: \"a:d\", y: label}, ";
  const std::string good = head +
                           "  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}, init: {weight: "
                           "normal(0.01), bias: zeros}}\n" +
                           loss + train + "header: true, drop_last: false, holdout: {csv: [h.csv]}}\n";
  const fs::path ok = dir.write("good.yaml", good);
  ProcessResult r = validate(schema, {ok.string()});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  ProcessResult v = run_keel({"validate", ok.string()});
  INFO(v.err);
  CHECK(v.exit_code == 0);

  const std::pair<std::string, const char*> cases[] = {
      {head + "  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}, init: {wieght: zeros}}\n" + loss +
           train + "holdout: 0.2}\n",
       "'wieght' is not one of"},
      {head + "  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}, init: {weight: gaussian}}\n" +
           loss + train + "holdout: 0.2}\n",
       "does not match"},
      {head + "  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}}\n" + loss + train +
           "drop_last: 1}\n",
       "is not of type 'boolean'"},
      {head + "  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}}\n" + loss + train +
           "holdout: {tsv: [h.tsv]}}\n",
       "is not valid under any of the given schemas"},
  };
  int i = 0;
  for (const auto& [text, message] : cases) {
    const fs::path g = dir.write("bad" + std::to_string(i++) + ".yaml", text);
    ProcessResult b = validate(schema, {g.string()});
    INFO(text << describe(b));
    CHECK(b.exit_code == 1);
    CHECK(b.out.find(message) != std::string::npos);
    CHECK(run_keel({"validate", g.string()}).exit_code == 2);
  }
}
