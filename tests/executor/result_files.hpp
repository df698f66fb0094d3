// The result files of a `keel run` output folder, to compare two runs byte
// for byte.
#pragma once

#include <catch2/catch.hpp>
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

// `actual` holds the same files as `expected`, each with the same bytes.
inline void check_same_files(const std::map<std::string, std::string>& expected,
                             const std::map<std::string, std::string>& actual) {
  REQUIRE(actual.size() == expected.size());
  for (const auto& [name, bytes] : expected) {
    INFO(name);
    REQUIRE(actual.count(name));
    CHECK(actual.at(name) == bytes);
  }
}

}  // namespace keel::test
