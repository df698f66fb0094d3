// `keel plugins` and `keel graph`: what the runner says about what it found.
#include <catch2/catch.hpp>

#include "cli_util.hpp"

using namespace keel::test;

TEST_CASE("keel plugins lists the bundled nn plugin and its ops") {
  auto r = run_keel({"plugins"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("nn 1.0.0") != std::string::npos);
  for (const char* op : {"add", "mul", "scale", "relu", "matmul"})
    CHECK(r.out.find(std::string("\n  ") + op + " ") != std::string::npos);
}

TEST_CASE("keel plugins OP shows the op's ports and typed attributes with defaults") {
  auto r = run_keel({"plugins", "scale"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("scale  (plugin nn 1.0.0)") != std::string::npos);
  CHECK(r.out.find("factor: float = 1") != std::string::npos);
  CHECK(r.out.find("backward: yes") != std::string::npos);
  CHECK(r.out.find("in place: yes") != std::string::npos);
  // linear's output has another shape than its input: never in place.
  auto linear = run_keel({"plugins", "linear"});
  CHECK(linear.exit_code == 0);
  CHECK(linear.out.find("in place") == std::string::npos);
  auto bad = run_keel({"plugins", "scael"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.first_err_line().find("did you mean 'scale'") != std::string::npos);
}

TEST_CASE("keel plugins --json is valid JSON with every op's schema") {
  auto r = run_keel({"plugins", "--json"});
  REQUIRE(r.exit_code == 0);
  TempDir dir;
  auto file = dir.write("plugins.json", r.out);
  // Python's json module is the independent parser.
  auto check = run_process({"/usr/bin/python3", "-c",
                            "import json,sys\n"
                            "d=json.load(open(sys.argv[1]))\n"
                            "nn=[p for p in d['plugins'] if p['name']=='nn'][0]\n"
                            "ops={o['name']:o for o in nn['ops']}\n"
                            "assert set(ops)>={'add','mul','scale','relu','matmul'}, ops\n"
                            "a=[a for a in ops['scale']['attrs'] if a['name']=='factor'][0]\n"
                            "assert a['type']=='float' and a['default']==1.0 and not a['required'], a\n"
                            "assert [p['name'] for p in ops['matmul']['inputs']]==['a','b']\n",
                            file.string()});
  INFO(check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("a plugin folder named by KEEL_PLUGIN_PATH is searched") {
  auto without = run_keel({"plugins"});
  CHECK(without.out.find("faulty") == std::string::npos);
  auto with =
      run_keel({"plugins"}, {{"KEEL_PLUGIN_PATH", std::string("/nonexistent:") + KEEL_FAULTY_PLUGIN_DIR}});
  INFO(with.err);
  REQUIRE(with.exit_code == 0);
  CHECK(with.out.find("faulty 0.1.0") != std::string::npos);
  CHECK(with.out.find("fault ") != std::string::npos);
}

TEST_CASE("keel graph prints the DAG for Graphviz") {
  auto r = run_keel({"graph", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_templates.yaml"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("digraph", 0) == 0);
  for (const char* name : {"unit", "match", "scores", "pixels", "templates"})
    CHECK(r.out.find(name) != std::string::npos);
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    TempDir dir;
    auto file = dir.write("g.dot", r.out);
    CHECK(run_process({"/bin/sh", "-c", "dot -Tsvg '" + file.string() + "' >/dev/null"}).exit_code == 0);
  }
}
