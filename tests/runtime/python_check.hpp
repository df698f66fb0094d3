// Running the system's NumPy from the runtime tests, the independent side of
// the .npy and safetensors checks; tests skip (with a warning) without it.
#pragma once

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace python_check {

inline const char* const kPython = "/usr/bin/python3";

inline bool have_python() {
  if (std::filesystem::exists(kPython)) return true;
  WARN("skipped: " << kPython << " is missing");
  return false;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `python3 ARGS...`'s exit status, -1 when it did not exit by itself.
inline int run_python(const std::vector<std::string>& args) {
  std::string command = kPython;
  for (const auto& a : args) command.append(" ").append(shell_quote(a));
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace python_check
