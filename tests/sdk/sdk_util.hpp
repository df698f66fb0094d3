// Shared by the SDK tests: where the relocated install lives, and running
// CMake on a project outside Keel's source tree against it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "process.hpp"

namespace keel::test {

// The install made by the sdk.install_and_move set-up, after its move.
std::filesystem::path installed_prefix();

// Environment for a plugin author's shell: the installed `keel` first on
// PATH, /usr/bin next (its python3 has numpy), ccache as the compiler
// launcher, KEEL_PREFIX naming the install, no KEEL_PLUGIN_PATH.
std::map<std::string, std::string> author_env();

// `cmake -S source -B build -DCMAKE_PREFIX_PATH=prefix` then `cmake --build`.
// Returns the first failure (output included), or an empty string.
std::string build_against_install(const std::filesystem::path& source, const std::filesystem::path& build,
                                  const std::vector<std::string>& cmake_args = {},
                                  const std::map<std::string, std::string>& env_changes = {});

// Runs `bash -euo pipefail -c script` in `dir` with author_env().
ProcessResult run_shell(const std::string& script, const std::filesystem::path& dir, int timeout_s = 300);

// "exit N\nstdout...\nstderr..." for INFO().
std::string describe(const ProcessResult& r);

}  // namespace keel::test
