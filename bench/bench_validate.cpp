// How long a very large graph takes to parse, validate and shape-check (what
// `keel validate` does), against the bundled plugins. The graph is a chain of
// N nodes alternating relu and add (each add also reads the node two back),
// so every node has inputs to resolve and the cycle check walks every edge.
//
//   bench_validate [--quick] [NODES [ROUNDS]]   default 100000 nodes, 5 rounds
//                                               (--quick: 3); the phases as text
//                                               on stderr, the row for bench/run's
//                                               table (JSON) on stdout
//
// Reported as times, not ratios: there is no peer tool that reads Keel's
// graph files. Issue 9's target: 100,000 nodes validate in under a second.
// The floor beside them is yaml-cpp's event parser alone with a handler that
// does nothing: no reader built on yaml-cpp can parse faster than that.
// The process sets up its memory as `keel validate` does (cli/main.cpp,
// cli/session.cpp: runtime/allocator_tuning.hpp) before the children fork.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <streambuf>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "graph/yaml_tree.hpp"
#include "runtime/allocator_tuning.hpp"

namespace {

class NoHandler final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}
};

// The text read where it lies, as graph/yaml_tree.cpp reads it.
class TextBuffer : public std::streambuf {
 public:
  explicit TextBuffer(const std::string& text) {
    char* p = const_cast<char*>(text.data());
    setg(p, p, p + text.size());
  }
};

// Wall seconds, CPU seconds (user + system) and page faults (fresh pages
// touched) of consecutive phases. CPU time moves less than wall time when
// other work shares the machine.
class Meter {
 public:
  Meter() { mark(); }
  // Ends a phase begun at the previous lap (or at construction).
  void lap() {
    const double w = wall_, c = cpu_, f = faults_;
    mark();
    out.insert(out.end(), {wall_ - w, cpu_ - c, faults_ - f});
  }
  std::vector<double> out;

 private:
  void mark() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    faults_ = static_cast<double>(u.ru_minflt + u.ru_majflt);
    cpu_ = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    wall_ = std::chrono::duration<double>(keel::bench::Clock::now().time_since_epoch()).count();
  }
  double wall_ = 0, cpu_ = 0, faults_ = 0;
};

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "?";
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return text;
}

// 100000 as "100,000".
std::string with_commas(long n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Runs `f` in a forked child and returns the numbers it returned.
template <class F>
std::vector<double> in_child(F f) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("bench_validate: pipe");
    std::exit(1);
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::vector<double> v = f();
    const auto bytes = static_cast<ssize_t>(v.size() * sizeof(double));
    _exit(write(fds[1], v.data(), v.size() * sizeof(double)) == bytes ? 0 : 1);
  }
  close(fds[1]);
  std::vector<double> out;
  double d;
  while (read(fds[0], &d, sizeof d) == sizeof d) out.push_back(d);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.empty()) {
    std::fprintf(stderr, "bench_validate: a measuring child process failed\n");
    std::exit(1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace keel;
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (quick) {
    --argc;
    ++argv;
  }
  keep_freed_memory();  // as keel's main() does
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  std::string yaml = "keel: 1\nname: chain\ninputs:\n  x: {dtype: f32, shape: [batch, 16]}\nnodes:\n";
  yaml.reserve(static_cast<std::size_t>(n) * 48);
  std::string prev2 = "x", prev = "x";
  for (long i = 0; i < n; ++i) {
    const std::string name = "n" + std::to_string(i);
    if (i % 2 == 0)
      yaml += "  - {name: " + name + ", op: relu, inputs: [" + prev + "]}\n";
    else
      yaml += "  - {name: " + name + ", op: add, inputs: [" + prev + ", " + prev2 + "]}\n";
    prev2 = prev;
    prev = name;
  }
  yaml += "outputs: [" + prev + "]\n";

  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : quick ? 3 : 5;
  const std::string load_before = load_average();
  // As keel validate does before reading a graph file of this size.
  reserve_huge_page_heap(yaml.size() * 32);
  Registry registry;
  load_plugins(registry, {KEEL_BENCH_BUNDLED_PLUGINS});

  // Every measurement runs in a child process forked for it, so each starts
  // from the heap a `keel validate` process has after loading the plugins:
  // fresh memory (slow to touch on a VM), not the memory an earlier phase or
  // round freed. The medians over rounds are reported.
  enum Phase { kFloor, kTree, kParse, kValidate, kInfer, kPhases };
  std::vector<double> samples[kPhases][3];  // per phase: wall, cpu, faults
  auto keep = [&](const std::vector<double>& v, int phase) {
    for (std::size_t i = 0; i < v.size(); ++i) samples[phase + int(i / 3)][i % 3].push_back(v[i]);
  };
  for (int r = 0; r < rounds; ++r) {
    keep(in_child([&] {
           Meter m;
           TextBuffer buffer(yaml);
           std::istream in(&buffer);
           YAML::Parser parser(in);
           NoHandler none;
           while (parser.HandleNextDocument(none)) {
           }
           m.lap();
           return m.out;
         }),
         kFloor);
    keep(in_child([&] {
           Meter m;
           { const yaml::Tree tree(yaml, "chain.yaml"); }
           m.lap();
           return m.out;
         }),
         kTree);
    // What keel validate does, in its order.
    keep(in_child([&] {
           Meter m;
           GraphDef def = parse_graph_text(yaml, "chain.yaml");
           m.lap();
           ValidatedGraph graph = validate_graph(std::move(def), registry);
           m.lap();
           Plan plan(graph, registry);
           plan.infer_symbolic();
           m.lap();
           return m.out;
         }),
         kParse);
  }
  double med[kPhases][3];
  for (int p = 0; p < kPhases; ++p)
    for (int k = 0; k < 3; ++k) med[p][k] = bench::median(samples[p][k]);
  auto row = [&](const char* name, int p, const char* note) {
    std::fprintf(stderr, "  %-16s %7.3f s %7.3f s %8.0f  %s\n", name, med[p][0], med[p][1], med[p][2], note);
  };
  std::fprintf(stderr, "graph of %ld nodes (%.1f MB of YAML), medians of %d rounds\n", n,
               static_cast<double>(yaml.size()) / 1e6, rounds);
  std::fprintf(stderr, "  %-16s %9s %9s %8s\n", "phase", "wall", "cpu", "faults");
  row("parse", kParse, "");
  std::fprintf(stderr, "    %-14s %7.3f s %7.3f s %8s  (parse - yaml tree)\n", "GraphDef walk",
               med[kParse][0] - med[kTree][0], med[kParse][1] - med[kTree][1], "");
  row("  yaml tree", kTree, "(one pass of yaml-cpp's parser, timed alone)");
  row("validate", kValidate, "");
  row("plan + infer", kInfer, "");
  std::fprintf(stderr, "  %-16s %7.3f s %7.3f s %8.0f  (keel validate's work)\n", "total",
               med[kParse][0] + med[kValidate][0] + med[kInfer][0],
               med[kParse][1] + med[kValidate][1] + med[kInfer][1],
               med[kParse][2] + med[kValidate][2] + med[kInfer][2]);
  row("floor", kFloor, "(yaml-cpp's event parser alone, doing nothing with the events)");
  std::fprintf(stderr, "load average before and after: %s / %s\n", load_before.c_str(),
               load_average().c_str());
  // The row for bench/run's table.
  const double total = med[kParse][0] + med[kValidate][0] + med[kInfer][0];
  std::printf(
      "[{\"benchmark\": \"validation, %s-node graph (%.1f MB of YAML): parse, validate, plan and infer\", "
      "\"keel\": \"%.3f s (parse %.3f, validate %.3f, plan %.3f)\", \"reference\": \"%.3f s "
      "(yaml-cpp's event parser alone)\", \"ratio\": \"%.2f\", \"target\": \"<= 1 s: %s\"}]\n",
      with_commas(n).c_str(), static_cast<double>(yaml.size()) / 1e6, total, med[kParse][0],
      med[kValidate][0], med[kInfer][0], med[kFloor][0], total / med[kFloor][0],
      total <= 1.0 ? "met" : "missed");
  return 0;
}
