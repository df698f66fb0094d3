// Runs a command for end-to-end tests: captures stdout, stderr and the exit
// status, and kills it after a timeout so a hang fails the test instead of
// stalling the suite (the timeout is multiplied by time_scale()).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace keel::test {

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal (crash) or by the timeout
  bool timed_out = false;
  int signal = 0;
  std::string out;
  std::string err;
  // The first line of stderr, without the newline.
  std::string first_err_line() const { return err.substr(0, err.find('\n')); }
};

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {}, int timeout_s = 120);

// How many times longer than usual a process may take before it counts as
// hung: KEEL_TEST_TIME_SCALE (default 1), which scripts/test --sanitize sets,
// since instrumented runs on a busy machine are several times slower.
int time_scale();

// KEEL_BUILD_DIR/bin/keel
std::string keel_binary();

}  // namespace keel::test
