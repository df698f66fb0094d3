// Runs a command for end-to-end tests: captures stdout, stderr and the exit
// status, and kills it after a timeout so a hang fails the test instead of
// stalling the suite.
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

// KEEL_BUILD_DIR/bin/keel
std::string keel_binary();

}  // namespace keel::test
