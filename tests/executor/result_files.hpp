// The result files of a `keel run` output folder, to compare two runs byte
// for byte.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "files.hpp"

namespace keel::test {

// Every file under `dir` that holds results, relative path -> bytes:
// run.json and report.html describe the run (its start time, duration,
// thread settings), so they differ between any two runs.
inline std::map<std::string, std::string> files_under(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = std::filesystem::relative(e.path(), dir).string();
    if (e.is_regular_file() && name != "run.json" && name != "report.html") out[name] = slurp(e.path());
  }
  return out;
}

}  // namespace keel::test
