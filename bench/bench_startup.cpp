// How long `keel` takes to start, measured from outside as a user meets it:
// the wall time from just before the process is spawned to
//   - its exit, for `keel --version` and for `keel encrypt` of an empty file
//     (process start, the encrypt plugin, the key file, an atomic write);
//   - the first node of the flagship (`graphs/digits_train.yaml`) running,
//     for `keel run`: the graph gets one more node in front of `unit`,
//     `bench_startup_mark` (startup_mark_plugin.cpp, y = x), whose first
//     forward call writes CLOCK_MONOTONIC to stderr. Everything before it is
//     start-up: process start, plugins, the graph, the data, planning, the
//     trainer and the ops' preparation. The run is cut to one epoch; the
//     time after the mark is not measured.
// Beside them, the floor: spawning /bin/true, what any process costs here.
// Each round runs every command once, in a rotating order, after a warm-up
// round (page cache); medians over rounds. Prints the rows for bench/run's
// table (README.md, "Adding a benchmark").
//
//   bench_startup [--quick] [--keel PATH]   15 rounds (--quick: 3); another
//                                           keel binary (an older build) to time
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

std::int64_t monotonic_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_startup: %s\n", what.c_str());
  std::exit(1);
}

struct Outcome {
  double exit_ms = 0;      // spawn to exit
  double mark_ms = 0;      // spawn to the mark line (0: none)
  double cpu_ms = 0;       // the child's user + system time, to its exit
  double mark_cpu_ms = 0;  // the same up to the mark
};

// Runs `argv` with stdout to /dev/null and stderr into a pipe; times it
// from just before posix_spawn. A command that fails stops the benchmark.
Outcome time_command(const std::vector<std::string>& argv) {
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) fail(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const std::int64_t t0 = monotonic_ns();
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err[1]);
  if (rc != 0) fail("cannot start " + argv[0] + ": " + std::strerror(rc));
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(err[0]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  Outcome out;
  out.exit_ms = double(monotonic_ns() - t0) / 1e6;
  out.cpu_ms = 1e3 * (double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                      1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += " " + a;
    fail("command failed:" + cmd + "\n" + text);
  }
  const std::string tag = "keel-startup-mark ";
  if (const auto at = text.find(tag); at != std::string::npos) {
    std::istringstream mark(text.substr(at + tag.size()));
    long long ns = 0, cpu_us = 0;
    mark >> ns >> cpu_us;
    out.mark_ms = double(ns - t0) / 1e6;
    out.mark_cpu_ms = double(cpu_us) / 1e3;
  }
  return out;
}

// The flagship with the mark node in front of its first node, its data
// path made absolute so the copy can live anywhere.
std::string flagship_with_mark(const fs::path& graphs) {
  std::ifstream in(graphs / "digits_train.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string yaml = ss.str();
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = yaml.find(from);
    if (at == std::string::npos) fail("graphs/digits_train.yaml has no '" + from + "'");
    yaml.replace(at, from.size(), to);
  };
  replace("  - {name: unit, op: scale, inputs: [pixels]",
          "  - {name: mark, op: bench_startup_mark, inputs: [pixels]}\n"
          "  - {name: unit, op: scale, inputs: [mark]");
  replace("csv: [data/digits.csv]", "csv: [" + (graphs / "data" / "digits.csv").string() + "]");
  return yaml;
}

std::string ms_text(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
  return buf;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string keel = KEEL_BENCH_KEEL;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick")
      quick = true;
    else if (arg == "--keel" && i + 1 < argc)
      keel = argv[++i];
    else
      fail("usage: bench_startup [--quick] [--keel PATH]");
  }
  const int rounds = quick ? 3 : 15;
  const fs::path work = fs::path(KEEL_BENCH_DIR) / "data" / "startup";
  fs::create_directories(work);

  const fs::path graph = work / "digits_train_mark.yaml";
  std::ofstream(graph) << flagship_with_mark(KEEL_BENCH_GRAPHS);
  const fs::path empty = work / "empty.bin", key = work / "startup.key";
  std::ofstream(empty).close();
  if (!fs::exists(key)) time_command({keel, "keygen", key.string(), "-q"});

  struct Command {
    std::string name;
    std::vector<std::string> argv;
    bool mark;
  };
  const std::vector<Command> commands = {
      {"floor", {"/bin/true"}, false},
      {"version", {keel, "--version"}, false},
      {"encrypt",
       {keel, "encrypt", empty.string(), (work / "empty.enc").string(), "--key-file", key.string(), "-q"},
       false},
      {"run",
       {keel, "run", graph.string(), "-o", (work / "run").string(), "-q", "--plugin-path",
        KEEL_BENCH_MARK_PLUGINS, "--set", "train.epochs=1"},
       true},
  };
  for (const Command& c : commands) time_command(c.argv);  // warm-up: page cache, outputs present

  std::vector<std::vector<double>> wall(commands.size()), cpu(commands.size());
  for (int r = 0; r < rounds; ++r)
    for (std::size_t k = 0; k < commands.size(); ++k) {
      const std::size_t i = (k + std::size_t(r)) % commands.size();
      const Outcome o = time_command(commands[i].argv);
      if (commands[i].mark && o.mark_ms <= 0) fail("keel run printed no start-up mark");
      wall[i].push_back(commands[i].mark ? o.mark_ms : o.exit_ms);
      cpu[i].push_back(commands[i].mark ? o.mark_cpu_ms : o.cpu_ms);
    }
  double med[4], cpu_med[4];
  for (std::size_t i = 0; i < commands.size(); ++i) {
    med[i] = keel::bench::median(wall[i]);
    cpu_med[i] = keel::bench::median(cpu[i]);
  }
  // Wall time, and beside it the CPU time the process used (all threads):
  // with other work on the machine, wall time includes waiting for a core.
  auto cell = [&](std::size_t i, const char* what) {
    return quoted(ms_text(med[i]) + " (CPU " + ms_text(cpu_med[i]) + ")" + what);
  };
  auto row = [&](const std::string& name, std::size_t i, const std::string& target) {
    return "{\"benchmark\": " + quoted(name) + ", \"keel\": " + cell(i, "") +
           ", \"reference\": " + cell(0, " /bin/true") + ", \"target\": " + quoted(target) + "}";
  };
  const bool met = med[3] < 50;
  std::printf(
      "[%s,\n %s,\n %s]\n", row("start-up, `keel --version` (process start to exit)", 1, "-").c_str(),
      row("start-up, `keel encrypt` of an empty file (process start to exit)", 2, "-").c_str(),
      row("start-up, flagship keel run to first node", 3, std::string("< 50 ms: ") + (met ? "met" : "missed"))
          .c_str());
  return 0;
}
