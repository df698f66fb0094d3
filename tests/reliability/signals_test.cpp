// SIGINT, SIGTERM and SIGHUP leave no temporary behind: an interrupted
// `keel decrypt` must not leave its plaintext in a hidden .NAME.tmp.* file,
// and the output it was replacing stays as it was. The process still dies
// of the signal (the shell sees 128+N).
//
// Timing: the test waits until the temporary appears, then stops `keel`
// with SIGSTOP, checks that it really is mid-write (temporary there, old
// output still in place), queues the signal and lets it continue. So the
// signal always lands during the write, whatever the machine's speed; the
// container only has to be large enough that the write outlasts the
// polling (32 MiB takes tens of milliseconds to decrypt).
#include "runtime/signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "files.hpp"
#include "hardening_util.hpp"

namespace fs = std::filesystem;
using keel::test::has_temporary;

namespace {

constexpr std::uintmax_t kPlainBytes = std::uintmax_t{32} << 20;

// Starts `keel ARGS...` with stdout/stderr to /dev/null; `ignore_hup` starts
// it with SIGHUP ignored, as `nohup` does.
pid_t spawn_keel(const std::vector<std::string>& args, bool ignore_hup = false) {
  const std::string keel = keel::test::keel_binary();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (ignore_hup) ::signal(SIGHUP, SIG_IGN);
    keel::test::exec_keel(keel, args);
  }
  return pid;
}

// Waits (polling) until `dir` holds a temporary; false if the process ended
// first or it took over a minute.
bool wait_for_temporary(pid_t pid, const fs::path& dir) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60 * keel::test::time_scale());
  while (std::chrono::steady_clock::now() < deadline) {
    if (has_temporary(dir)) return true;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

}  // namespace

TEST_CASE("SIGINT or SIGTERM or SIGHUP during keel decrypt removes the temporary and keeps the old output") {
  keel::test::TempDir dir;
  const fs::path key = keel::test::make_key(dir.path());
  const fs::path plain = dir / "plain.bin";
  { std::ofstream(plain, std::ios::binary); }
  fs::resize_file(plain, kPlainBytes);  // zeros: cheap to make, as slow to decrypt as any bytes
  keel::test::encrypt(plain, dir / "c.enc", key);
  fs::remove(plain);
  const fs::path out_dir = dir / "out";
  fs::create_directories(out_dir);
  const fs::path out = out_dir / "plain.bin";
  std::ofstream(out, std::ios::binary) << "the previous output";
  const std::vector<std::string> args{
      "decrypt", (dir / "c.enc").string(), out.string(), "--key-file", key.string(), "-q"};

  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    INFO("signal " << sig);
    const pid_t pid = spawn_keel(args);
    REQUIRE(wait_for_temporary(pid, out_dir));
    ::kill(pid, SIGSTOP);
    // Stopped mid-write: the temporary is there and the output not replaced.
    REQUIRE(has_temporary(out_dir));
    REQUIRE(keel::test::slurp(out) == "the previous output");
    ::kill(pid, sig);
    ::kill(pid, SIGCONT);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
    CHECK_FALSE(has_temporary(out_dir));
    CHECK(keel::test::listing(out_dir) == std::set<std::string>{"plain.bin"});
    CHECK(keel::test::slurp(out) == "the previous output");
  }

  {
    INFO("a SIGHUP ignored when keel started (nohup) stays ignored");
    const pid_t pid = spawn_keel(args, /*ignore_hup=*/true);
    REQUIRE(wait_for_temporary(pid, out_dir));
    ::kill(pid, SIGHUP);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(fs::file_size(out) == kPlainBytes);
    CHECK_FALSE(has_temporary(out_dir));
  }
}

// The module itself, in a child process (its handlers are process-wide).
namespace {

// Runs `body` in a forked child and returns its wait status.
template <class Body>
int in_child(Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("GracefulStop records the first signal and the second removes temporaries and kills") {
  keel::test::TempDir dir;
  const fs::path tmp = dir.write(".x.tmp.1.2", "partial");
  const int status = in_child([&] {
    keel::signals::install();
    const keel::signals::TemporaryFile registered(tmp);
    const keel::signals::GracefulStop stop;
    if (keel::signals::GracefulStop::requested() != 0) ::_exit(10);
    ::raise(SIGTERM);
    if (keel::signals::GracefulStop::requested() != SIGTERM) ::_exit(11);
    if (!fs::exists(tmp)) ::_exit(12);  // the first signal removes nothing
    ::raise(SIGINT);
    ::_exit(13);  // not reached: the second signal kills
  });
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  CHECK_FALSE(fs::exists(tmp));
}

TEST_CASE("a released TemporaryFile is no longer removed by a signal") {
  keel::test::TempDir dir;
  const fs::path kept = dir.write("kept", "a finished file"), removed = dir.write("removed", "a temporary");
  const int status = in_child([&] {
    { const keel::signals::TemporaryFile released(kept); }
    const keel::signals::TemporaryFile registered(removed);
    ::raise(SIGHUP);
    ::_exit(10);
  });
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGHUP);
  CHECK(fs::exists(kept));
  CHECK_FALSE(fs::exists(removed));
}
