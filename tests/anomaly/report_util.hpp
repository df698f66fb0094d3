// Reading a guard report the independent way: Python's json parses every
// line (anomaly_reference.py report) and prints the fields for the test.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"

namespace keel::test {

inline ProcessResult anomaly_reference(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                std::string(KEEL_SOURCE_DIR) + "/tests/anomaly/anomaly_reference.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

struct Event {
  std::uint64_t step = 0;
  std::string node, check, action, score, threshold;
  std::vector<std::int64_t> rows;
  std::vector<std::string> params;
};

// The report as Python's json reads it (anomaly_reference.py report).
inline std::vector<Event> read_report(const std::filesystem::path& file) {
  const ProcessResult r = anomaly_reference({"report", file.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<Event> events;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    Event e;
    f >> e.step >> e.node >> e.check >> e.action >> e.score >> e.threshold;
    std::string w;
    bool params = false;
    while (f >> w) {
      if (w == "|")
        params = true;
      else if (params)
        e.params.push_back(w);
      else
        e.rows.push_back(std::stoll(w));
    }
    events.push_back(e);
  }
  return events;
}

}  // namespace keel::test
