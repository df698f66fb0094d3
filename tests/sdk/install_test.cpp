// `cmake --install` to a prefix that is then moved (tests/sdk/CMakeLists.txt
// sets this up): the runner, its bundled plugins and the CMake package must
// work from wherever the tree lands.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "cli_util.hpp"
#include "runtime/npy.hpp"
#include "sdk_util.hpp"

namespace fs = std::filesystem;
using namespace keel::test;

namespace {

// Every RUNPATH/RPATH entry of an ELF file, as readelf prints them.
std::vector<std::string> run_paths(const fs::path& file) {
  ProcessResult r = run_process({"/usr/bin/readelf", "-d", file.string()});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> out;
  for (std::size_t at = 0; (at = r.out.find("path: [", at)) != std::string::npos;) {
    at += 7;
    const std::string list = r.out.substr(at, r.out.find(']', at) - at);
    std::size_t start = 0;
    while (start <= list.size()) {
      const auto colon = list.find(':', start);
      out.push_back(list.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the install holds the runner, the bundled plugins, the headers and the CMake package") {
  const fs::path p = installed_prefix();
  CHECK_FALSE(fs::exists(p.parent_path() / "staged"));  // moved, not copied
  for (const char* f :
       {"bin/keel", "include/keel/keel.hpp", "include/keel/testing.hpp", "include/keel/testing/checks.hpp",
        "lib/cmake/keel/keelConfig.cmake", "lib/cmake/keel/keelConfigVersion.cmake",
        "lib/cmake/keel/keelTargets.cmake", "lib/cmake/keel/KeelPlugin.cmake",
        "lib/cmake/keel/keel_plugin.exports", "lib/keel/plugins/keel_nn.so"})
    CHECK(fs::is_regular_file(p / f));
  // Test fixtures are built as plugins too, but must not be installed.
  CHECK_FALSE(fs::exists(p / "lib/keel/plugins/keel_broken_ops.so"));
}

#if KEEL_SIGN_PLUGINS
TEST_CASE("the install trusts the build key and each bundled plugin has a signature minisign accepts") {
  const fs::path p = installed_prefix();
  const fs::path key = p / "share/keel/trust/keel-build.pub";
  REQUIRE(fs::is_regular_file(key));
  REQUIRE(fs::exists("/usr/bin/minisign"));
  int plugins = 0;
  for (const auto& e : fs::directory_iterator(p / "lib/keel/plugins")) {
    if (e.path().extension() != ".so") continue;
    ++plugins;
    ProcessResult r = run_process({"/usr/bin/minisign", "-V", "-p", key.string(), "-m", e.path().string()});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
  }
  CHECK(plugins >= 7);
  // The secret key stays in the build folder.
  CHECK_FALSE(fs::exists(p / "share/keel/trust/keel-build.key"));
}
#endif

TEST_CASE("every run path in the install is relative to the file itself") {
  const fs::path p = installed_prefix();
  std::vector<fs::path> files{p / "bin/keel"};
  for (const auto& e : fs::directory_iterator(p / "lib/keel/plugins"))
    if (e.path().extension() == ".so") files.push_back(e.path());  // not the .minisig beside each
  for (const fs::path& f : files)
    for (const std::string& entry : run_paths(f)) {
      INFO(f.string() + ": " + entry);
      CHECK(entry.rfind("$ORIGIN", 0) == 0);
    }
}

TEST_CASE("the moved runner finds its bundled plugins beside it") {
  const fs::path p = installed_prefix();
  ProcessResult r = run_process({(p / "bin/keel").string(), "plugins", "--json"}, author_env());
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find((p / "lib/keel/plugins/keel_nn.so").string()) != std::string::npos);
  // The only folder searched is the moved one: nothing comes from the build tree.
  CHECK(r.out.rfind("{\"searched\":[\"" + (p / "lib/keel/plugins").string() + "\"]", 0) == 0);
  CHECK(r.out.find(std::string(KEEL_BUILD_DIR) + "/lib/") == std::string::npos);
}

TEST_CASE("the moved runner runs a graph") {
  TempDir dir;
  dir.write("g.yaml",
            "keel: 1\n"
            "inputs:\n"
            "  a: {dtype: f32, shape: [batch, 3]}\n"
            "  b: {dtype: f32, shape: [batch, 3]}\n"
            "nodes:\n"
            "  - {name: s, op: add, inputs: [a, b]}\n"
            "  - {name: r, op: relu, inputs: [s]}\n"
            "outputs: [r]\n");
  const keel::Tensor a = random_tensor({5, 3}, 1), b = random_tensor({5, 3}, 2);
  keel::write_npy(dir / "a.npy", a);
  keel::write_npy(dir / "b.npy", b);
  ProcessResult r = run_process({(installed_prefix() / "bin/keel").string(), "run", (dir / "g.yaml").string(),
                                 "--input", "a=" + (dir / "a.npy").string(), "--input",
                                 "b=" + (dir / "b.npy").string(), "--output-dir", (dir / "out").string()},
                                author_env());
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  const keel::Tensor y = keel::read_npy(dir / "out" / "r.npy");
  REQUIRE(y.numel() == 15);
  for (std::int64_t i = 0; i < 15; ++i)
    CHECK(y.as<float>()[i] == std::max(a.as<float>()[i] + b.as<float>()[i], 0.0f));
}
