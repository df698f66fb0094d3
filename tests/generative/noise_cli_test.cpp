// `keel run` on a graph with no inputs at all: a noise node straight to the
// output, as a sampling graph starts. The same seed writes the same bytes,
// another seed other values, --set NODE.count changes the number of rows,
// and the values look standard normal.
#include <catch2/catch.hpp>
#include <cmath>

#include "cli_util.hpp"
#include "runtime/npy.hpp"

using namespace keel;
using namespace keel::test;

namespace {

const char* kNoiseGraph = R"(keel: 1
name: noise-only
seed: 1
nodes:
  - {name: z, op: noise, attrs: {count: 500, shape: [8]}}
outputs: [z]
)";

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "\n--- stderr\n" + r.err;
}

ProcessResult run(const TempDir& dir, const std::string& out, std::vector<std::string> sets) {
  std::vector<std::string> args{"run", (dir / "noise.yaml").string(), "-o", (dir / out).string(), "-q"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  return run_keel(args);
}

}  // namespace

TEST_CASE("keel runs a graph with no inputs whose only node is noise, reproducibly per seed") {
  TempDir dir;
  dir.write("noise.yaml", kNoiseGraph);
  ProcessResult v = run_keel({"validate", (dir / "noise.yaml").string()});
  INFO(describe(v));
  REQUIRE(v.exit_code == 0);

  for (const char* out : {"a", "b"}) {
    ProcessResult r = run(dir, out, {"seed=3"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
  }
  REQUIRE(run(dir, "c", {"seed=4"}).exit_code == 0);
  const std::string a = slurp(dir / "a/z.npy");
  REQUIRE_FALSE(a.empty());
  CHECK(slurp(dir / "b/z.npy") == a);

  const Tensor z = read_npy(dir / "a/z.npy");
  const Tensor other = read_npy(dir / "c/z.npy");
  REQUIRE(z.dtype() == DType::f32);
  REQUIRE(z.shape() == Shape{500, 8});
  REQUIRE(other.shape() == Shape{500, 8});
  const std::size_t n = 4000;
  std::size_t same = 0;
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = z.as<float>()[i];
    same += z.as<float>()[i] == other.as<float>()[i];
    sum += x;
    squares += x * x;
  }
  CHECK(same == 0);
  // Five standard errors of n standard normal draws.
  const double mean = sum / double(n), var = squares / double(n) - mean * mean;
  CHECK(std::abs(mean) <= 5 / std::sqrt(double(n)));
  CHECK(std::abs(var - 1) <= 5 * std::sqrt(2 / double(n)));
}

TEST_CASE("keel run --set NODE.count draws that many rows, the same leading rows for the same seed") {
  TempDir dir;
  dir.write("noise.yaml", kNoiseGraph);
  ProcessResult r = run(dir, "small", {"seed=3", "z.count=100"});
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(run(dir, "full", {"seed=3"}).exit_code == 0);
  const Tensor small = read_npy(dir / "small/z.npy");
  const Tensor full = read_npy(dir / "full/z.npy");
  REQUIRE(small.shape() == Shape{100, 8});
  for (std::size_t i = 0; i < 800; ++i) REQUIRE(small.as<float>()[i] == full.as<float>()[i]);
}
