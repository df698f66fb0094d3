// How long a very large graph takes to parse, validate and shape-check (what
// `keel validate` does), against the bundled plugins. The graph is a chain of
// N nodes alternating relu and add (each add also reads the node two back),
// so every node has inputs to resolve and the cycle check walks every edge.
//
//   bench_validate [NODES [ROUNDS]]   default 100000 nodes, 5 rounds;
//                                     prints the median seconds per phase
//
// Reported as times, not ratios: there is no peer tool that reads Keel's
// graph files. Issue 9's target: 100,000 nodes validate in under a second.
// The floor beside them is yaml-cpp's event parser alone with a handler that
// does nothing: no reader built on yaml-cpp can parse faster than that.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <istream>
#include <streambuf>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "graph/yaml_tree.hpp"

namespace {

class NoHandler final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
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

// Page faults so far: the fresh pages a phase touched.
double faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_minflt + u.ru_majflt);
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

  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  Registry registry;
  load_plugins(registry, {KEEL_BENCH_BUNDLED_PLUGINS});

  // Every measurement runs in a child process forked for it, so each starts
  // from the heap a `keel validate` process has after loading the plugins:
  // fresh memory (slow to touch on a VM), not the memory an earlier phase or
  // round freed. The medians over rounds are reported.
  std::vector<double> floor_s, tree_s, parse_s, validate_s, infer_s;
  std::vector<double> floor_f, tree_f, parse_f, validate_f, infer_f;
  for (int r = 0; r < rounds; ++r) {
    const std::vector<double> f = in_child([&] {
      const double f0 = faults();
      const auto t = bench::Clock::now();
      TextBuffer buffer(yaml);
      std::istream in(&buffer);
      YAML::Parser parser(in);
      NoHandler none;
      while (parser.HandleNextDocument(none)) {
      }
      return std::vector<double>{bench::seconds_since(t), faults() - f0};
    });
    floor_s.push_back(f[0]);
    floor_f.push_back(f[1]);
    const std::vector<double> tr = in_child([&] {
      const double f0 = faults();
      const auto t = bench::Clock::now();
      const yaml::Tree tree(yaml, "chain.yaml");
      return std::vector<double>{bench::seconds_since(t), faults() - f0};
    });
    tree_s.push_back(tr[0]);
    tree_f.push_back(tr[1]);
    // What keel validate does, in its order.
    const std::vector<double> p = in_child([&] {
      double f0 = faults();
      auto t = bench::Clock::now();
      GraphDef def = parse_graph_text(yaml, "chain.yaml");
      const double parse = bench::seconds_since(t), parse_faults = faults() - f0;
      f0 = faults();
      t = bench::Clock::now();
      ValidatedGraph graph = validate_graph(std::move(def), registry);
      const double validate = bench::seconds_since(t), validate_faults = faults() - f0;
      f0 = faults();
      t = bench::Clock::now();
      Plan plan(graph, registry);
      plan.infer_symbolic();
      return std::vector<double>{parse, validate, bench::seconds_since(t), parse_faults, validate_faults, faults() - f0};
    });
    parse_s.push_back(p[0]);
    validate_s.push_back(p[1]);
    infer_s.push_back(p[2]);
    parse_f.push_back(p[3]);
    validate_f.push_back(p[4]);
    infer_f.push_back(p[5]);
  }
  using bench::median;
  const double floor = median(floor_s), tree = median(tree_s), parse = median(parse_s),
               validate = median(validate_s), infer = median(infer_s);
  std::printf("graph of %ld nodes (%.1f MB of YAML), medians of %d rounds; page faults (fresh pages touched) beside\n",
              n, static_cast<double>(yaml.size()) / 1e6, rounds);
  std::printf("  parse           %.3f s  %6.0f\n", parse, median(parse_f));
  std::printf("    yaml tree       %.3f s  %6.0f  (one pass of yaml-cpp's parser, timed alone)\n", tree, median(tree_f));
  std::printf("    GraphDef walk   %.3f s          (parse - yaml tree)\n", parse - tree);
  std::printf("  validate        %.3f s  %6.0f\n", validate, median(validate_f));
  std::printf("  plan + infer    %.3f s  %6.0f\n", infer, median(infer_f));
  std::printf("  total           %.3f s          (keel validate's work)\n", parse + validate + infer);
  std::printf("  floor           %.3f s  %6.0f  (yaml-cpp's event parser alone, doing nothing with the events)\n",
              floor, median(floor_f));
  return 0;
}
