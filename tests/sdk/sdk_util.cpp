#include "sdk_util.hpp"

#include <cstdlib>

namespace keel::test {

namespace fs = std::filesystem;

fs::path installed_prefix() { return fs::path(KEEL_SDK_WORK_DIR) / "install" / "moved"; }

std::map<std::string, std::string> author_env() {
  const char* path = std::getenv("PATH");
  std::map<std::string, std::string> env{
      {"PATH", (installed_prefix() / "bin").string() + ":/usr/bin:" + (path ? path : "")},
      {"KEEL_PREFIX", installed_prefix().string()},
      {"KEEL_PLUGIN_PATH", ""},
      {"CXX", KEEL_CXX_COMPILER},
      {"CMAKE_GENERATOR", "Ninja"},
  };
  if (std::string(KEEL_CCACHE).size()) env["CMAKE_CXX_COMPILER_LAUNCHER"] = KEEL_CCACHE;
  return env;
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout\n" +
         r.out + "\n--- stderr\n" + r.err;
}

std::string build_against_install(const fs::path& source, const fs::path& build,
                                  const std::vector<std::string>& cmake_args,
                                  const std::map<std::string, std::string>& env_changes) {
  auto env = author_env();
  for (const auto& [k, v] : env_changes) env[k] = v;
  std::vector<std::string> configure{KEEL_CMAKE_COMMAND,
                                     "-S",
                                     source.string(),
                                     "-B",
                                     build.string(),
                                     "-DCMAKE_BUILD_TYPE=Release",
                                     "-DCMAKE_PREFIX_PATH=" + installed_prefix().string()};
  configure.insert(configure.end(), cmake_args.begin(), cmake_args.end());
  ProcessResult c = run_process(configure, env, 300);
  if (c.exit_code != 0) return "configure failed: " + describe(c);
  ProcessResult b = run_process({KEEL_CMAKE_COMMAND, "--build", build.string()}, env, 600);
  if (b.exit_code != 0) return "build failed: " + describe(b);
  return {};
}

ProcessResult run_shell(const std::string& script, const fs::path& dir, int timeout_s) {
  return run_process({"/bin/bash", "-euo", "pipefail", "-c", "cd \"$0\" && " + script, dir.string()},
                     author_env(), timeout_s);
}

}  // namespace keel::test
