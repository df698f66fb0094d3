// The errors a user sees, checked the same way by every test folder: an
// exception from a reader or parser, or the first line `keel` writes to
// stderr.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "base/error.hpp"
#include "process.hpp"

namespace keel::test {

// The formatted keel::Error that `f` throws, checked to be a usage error
// (exit code 2); "no error" when `f` returns, which never equals a message.
template <class F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    return e.format();
  }
  return "no error";
}

// A `keel` run that failed on its own terms: no timeout or signal, exit
// code `code`, and a first stderr line "keel: error: ..." holding `fragment`.
inline void check_keel_error(const ProcessResult& r, int code, const std::string& fragment) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == code);
  CHECK(r.first_err_line().rfind("keel: error: ", 0) == 0);
  CHECK(r.first_err_line().find(fragment) != std::string::npos);
}

}  // namespace keel::test
