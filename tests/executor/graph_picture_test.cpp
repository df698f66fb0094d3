// `keel graph`: DOT coloured by plugin with training-only nodes marked, and
// SVG/PNG through Graphviz when its `dot` is installed (a clear usage error
// when it is not).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kFlagship = std::string(KEEL_SOURCE_DIR) + "/graphs/digits_train.yaml";

// The attribute list of the vertex whose label starts with `name\n`.
std::string vertex(const std::string& dot, const std::string& name) {
  std::smatch m;
  const std::regex re("\\n\\d+\\[([^\\n]*label=\"" + name + "\\\\n[^\\n]*)\\];");
  return std::regex_search(dot, m, re) ? m[1].str() : "";
}

std::string fill(const std::string& attrs) {
  std::smatch m;
  return std::regex_search(attrs, m, std::regex(R"(fillcolor="([^"]*)\")")) ? m[1].str() : "";
}

bool graphviz_installed() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("keel graph colours nodes by plugin and marks the training-only nodes") {
  auto r = run_keel({"graph", kFlagship});
  REQUIRE(r.exit_code == 0);
  const std::string& dot = r.out;
  // Ops by plugin (linear, relu: nn; batchnorm: batchnorm; residual:
  // residual): same plugin, same colour; different plugins, different ones.
  const auto fc1 = vertex(dot, "fc1"), fc2 = vertex(dot, "fc2"), act1 = vertex(dot, "act1"),
             bn1 = vertex(dot, "bn1"), bn2 = vertex(dot, "bn2"), res = vertex(dot, "res"),
             loss = vertex(dot, "loss");
  REQUIRE_FALSE(fc1.empty());
  REQUIRE_FALSE(bn1.empty());
  REQUIRE_FALSE(loss.empty());
  CHECK(fill(fc1) == fill(fc2));
  CHECK(fill(fc1) == fill(act1));
  CHECK(fill(bn1) == fill(bn2));
  CHECK(fill(fc1) != fill(bn1));
  CHECK(fill(res) != fill(fc1));
  CHECK(fill(res) != fill(bn1));
  // The legend names every plugin in its colour.
  for (const auto& [plugin, colour] : {std::pair{std::string("nn"), fill(fc1)}, {"batchnorm", fill(bn1)}})
    CHECK(dot.find("fillcolor=\"" + colour + "\", label=\"" + plugin + "\"") != std::string::npos);
  // The loss feeds no output: training only. The optimizer is drawn too.
  CHECK(loss.find("dashed") != std::string::npos);
  CHECK(loss.find("(training only)") != std::string::npos);
  for (const auto& v : {fc1, bn1, res}) CHECK(v.find("dashed") == std::string::npos);
  CHECK(std::regex_search(dot, std::regex(R"re(label="optimizer\\nsgd\\n\(training only\)")re")));
}

TEST_CASE("keel graph of a graph without a train section marks nothing as training only") {
  auto r = run_keel({"graph", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_infer.yaml"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("training only") == std::string::npos);
  CHECK(r.out.find("optimizer") == std::string::npos);
}

TEST_CASE("keel graph renders SVG and PNG through Graphviz") {
  if (!graphviz_installed()) {
    WARN("Graphviz's dot is not installed: rendering not checked (scripts/setup installs it)");
    return;
  }
  TempDir dir;
  auto svg = run_keel({"graph", kFlagship, "--format", "svg"});
  REQUIRE(svg.exit_code == 0);
  CHECK(svg.out.find("<svg") != std::string::npos);
  CHECK(svg.out.find("bn1") != std::string::npos);
  auto png = run_keel({"graph", kFlagship, "--format", "png", "-o", (dir / "g.png").string()});
  REQUIRE(png.exit_code == 0);
  std::ifstream f(dir / "g.png", std::ios::binary);
  std::string magic(8, '\0');
  f.read(magic.data(), 8);
  CHECK(magic == std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_CASE("keel graph --format svg without Graphviz is a usage error naming Graphviz") {
  TempDir dir;
  fs::create_directories(dir / "empty-path");
  auto r = run_keel({"graph", kFlagship, "--format", "svg"}, {{"PATH", (dir / "empty-path").string()}});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().rfind("keel: error: --format svg needs Graphviz's 'dot'", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
  CHECK(r.out.empty());
}

TEST_CASE("keel graph refuses an unknown format and an unwritable output") {
  auto bad = run_keel({"graph", kFlagship, "--format", "pdf"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.first_err_line().find("--format 'pdf' is not supported") != std::string::npos);
  TempDir dir;
  auto out = run_keel({"graph", kFlagship, "-o", (dir / "missing" / "g.dot").string()});
  CHECK(out.exit_code == 1);
  CHECK(out.first_err_line().rfind("keel: error: ", 0) == 0);
  CHECK_FALSE(fs::exists(dir / "missing"));
}
