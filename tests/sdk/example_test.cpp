// sdk/examples/clip, built as a plugin author builds it: a separate CMake
// project that finds the relocated install with find_package(keel), then
// loaded through KEEL_PLUGIN_PATH by the installed runner.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "cli_util.hpp"
#include "runtime/npy.hpp"
#include "sdk_util.hpp"

namespace fs = std::filesystem;
using namespace keel::test;

namespace {

const fs::path kClipSource = fs::path(KEEL_SOURCE_DIR) / "sdk/examples/clip";

// Builds the example from scratch into KEEL_SDK_WORK_DIR/FOLDER against the
// installed SDK; the build folder.
fs::path build_clip(const std::string& folder, const std::vector<std::string>& cmake_args = {},
                    const std::map<std::string, std::string>& env = {}) {
  const fs::path build = fs::path(KEEL_SDK_WORK_DIR) / folder;
  fs::remove_all(build);
  const std::string failure = build_against_install(kClipSource, build, cmake_args, env);
  INFO(failure);
  REQUIRE(failure.empty());
  return build;
}

// The shared libraries an ELF file names as NEEDED, from readelf.
std::string needed_libraries(const fs::path& file) {
  ProcessResult r = run_process({"/usr/bin/readelf", "-d", file.string()});
  std::string out;
  std::size_t at = 0;
  while ((at = r.out.find("Shared library: [", at)) != std::string::npos) {
    at += 17;
    out += r.out.substr(at, r.out.find(']', at) - at) + " ";
  }
  return out;
}

struct Clipped {
  int low = 0, high = 0;
};

// Runs the example graph, which scales by 3 and clips to [-0.5, 2], on
// random x of `shape` with the plugin `env` finds, checks every value of y,
// and counts the values clipped at each bound.
Clipped run_clip_graph(const std::string& keel, const std::map<std::string, std::string>& env,
                       const TempDir& dir, const keel::Shape& shape, std::uint32_t seed) {
  Clipped clipped;
  const keel::Tensor x = random_tensor(shape, seed);
  keel::write_npy(dir / "x.npy", x);
  ProcessResult r = run_process({keel, "run", (kClipSource / "clip.yaml").string(), "--input",
                                 "x=" + (dir / "x.npy").string(), "--output-dir", (dir / "out").string()},
                                env);
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  const keel::Tensor y = keel::read_npy(dir / "out" / "y.npy");
  REQUIRE(y.numel() == x.numel());
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const float v = 3.0f * x.as<float>()[i];
    const float expect = v < -0.5f ? -0.5f : v > 2.0f ? 2.0f : v;
    clipped.low += v < -0.5f;
    clipped.high += v > 2.0f;
    CHECK(y.as<float>()[i] == Approx(expect).margin(1e-6));
  }
  return clipped;
}

}  // namespace

TEST_CASE("the out-of-tree clip example builds against the installed SDK and runs in a graph") {
  const fs::path build = build_clip("example-clip");
  REQUIRE(fs::is_regular_file(build / "keel_clip.so"));

  // Its own Catch2 test (conformance kit + naive reference) passes.
  ProcessResult t = run_process({(build / "clip_test").string()}, author_env());
  INFO(describe(t));
  CHECK(t.exit_code == 0);

  auto env = author_env();
  env["KEEL_PLUGIN_PATH"] = build.string();
  const std::string keel = (installed_prefix() / "bin/keel").string();
  ProcessResult check = run_process({keel, "check-op", "clip"}, env);
  INFO(describe(check));
  CHECK(check.exit_code == 0);

  TempDir dir;
  const Clipped clipped = run_clip_graph(keel, env, dir, {6, 4}, 3);
  CHECK(clipped.low > 0);  // the data reaches both bounds
  CHECK(clipped.high > 0);

  // The plugin's op and attributes are in the schema for editors, and the
  // example graph validates against it.
  ProcessResult schema = run_process({keel, "schema"}, env);
  REQUIRE(schema.exit_code == 0);
  const fs::path schema_file = dir.write("graph.schema.json", schema.out);
  ProcessResult v =
      run_process({"/usr/bin/python3", std::string(KEEL_SOURCE_DIR) + "/tests/sdk/validate_graphs.py",
                   schema_file.string(), (kClipSource / "clip.yaml").string()});
  INFO(describe(v));
  CHECK(v.exit_code == 0);
}

TEST_CASE("the clip example built by clang++ with libc++ loads into the g++ libstdc++ runner") {
  // The C table is all that crosses: the plugin's std::string, std::vector
  // and exceptions are libc++'s, the runner's libstdc++'s.
  const fs::path build =
      build_clip("example-clip-libcxx",
                 {"-DCMAKE_CXX_FLAGS=-stdlib=libc++", "-DCMAKE_MODULE_LINKER_FLAGS=-stdlib=libc++",
                  // Catch2 is built with libstdc++: the example's own test is left out here.
                  "-DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON"},
                 {{"CXX", "clang++"}});
  const fs::path plugin = build / "keel_clip.so";
  REQUIRE(fs::is_regular_file(plugin));
  const std::string keel = (installed_prefix() / "bin/keel").string();
  const std::string plugin_needs = needed_libraries(plugin);
  INFO("plugin needs: " << plugin_needs);
  CHECK(plugin_needs.find("libc++.so") != std::string::npos);
  CHECK(plugin_needs.find("libstdc++") == std::string::npos);
  CHECK(needed_libraries(keel).find("libstdc++.so") != std::string::npos);
  ProcessResult comment = run_process({"/usr/bin/readelf", "-p", ".comment", plugin.string()});
  CHECK(comment.out.find("clang version") != std::string::npos);

  auto env = author_env();
  env["KEEL_PLUGIN_PATH"] = build.string();
  ProcessResult check = run_process({keel, "check-op", "clip"}, env);
  INFO(describe(check));
  CHECK(check.exit_code == 0);
  CHECK(check.out.find("FAILED") == std::string::npos);

  // And it runs in a graph: every value of x clipped by the libc++ op.
  TempDir dir;
  run_clip_graph(keel, env, dir, {5, 4}, 11);
}
