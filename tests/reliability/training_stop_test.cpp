// Ctrl-C during training: the first SIGINT, SIGTERM or SIGHUP stops the run
// after the step in progress, writes the checkpoint, says so in one line and
// exits 128 + N; the checkpoint then resumes to exactly the parameters an
// uninterrupted run reaches. A second signal ends the run at once, with the
// last checkpoint whole and no temporary left.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.hpp"
#include "hardening_util.hpp"
#include "runtime/safetensors.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

struct Child {
  pid_t pid = -1;
  fs::path err;
};

Child start_keel(const std::vector<std::string>& args, const fs::path& err) {
  const std::string keel = keel_binary();
  Child c{::fork(), err};
  if (c.pid == 0) {
    // Under ASan, LeakSanitizer's exit-time tracer can crash on a loaded
    // machine (tests/common/process.cpp); these runs are about exit codes
    // after signals, and run_keel's runs keep the leak check.
    if (const char* asan = std::getenv("ASAN_OPTIONS"))
      ::setenv("ASAN_OPTIONS", (std::string(asan) + ":detect_leaks=0").c_str(), 1);
    const int null = ::open("/dev/null", O_WRONLY);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null, 1);
    ::dup2(e, 2);
    exec_keel(keel, args);
  }
  return c;
}

// Waits until `file` exists (the run is past its first checkpoint).
bool wait_for(const Child& c, const fs::path& file) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60 * time_scale());
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(file)) return true;
    if (::waitpid(c.pid, nullptr, WNOHANG) == c.pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// The wait status, or kills the child after a minute (a hang).
int finish(const Child& c) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60 * time_scale());
  int status = 0;
  while (::waitpid(c.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &status, 0);
      FAIL("keel did not stop after the signal");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status;
}

std::uint64_t checkpoint_step(const fs::path& ckpt) {
  return std::stoull(read_safetensors(ckpt).metadata.at("step"));
}

}  // namespace

TEST_CASE("the first signal stops training at a step boundary with a checkpoint that resumes exactly") {
  TempDir dir;
  const fs::path graph = long_graph(dir);
  for (const auto& [sig, name] :
       {std::pair{SIGINT, "SIGINT"}, std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGHUP, "SIGHUP"}}) {
    INFO(name);
    const fs::path out = dir / ("out-" + std::string(name));
    const Child c = start_keel({"run", graph.string(), "-q", "-o", out.string()}, dir / "err.txt");
    REQUIRE(wait_for(c, out / "t.ckpt"));
    ::kill(c.pid, sig);
    const int status = finish(c);
    const std::string err = slurp(dir / "err.txt");
    INFO("stderr: " << err);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + sig);
    const std::uint64_t step = checkpoint_step(out / "t.ckpt");
    CHECK(step >= 50);
    CHECK(err == "keel: stopped by " + std::string(name) + " at step " + std::to_string(step) +
                     ": checkpoint '" + (out / "t.ckpt").string() + "' written; continue with --resume " +
                     (out / "t.ckpt").string() + "\n");
    CHECK_FALSE(fs::exists(out / "fc.npy"));  // the end-of-run outputs are not written
    CHECK_FALSE(has_temporary(out));
    CHECK_FALSE(fs::exists(out / ".keel.lock"));
    if (sig != SIGINT) continue;

    // Resumed to step + 7, it equals a run of step + 7 steps from the start.
    const std::string steps = "train.steps=" + std::to_string(step + 7);
    const ProcessResult resumed = run_keel({"run", graph.string(), "-q", "-o", (dir / "resumed").string(),
                                            "--set", steps, "--resume", (out / "t.ckpt").string()});
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    const ProcessResult whole =
        run_keel({"run", graph.string(), "-q", "-o", (dir / "whole").string(), "--set", steps});
    INFO(whole.err);
    REQUIRE(whole.exit_code == 0);
    CHECK(slurp(dir / "resumed/t.ckpt") == slurp(dir / "whole/t.ckpt"));
  }
}

TEST_CASE("a second signal ends training at once and leaves the last checkpoint whole") {
  TempDir dir;
  const fs::path graph = long_graph(dir);
  for (int round = 0; round < 3; ++round) {
    const fs::path out = dir / ("out" + std::to_string(round));
    const Child c = start_keel({"run", graph.string(), "-q", "-o", out.string()}, dir / "err.txt");
    REQUIRE(wait_for(c, out / "t.ckpt"));
    ::kill(c.pid, SIGTERM);
    ::kill(c.pid, SIGTERM);
    const int status = finish(c);
    INFO("stderr: " << slurp(dir / "err.txt"));
    // Either the stop finished before the second signal arrived (exit 143),
    // or the second one ended the process.
    CHECK(((WIFEXITED(status) && WEXITSTATUS(status) == 143) ||
           (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)));
    CHECK(checkpoint_step(out / "t.ckpt") >= 50);  // whole and readable
    CHECK_FALSE(has_temporary(out));
  }
}
