// Faults in a data-parallel run: a guard that fires on one rank only (a NaN
// in that rank's rows) acts on every rank on the same step, never a hang; a
// rank killed with SIGKILL ends every other rank within 5 s with one line
// naming it, the last checkpoint whole.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.hpp"
#include "hardening_util.hpp"
#include "mpi_run.hpp"
#include "runtime/safetensors.hpp"

using namespace keel::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kPoisoned =
    std::string(KEEL_SOURCE_DIR) + "/tests/anomaly/graphs/poisoned_digits_train.yaml";

// The flagship model behind the test-only `poison` node, which ruins the
// batch of steps 3, 23, 43, ... with NaN (tests/anomaly/plugins/poison.cpp).
// Global batch statistics and no biases before the batchnorms (whose
// gradients are rounding noise) make 2 ranks compute what one process does.
std::vector<std::string> poisoned_run(const fs::path& out, std::vector<std::string> extra) {
  std::vector<std::string> args{
      "run", kPoisoned, "-q", "-o", out.string(), "--threads", "1", "--plugin-path", KEEL_POISON_PLUGIN_DIR};
  for (const char* s :
       {"train.steps=50", "train.distributed.sync_batchnorm=true", "fc1.bias=false", "fc2.bias=false"})
    args.insert(args.end(), {"--set", s});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void require_ok(const ProcessResult& r) {
  INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("a NaN in one rank's rows makes every rank skip that step, as one process skips it") {
  TempDir dir;
  // One process: the whole batch of steps 3 and 23 is NaN, and its input
  // guard skips them (anomalies.jsonl says so).
  require_ok(run_keel(poisoned_run(dir / "one", {})));
  const std::string events = slurp(dir / "one" / "anomalies.jsonl");
  CHECK(events.find("{\"step\":3,\"node\":\"input_range\"") != std::string::npos);
  CHECK(events.find("{\"step\":23,\"node\":\"input_range\"") != std::string::npos);
  // 2 ranks: only rank 1's half is NaN, so only rank 1's guard fires.
  const ProcessResult two = run_ranks({.ranks = 2}, poisoned_run(dir / "two", {"--set", "poisoned.rank=1"}));
  require_ok(two);
  INFO("stderr: " << two.err);
  CHECK(two.err.find("keel[rank 1]: guard 'input_range' (range) fired at step 3:") != std::string::npos);
  CHECK(two.err.find("keel[rank 1]: guard 'input_range' (range) fired at step 23:") != std::string::npos);
  CHECK(two.err.find("keel[rank 0]: guard") == std::string::npos);
  // Both ranks skipped those steps: the parameters are one process's, and
  // finite. Up to rounding: each rank's matrix products sum its half of the
  // rows, one process all of them, so gradients differ in the last bits
  // from step 0 (steps.csv: norms 3.6256659 and 3.62566589), and 50 steps
  // with three poisoned ones grow that to about 1e-4; a step skipped on one
  // side only would differ by the whole update (above 1e-2).
  const Difference d = largest_difference(dir / "two" / "digits.ckpt", dir / "one" / "digits.ckpt");
  INFO("tensor '" << d.tensor << "' differs by " << d.relative);
  CHECK(d.relative <= 1e-3);
}

TEST_CASE("an abort on one rank stops every rank on the same step, naming that rank") {
  TempDir dir;
  const auto started = Clock::now();
  const ProcessResult r = run_ranks(
      {.ranks = 2},
      poisoned_run(dir / "two", {"--set", "poisoned.rank=1", "--set", "input_range.action=abort"}), 60);
  INFO("stderr: " << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(Clock::now() - started < std::chrono::seconds(30 * time_scale()));
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("keel[rank 0]: error: a guard on rank 1 aborted at step 3; stopped (action abort)") !=
        std::string::npos);
  CHECK(r.err.find("keel[rank 1]: error: ") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "two" / "head.npy"));
}

namespace {

// A process of this test's mpirun whose environment says it is rank `rank`:
// its pid, or -1.
pid_t find_rank(const std::string& mark, int rank) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string env;
    try {
      env = slurp(e.path() / "environ");
    } catch (...) {
      continue;
    }
    const auto has = [&](const std::string& s) {
      return env.find(std::string(1, '\0') + s + '\0') != std::string::npos;
    };
    if (has("KEEL_TEST_MARK=" + mark) && has("OMPI_COMM_WORLD_RANK=" + std::to_string(rank)))
      return pid_t(std::stoi(name));
  }
  return -1;
}

bool alive(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t close = stat.rfind(')');
  return !stat.empty() && close != std::string::npos && stat[close + 2] != 'Z';
}

}  // namespace

TEST_CASE("a rank killed with SIGKILL makes the others exit within 5 s naming it, the checkpoint intact") {
  TempDir dir;
  const fs::path graph = long_graph(dir);
  const fs::path out = dir / "two", err = dir / "err.txt";
  const std::string mark = dir.path().string();
  std::vector<std::string> argv =
      mpirun_argv({.ranks = 2}, {"run", graph.string(), "-q", "-o", out.string()});
  const pid_t mpirun = ::fork();
  REQUIRE(mpirun >= 0);
  if (mpirun == 0) {
    for (const auto& [k, v] : mpi_env()) ::setenv(k.c_str(), v.c_str(), 1);
    ::setenv("KEEL_TEST_MARK", mark.c_str(), 1);
    const int null = ::open("/dev/null", O_WRONLY),
              e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null, 1);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const auto ckpt = out / "t.ckpt";
  const auto deadline = Clock::now() + std::chrono::seconds(60 * time_scale());
  while (!fs::exists(ckpt) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const pid_t rank0 = find_rank(mark, 0), rank1 = find_rank(mark, 1);
  INFO("ranks " << rank0 << " and " << rank1);
  const bool started = fs::exists(ckpt) && rank0 > 0 && rank1 > 0;
  if (started) ::kill(rank1, SIGKILL);
  const auto killed = Clock::now();
  while (started && alive(rank0) && Clock::now() - killed < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  // mpirun forwards the ranks' last lines as it ends: wait for it (killing
  // it would lose them), but not forever.
  int status = 0;
  while (::waitpid(mpirun, &status, WNOHANG) == 0) {
    if (Clock::now() - killed > std::chrono::seconds(30 * time_scale())) {
      ::kill(mpirun, SIGKILL);
      ::waitpid(mpirun, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(started);
  const std::string text = slurp(err);
  INFO("stderr: " << text << "\nrank 0 exited " << seconds << " s after the kill");
  CHECK(seconds < 5.0);
  CHECK(text.find("keel[rank 0]: error: lost rank 1 (pid " + std::to_string(rank1)) != std::string::npos);
  // The checkpoint is whole and resumes on one process.
  CHECK(keel::read_safetensors(ckpt).metadata.count("step") == 1);
  const ProcessResult resumed = run_keel({"run", graph.string(), "-q", "-o", (dir / "resumed").string(),
                                          "--set", "train.steps=200", "--resume", ckpt.string()});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
}
