// The keys of each mapping of a graph file, as the parser (keel validate),
// --set and keel schema each see them, must be the same: one table feeds
// all three (graph/format_keys.hpp). Each side is asked through its own
// behaviour: the schema's JSON is read by Python, the parser's allowed keys
// come from its error for a key it does not know.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

// What keel schema says of one mapping.
struct Place {
  std::vector<std::string> required, keys;
  bool closed = true;
};

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (std::size_t b = 0;;) {
    const std::size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) return out;
    b = e + sep.size();
  }
}

std::map<std::string, Place> schema_places(const TempDir& dir) {
  ProcessResult s = run_keel({"schema"});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  const fs::path file = dir.write("graph.schema.json", s.out);
  ProcessResult r = run_process(
      {"/usr/bin/python3", std::string(KEEL_SOURCE_DIR) + "/tests/cli/schema_keys.py", file.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, Place> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto f = split(line, "|");
    REQUIRE(f.size() == 4);
    out[f[0]] = {split(f[1], ","), split(f[2], ","), f[3] == "closed"};
  }
  REQUIRE(out.size() == 11);
  return out;
}

// A training graph that keel validate accepts, written in block style so
// that a key can be added or taken out line by line. `@PLACE@` is where a
// probe key goes into a mapping; `<PLACE:KEY|TEXT>` is a required key that
// may be left out.
const char* kGraph = R"(<top:keel|keel: 1
>@top@
inputs:
  x:
    @input@
    <input:dtype|dtype: f32
    ><input:shape|shape: [batch, 4]
    >
  y: {dtype: i32, shape: [batch]}
<top:nodes|nodes:
  - @node@
    <node:name|name: fc
    ><node:op|op: linear
    >inputs: [x]
    attrs: {units: 3}
  - {name: loss, op: softmax_cross_entropy, inputs: [fc, y]}
><top:outputs|outputs: [fc]
>train:
  @train@
  <train:loss|loss: loss
  ><train:data|data:
    @train.data@
    npy: {x: x.npy, y: y.npy}
    holdout:
      @train.data.holdout@
      npy: {x: hx.npy, y: hy.npy}
  >optimizer:
    @train.optimizer@
    op: sgd
    schedule:
      @train.optimizer.schedule@
      kind: constant
  checkpoint:
    @train.checkpoint@
    <train.checkpoint:path|path: c.ckpt
    >encrypt:
      @train.checkpoint.encrypt@
      passphrase_env: KEEL_FORMAT_TEST_PASSPHRASE
  distributed:
    @train.distributed@
    sync_batchnorm: false
)";

// `g` (kGraph or a part of it) with `probe` (a line) at `probe_place` and
// without the required key `drop` ("PLACE:KEY"). Tags nest.
std::string render(const std::string& g, const std::string& probe_place, const std::string& probe,
                   const std::string& drop) {
  std::string out;
  for (std::size_t i = 0; i < g.size();) {
    if (g[i] == '@') {
      const std::size_t e = g.find('@', i + 1);
      if (g.substr(i + 1, e - i - 1) == probe_place) out += probe;
      i = e + 1;
    } else if (g[i] == '<') {
      const std::size_t bar = g.find('|', i);
      std::size_t e = bar + 1;
      for (int depth = 1; depth > 0; ++e) depth += g[e] == '<' ? 1 : g[e] == '>' ? -1 : 0;
      if (g.substr(i + 1, bar - i - 1) != drop)
        out += render(g.substr(bar + 1, e - bar - 2), probe_place, probe, drop);
      i = e;
    } else {
      out += g[i++];
    }
  }
  return out;
}

std::string graph(const std::string& probe_place = "", const std::string& probe = "",
                  const std::string& drop = "") {
  return render(kGraph, probe_place, probe, drop);
}

// The keys listed by an unknown-key error's "(allowed: a, b, c)".
std::set<std::string> allowed_keys(const std::string& message) {
  const std::string mark = "(allowed: ";
  const auto b = message.find(mark);
  if (b == std::string::npos) return {};
  const auto e = message.find(')', b);
  const auto keys = split(message.substr(b + mark.size(), e - b - mark.size()), ", ");
  return {keys.begin(), keys.end()};
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// A key no mapping has and none is near, so the parser lists every key.
const std::string kProbe = "zzzqqq";

}  // namespace

TEST_CASE("the parser accepts in each mapping exactly the keys keel schema lists") {
  TempDir dir;
  const auto places = schema_places(dir);
  ProcessResult base = run_keel({"validate", dir.write("base.yaml", graph()).string()});
  INFO(base.err);
  REQUIRE(base.exit_code == 0);

  for (const auto& [place, p] : places) {
    INFO("mapping " << place);
    if (!p.closed) continue;  // the optimizer: below
    const fs::path g = dir.write("probe.yaml", graph(place, kProbe + ": 1"));
    ProcessResult r = run_keel({"validate", g.string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line().find("unknown key '" + kProbe + "'") != std::string::npos);
    CHECK(allowed_keys(r.first_err_line()) == as_set(p.keys));
  }
}

TEST_CASE("the optimizer's own keys are the schema's; any other key is an attribute of its op") {
  TempDir dir;
  const auto places = schema_places(dir);
  const Place& opt = places.at("train.optimizer");
  CHECK_FALSE(opt.closed);
  for (const std::string& key : opt.keys) {
    // A sequence of sequences is no value of any section key, and an
    // attribute would be refused as "attribute 'KEY' must be a scalar...".
    const fs::path g = dir.write("opt.yaml", graph("train.optimizer", key + ": [[1]]"));
    ProcessResult r = run_keel({"validate", g.string()});
    INFO(key << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line().find("'" + key + "' must be") != std::string::npos);
  }
  ProcessResult r =
      run_keel({"validate", dir.write("attr.yaml", graph("train.optimizer", kProbe + ": 1")).string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("unknown attribute '" + kProbe + "' for op 'sgd'") != std::string::npos);
}

TEST_CASE("the parser requires the keys keel schema requires") {
  TempDir dir;
  const auto places = schema_places(dir);
  std::size_t checked = 0;
  for (const auto& [place, p] : places)
    for (const std::string& key : p.required) {
      const fs::path g = dir.write("drop.yaml", graph("", "", place + ":" + key));
      ProcessResult r = run_keel({"validate", g.string()});
      INFO(place << " without " << key << ": " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.first_err_line().find("'" + key + ":'") != std::string::npos);
      ++checked;
    }
  // keel, nodes, outputs; dtype, shape; name, op; data; path. train.loss is
  // required unless train.phases is given: the schema's oneOf, checked below.
  CHECK(checked == 9);
  const fs::path no_loss = dir.write("no_loss.yaml", graph("", "", "train:loss"));
  ProcessResult r = run_keel({"validate", no_loss.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("needs 'loss:' (the node whose output is minimized) or 'phases:'") !=
        std::string::npos);
  // And what the schema leaves optional, the base graph leaves out.
  CHECK(run_keel({"validate", dir.write("base.yaml", graph()).string()}).exit_code == 0);
}

TEST_CASE("keel validate --set reaches, key by key, the mappings of train: whose keys keel schema lists") {
  TempDir dir;
  const auto places = schema_places(dir);
  const fs::path g = dir.write("base.yaml", graph());

  // The settable mappings, as --set lists them for a path it cannot reach.
  ProcessResult r = run_keel({"validate", g.string(), "--set", "train.data.holdout.csv=x.csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 2);
  const std::string line = r.first_err_line();
  const auto b = line.find("(keys: ");
  REQUIRE(b != std::string::npos);
  const auto paths = split(line.substr(b + 7, line.find(')', b) - b - 7), ", ");
  CHECK(paths.size() == 6);
  for (const std::string& path : paths) {
    REQUIRE(path.size() > 4);
    REQUIRE(path.substr(path.size() - 4) == ".KEY");
    const std::string prefix = path.substr(0, path.size() - 3);  // "train.data."
    const std::string place = prefix.substr(0, prefix.size() - 1);
    INFO("--set " << prefix << "KEY");
    REQUIRE(places.count(place) == 1);
    const Place& p = places.at(place);
    ProcessResult u = run_keel({"validate", g.string(), "--set", prefix + kProbe + "=1"});
    INFO(u.err);
    CHECK(u.exit_code == 2);
    if (p.closed)
      CHECK(allowed_keys(u.first_err_line()) == as_set(p.keys));
    else
      CHECK(u.first_err_line().find("unknown attribute '" + kProbe + "'") != std::string::npos);
    for (const std::string& key : p.keys) {
      ProcessResult k = run_keel({"validate", g.string(), "--set", prefix + key + "=[[1]]"});
      INFO(key << ": " << k.err);
      CHECK(k.exit_code == 2);  // no key of the format takes a list of lists
      CHECK(k.first_err_line().find("unknown key") == std::string::npos);
      CHECK(k.first_err_line().find("not a training key") == std::string::npos);
    }
  }
}

TEST_CASE("keel schema's initializer pattern accepts what the parser accepts") {
  TempDir dir;
  ProcessResult s = run_keel({"schema"});
  REQUIRE(s.exit_code == 0);
  const fs::path schema = dir.write("graph.schema.json", s.out);
  // Every initializer with and without numbers, and near misses; none that
  // only the planner would refuse.
  const std::vector<std::string> texts = {
      "zeros",        "ones",          "constant(0.5)", "normal",
      "normal(0.01)", "normal (0.01)", "uniform",       "uniform(-0.1, 0.1)",
      "xavier",       "xavier_normal", "kaiming",       "kaiming_normal",
      "constant",     "zeros(1)",      "uniform(1)",    "normal(1, 2)",
      "gaussian",     "Zeros",         "xavier()"};
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(KEEL_SOURCE_DIR) + "/tests/cli/schema_keys.py",
                                   schema.string(), "--initializers"};
  argv.insert(argv.end(), texts.begin(), texts.end());
  ProcessResult r = run_process(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::size_t accepted = 0;
  for (const std::string& text : texts) {
    std::string line;
    REQUIRE(std::getline(lines, line));
    REQUIRE(line.rfind(text + "|", 0) == 0);
    const bool schema_accepts = line.substr(text.size() + 1) == "yes";
    const std::string g = graph();
    const std::string node = "    attrs: {units: 3}\n";
    std::string with_init = g;
    with_init.replace(g.find(node), node.size(), node + "    init: {weight: \"" + text + "\"}\n");
    ProcessResult v = run_keel({"validate", dir.write("init.yaml", with_init).string()});
    INFO(text << ": " << v.err);
    CHECK((v.exit_code == 0) == schema_accepts);
    accepted += schema_accepts;
  }
  CHECK(accepted == 12);
}
