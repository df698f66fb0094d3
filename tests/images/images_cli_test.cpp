// `keel run` with a graph's `images:`: every pixel of DIR/NAME.png, decoded by
// PIL, against the output's .npy mapped as docs/graph-format.md says
// (tests/images/check_png_grid.py); refusals at the entry's line and column.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "cli_util.hpp"
#include "runtime/npy.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kChecker = std::string(KEEL_SOURCE_DIR) + "/tests/images/check_png_grid.py";

// Sigmoid samples as a generative model's decoder ends, and the raw input as
// [N, 1, 8, 8] drawn over [-1, 1], so values past the range are clamped.
const char* kGraph = R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 64]}
nodes:
  - {name: samples, op: sigmoid, inputs: [x]}
  - {name: cube, op: reshape, inputs: [x], attrs: {shape: [-1, 1, 8, 8]}}
outputs: [samples, cube]
images:
  samples: {height: 8, width: 8, range: [0, 1], scale: 4, columns: 10}
  cube: {range: [-1, 1], scale: 2}
)";

// 23 rows: three rows of the grid of 10, the last one part empty. Wide
// values, and NaN and infinities in row 0.
fs::path write_input(const TempDir& dir) {
  Tensor x = random_tensor({23, 64}, 7);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] *= 3;
  x.as<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  x.as<float>()[1] = std::numeric_limits<float>::infinity();
  x.as<float>()[2] = -std::numeric_limits<float>::infinity();
  const fs::path p = dir / "x.npy";
  write_npy(p, x);
  return p;
}

void check_png(const fs::path& out, const std::string& name, const std::vector<std::string>& settings) {
  std::vector<std::string> args = {(out / (name + ".png")).string(), (out / (name + ".npy")).string()};
  args.insert(args.end(), settings.begin(), settings.end());
  const ProcessResult r = run_python(kChecker, args);
  INFO(name << ": " << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "ok\n");
}

}  // namespace

TEST_CASE("keel run writes DIR/NAME.png beside DIR/NAME.npy for each output in images") {
  TempDir dir;
  const fs::path graph = dir.write("g.yaml", kGraph);
  const fs::path x = write_input(dir);
  const fs::path out = dir / "out";
  const ProcessResult r = run_keel({"run", graph.string(), "--input", "x=" + x.string(), "-o", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("wrote " + (out / "samples.png").string()) != std::string::npos);
  check_png(out, "samples", {"8", "8", "0", "1", "4", "10"});
  check_png(out, "cube", {"0", "0", "-1", "1", "2", "0"});
  // Nothing else: no temporaries.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"cube.npy", "cube.png", "samples.npy", "samples.png"});
}

TEST_CASE(
    "an images entry whose settings do not fit its output is refused at its line before anything runs") {
  TempDir dir;
  std::string text = kGraph;
  text.replace(text.find("{height: 8, width: 8,"), 21, "{height: 8, width: 7,");
  const fs::path graph = dir.write("g.yaml", text);
  const fs::path out = dir / "out";
  for (const std::string verb : {"validate", "run"}) {
    std::vector<std::string> args = {verb, graph.string()};
    if (verb == "run")
      args.insert(args.end(), {"--input", "x=" + write_input(dir).string(), "-o", out.string()});
    const ProcessResult r = run_keel(args);
    INFO(verb << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line() == "keel: error: " + graph.string() +
                                    ":9:3: output 'samples': shape [?, 64] does not split into 8 x 7 images: "
                                    "each row must hold 56 values");
  }
  CHECK(!fs::exists(out));
}

TEST_CASE("keel schema describes an images entry with exactly the keys the parser accepts") {
  TempDir dir;
  const ProcessResult s = run_keel({"schema"});
  REQUIRE(s.exit_code == 0);
  const fs::path schema = dir.write("schema.json", s.out);
  const ProcessResult keys =
      run_process({"/usr/bin/python3", "-c",
                   "import json, sys\n"
                   "s = json.load(open(sys.argv[1]))['properties']['images']['additionalProperties']\n"
                   "m = [a for a in s['anyOf'] if a.get('type') == 'object'][0]\n"
                   "assert m['additionalProperties'] is False\n"
                   "print(', '.join(sorted(m['properties'])))",
                   schema.string()});
  INFO(keys.err);
  REQUIRE(keys.exit_code == 0);
  std::string text = kGraph;
  text.replace(text.find("scale: 2}"), 9, "scale: 2, zzzqqq: 1}");
  const ProcessResult r = run_keel({"validate", dir.write("g.yaml", text).string()});
  CHECK(r.exit_code == 2);
  const std::string line = r.first_err_line();
  INFO(line);
  REQUIRE(line.find("unknown key 'zzzqqq' in images.cube (allowed: ") != std::string::npos);
  // The parser lists them in the table's order; the schema's, sorted.
  const std::string listed = line.substr(line.find("(allowed: ") + 10);
  std::vector<std::string> parser;
  for (std::size_t b = 0, e; b < listed.size(); b = e + 2) {
    e = listed.find_first_of(",)", b);
    parser.push_back(listed.substr(b, e - b));
  }
  std::sort(parser.begin(), parser.end());
  std::string joined;
  for (const auto& k : parser) joined += (joined.empty() ? "" : ", ") + k;
  CHECK(joined + "\n" == keys.out);
}

TEST_CASE("a training graph may not name a file that an images entry writes") {
  TempDir dir;
  const std::string text = R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 64]}
  y: {dtype: f32, shape: [batch, 64]}
nodes:
  - {name: decoded, op: sigmoid, inputs: [x]}
  - {name: loss, op: mse, inputs: [decoded, y]}
outputs: [decoded]
images:
  decoded: {height: 8, width: 8}
train:
  loss: loss
  data: {npy: {x: x.npy, y: y.npy}}
  checkpoint: {path: decoded.png}
)";
  const ProcessResult r = run_keel({"validate", dir.write("g.yaml", text).string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find(":14:22: train.checkpoint.path 'decoded.png' collides with 'decoded.png'") !=
        std::string::npos);
}
