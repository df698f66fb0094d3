#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace keel::test {

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int time_scale() {
  const char* v = std::getenv("KEEL_TEST_TIME_SCALE");
  const int scale = v ? std::atoi(v) : 1;
  return scale > 0 ? scale : 1;
}

std::string keel_binary() { return std::string(KEEL_BUILD_DIR) + "/bin/keel"; }

namespace {

ProcessResult run_once(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       int timeout_s) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() /
                       ("keel-proc-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(dir);
  const fs::path out_file = dir / "out", err_file = dir / "err";

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int out_fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err_fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    for (const auto& [k, v] : env) {
      if (v.empty())
        ::unsetenv(k.c_str());
      else
        ::setenv(k.c_str(), v.c_str(), 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }

  ProcessResult r;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s * time_scale());
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  fs::remove_all(dir);
  return r;
}

}  // namespace

// Under ASan, LeakSanitizer checks for leaks as the process exits by
// stopping its threads with a ptrace tracer; on a loaded machine that tracer
// itself sometimes crashes (GCC 12's libasan: "Tracer caught signal 11",
// then "LeakSanitizer has encountered a fatal error", exit 1) after the
// program has done its work. That is a failure of the instrument, not of
// the program, so such a run is made again, once; a leak or any other
// sanitizer report is never retried.
ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          int timeout_s) {
  ProcessResult r = run_once(argv, env, timeout_s);
  if (r.err.find("LeakSanitizer has encountered a fatal error") != std::string::npos &&
      r.err.find("ERROR: LeakSanitizer: detected memory leaks") == std::string::npos)
    r = run_once(argv, env, timeout_s);
  return r;
}

}  // namespace keel::test
