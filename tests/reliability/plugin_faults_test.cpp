// Faults inside plugins and in the plugin folders: a plugin that fails
// without a reason or whose output differs from what it inferred is
// reported with node, op and plugin, exit 1, nothing written; a folder
// others can write to is warned about; `keel plugins` lists the good plugins
// next to a broken one and explains the broken one.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "error_checks.hpp"
#include "runtime/npy.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kWho = "(node 'f', op 'fault', plugin 'faulty')";

fs::path faulty_graph(const TempDir& dir, const std::string& stage, const std::string& how) {
  return dir.write("f.yaml",
                   "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 2]}\nnodes:\n"
                   "  - {name: f, op: fault, inputs: [x], attrs: {stage: " +
                       stage + ", how: " + how + "}}\noutputs: [f]\n");
}

ProcessResult run_graph(const TempDir& dir, const fs::path& graph) {
  return run_keel({"run", graph.string(), "--plugin-path", KEEL_FAULTY_PLUGIN_DIR, "-o",
                   (dir / "out").string(), "-i", "x=" + (dir / "x.npy").string()});
}

void expect_clean_failure(const ProcessResult& r, int code, const std::string& fragment) {
  check_keel_error(r, code, fragment);
  CHECK(r.err.find('\n') == r.err.size() - 1);  // one line, no trace
}

fs::path faulty_plugin_file() {
  for (const auto& e : fs::directory_iterator(KEEL_FAULTY_PLUGIN_DIR))
    if (e.path().extension() == ".so") return e.path();
  FAIL("no plugin in " KEEL_FAULTY_PLUGIN_DIR);
  return {};
}

// DIR/plugins holding a copy of the faulty plugin, for tests that change
// the folder or add files to it.
fs::path plugin_folder(const TempDir& dir) {
  const fs::path plugins = dir / "plugins";
  fs::create_directories(plugins);
  fs::copy_file(faulty_plugin_file(), plugins / "keel_faulty.so");
  return plugins;
}

}  // namespace

TEST_CASE("a plugin that fails without a reason is still reported with node, op and plugin") {
  TempDir dir;
  write_npy(dir / "x.npy", random_tensor({3, 2}, 1));
  expect_clean_failure(run_graph(dir, faulty_graph(dir, "forward", "silent")), 1,
                       "forward failed: (the plugin gave no reason) " + kWho);
  expect_clean_failure(run_graph(dir, faulty_graph(dir, "prepare", "silent")), 1,
                       "prepare failed: (the plugin gave no reason) " + kWho);
  CHECK_FALSE(fs::exists(dir / "out" / "f.npy"));
}

TEST_CASE("an output whose shape differs from what the op inferred stops the run before its forward") {
  TempDir dir;
  write_npy(dir / "x.npy", random_tensor({3, 2}, 1));
  const fs::path graph = faulty_graph(dir, "bound_shape", "throw");
  // Symbolically the op is consistent: validation cannot tell.
  auto v = run_keel({"validate", graph.string(), "--plugin-path", KEEL_FAULTY_PLUGIN_DIR});
  INFO(v.err);
  CHECK(v.exit_code == 0);
  expect_clean_failure(run_graph(dir, graph), 1,
                       "output 'f' is f32 [4, 2] for this data, but the op inferred f32 [batch, 2] for the "
                       "graph: the plugin's infer() contradicts itself " +
                           kWho);
  CHECK_FALSE(fs::exists(dir / "out" / "f.npy"));
}

TEST_CASE("a plugin folder that other users can write to is warned about") {
  TempDir dir;
  const fs::path plugins = plugin_folder(dir);
  ::chmod(plugins.c_str(), 0755);
  auto quiet = run_keel({"plugins", "--plugin-path", plugins.string()});
  INFO(quiet.err);
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.find("warning") == std::string::npos);

  ::chmod(plugins.c_str(), 0777);
  auto r = run_keel({"plugins", "--plugin-path", plugins.string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("keel: warning: plugin folder '" + plugins.string() +
                   "' is writable by other users (mode 0777)") != std::string::npos);
  CHECK(r.out.find("faulty 0.1.0") != std::string::npos);

  ::chmod(plugins.c_str(), 0755);
  ::chmod((plugins / "keel_faulty.so").c_str(), 0666);
  auto file = run_keel({"plugins", "--plugin-path", plugins.string()});
  CHECK(file.err.find("keel: warning: plugin '" + (plugins / "keel_faulty.so").string() +
                      "' is writable by other users (mode 0666)") != std::string::npos);
}

TEST_CASE("every command that loads plugins warns about a writable folder before loading any library in it") {
  TempDir dir;
  const fs::path plugins = plugin_folder(dir);
  ::chmod(plugins.c_str(), 0777);
  const std::string graph = faulty_graph(dir, "none", "throw").string();
  write_npy(dir / "x.npy", random_tensor({3, 2}, 1));
  const std::map<std::string, std::string> env = {{"KEEL_FAULTY_ANNOUNCE", "1"}};
  const std::string warning =
      "keel: warning: plugin folder '" + plugins.string() + "' is writable by other users";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", graph, "-o", (dir / "out").string(), "-i",
                                 "x=" + (dir / "x.npy").string()},
        std::vector<std::string>{"validate", graph}, std::vector<std::string>{"check-op", "fault"},
        std::vector<std::string>{"plugins"}}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"--plugin-path", plugins.string()});
    const ProcessResult r = run_keel(argv, env);
    INFO("keel " << args[0] << "\nstderr: " << r.err);
    CHECK(r.signal == 0);
    const auto warned = r.err.find(warning), loaded = r.err.find("faulty: library loaded");
    REQUIRE(warned != std::string::npos);
    REQUIRE(loaded != std::string::npos);
    CHECK(warned < loaded);
  }
}

TEST_CASE("a missing --plugin-path folder is an error and a relative KEEL_PLUGIN_PATH entry a warning") {
  TempDir dir;
  const std::string graph = (fs::path(KEEL_SOURCE_DIR) / "graphs" / "digits_infer.yaml").string();
  const ProcessResult missing = run_keel({"validate", graph, "--plugin-path", (dir / "nowhere").string()});
  expect_clean_failure(missing, 2, "--plugin-path '" + (dir / "nowhere").string() + "' does not exist");

  const ProcessResult relative = run_keel({"validate", graph}, {{"KEEL_PLUGIN_PATH", "my-plugins"}});
  INFO(relative.err);
  CHECK(relative.exit_code == 0);
  CHECK(relative.err.find("keel: warning: KEEL_PLUGIN_PATH entry 'my-plugins' is a relative folder") !=
        std::string::npos);
  const ProcessResult absolute = run_keel({"validate", graph}, {{"KEEL_PLUGIN_PATH", (dir / "p").string()}});
  CHECK(absolute.exit_code == 0);
  CHECK(absolute.err.find("warning") == std::string::npos);
}

TEST_CASE("keel plugins lists the good plugins beside a broken one and explains the broken one") {
  TempDir dir;
  const fs::path plugins = plugin_folder(dir);
  dir.write("plugins/keel_broken.so", "this is not a shared library\n");
  ::chmod(plugins.c_str(), 0755);

  auto r = run_keel({"plugins", "--plugin-path", plugins.string()});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("faulty 0.1.0") != std::string::npos);  // the good one beside it
  CHECK(r.out.find("nn ") != std::string::npos);           // and the bundled ones
  CHECK(r.err.find("keel: error: ") == 0);
  CHECK(r.err.find("keel_broken.so") != std::string::npos);
  CHECK(r.err.find("not a shared library") != std::string::npos);

  // The same folder stops a run, which needs every plugin it was given.
  auto run = run_keel({"validate", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_infer.yaml",
                       "--plugin-path", plugins.string()});
  CHECK(run.exit_code == 2);
  CHECK(run.first_err_line().find("keel_broken.so") != std::string::npos);
}
