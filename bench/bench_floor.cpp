// The floor: one training step of the large model (bench/graphs/large_train.yaml)
// through Keel's trainer, against the same step chained by hand from raw
// oneDNN primitives (floor_step.hpp): the least the step can cost with
// oneDNN on the plugins' layouts. Both run in one process, alternating step
// by step on the same batches of one synthetic data set (floor_pass.hpp);
// each time reported is the median over rounds of one step.
//
// A second pass, the same way but under Keel's profiler (`keel run
// --profile`'s spans) with the floor timing its parts, prints on stderr
// where Keel's step spends its time beyond the floor (step_breakdown.hpp).
//
// Each thread count runs in a process of its own, started with
// OMP_NUM_THREADS set, as `keel run` starts: oneDNN sizes some primitives
// for the thread count when it creates them, and its primitive cache and
// the OpenMP pool outlive any change made inside a process.
//
// Usage: bench_floor [--quick] [--threads N]   (default: 1 and 2 threads)
// Prints a JSON list of rows on stdout (README.md, "Adding a benchmark").
// Exit status: 0 done, 1 failed (one line on stderr), 2 bad arguments.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <random>

#include "bench_util.hpp"
#include "floor_pass.hpp"
#include "floor_step.hpp"
#include "graph/parse.hpp"
#include "graph/train_def.hpp"
#include "runtime/allocator_tuning.hpp"
#include "runtime/dataset.hpp"
#include "runtime/npy.hpp"
#include "step_breakdown.hpp"

extern char** environ;

namespace keel::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kUsage = 2;
constexpr std::uint64_t kWarmup = 3;  // steps before timing; the first is also the floor's check
constexpr double kTarget = 1.10;      // keel time / floor time
// The profiler span of a step as timed here (floor_pass.hpp); the
// trainer's own step span also holds the floor's step.
constexpr const char* kTimedStep = "step until on_step";

struct Options {
  bool quick = false;
  std::vector<int> threads{1, 2};
  bool child = false;  // this process runs one thread count (OMP_NUM_THREADS already set)
};

// A fresh folder under the system's temporary folder, removed with its
// contents at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "keel-bench-floor-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw runtime_error("cannot create a temporary folder: " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The floor's configuration from the graph (its blocks named fc1..fcN, as
// floor_step.hpp assumes) and its train: section.
raw::FloorConfig floor_config(const Plan& plan, const TrainDef& train) {
  const std::string mismatch =
      "bench/graphs/large_train.yaml no longer has the shape floor_step.hpp builds: ";
  raw::FloorConfig c;
  const Parameter* head = find_param(plan, "head.weight");
  if (!head || head->shape.size() != 2) throw runtime_error(mismatch + "no head.weight [classes, width]");
  c.classes = head->shape[0], c.width = head->shape[1];
  c.blocks = 0;
  while (find_param(plan, "fc" + std::to_string(c.blocks + 1) + ".weight")) ++c.blocks;
  if (c.blocks == 0) throw runtime_error(mismatch + "no fc1.weight");
  c.batch = train.data.batch;
  const OptimizerDef& opt = train.optimizer;
  auto attr = [&](const char* name) {
    const auto it = opt.attrs.find(name);
    return it == opt.attrs.end() ? std::string() : it->second.items.at(0);
  };
  auto number = [&](const char* name) { return attr(name).empty() ? 0.0f : std::stof(attr(name)); };
  if (opt.op != "sgd" || number("dampening") != 0 || attr("nesterov") == "true" ||
      number("clip_value") != 0 || number("l1") != 0)
    throw runtime_error(mismatch +
                        "the optimizer is not SGD without dampening, Nesterov and per-value terms");
  c.lr = float(opt.lr), c.clip_grad_norm = float(opt.clip_grad_norm);
  c.momentum = number("momentum"), c.weight_decay = number("weight_decay");
  return c;
}

// The data set: x standard normal, labels the argmax of a fixed random
// linear map of x (as bench/run makes the large model's), written as the
// graph's npy files beside a copy of the graph.
struct DataSet {
  Tensor x, labels;
};

DataSet write_data(const fs::path& dir, std::int64_t rows, std::int64_t width, std::int64_t classes) {
  DataSet d{Tensor(DType::f32, {rows, width}), Tensor(DType::i64, {rows})};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  float* x = d.x.as<float>();
  for (std::int64_t i = 0; i < rows * width; ++i) x[i] = normal(rng);
  std::vector<float> w(std::size_t(width * classes));
  for (float& v : w) v = normal(rng);
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<double> score(std::size_t(classes), 0.0);
    for (std::int64_t j = 0; j < width; ++j)
      for (std::int64_t c = 0; c < classes; ++c)
        score[std::size_t(c)] += x[r * width + j] * w[std::size_t(j * classes + c)];
    d.labels.as<std::int64_t>()[r] = std::max_element(score.begin(), score.end()) - score.begin();
  }
  write_npy(dir / "x.npy", d.x);
  write_npy(dir / "label.npy", d.labels);
  return d;
}

// One thread count, in this process: prints its row (a JSON object).
void measure(int threads, bool quick) {
  const std::uint64_t rounds = quick ? 3 : 15, steps = kWarmup + rounds;
  const auto registry = load_registry();
  TempDir dir;
  fs::copy_file(fs::path(KEEL_BENCH_GRAPHS) / "large_train.yaml", dir.path() / "large_train.yaml");
  GraphDef def = parse_graph_file(dir.path() / "large_train.yaml");
  if (!def.train) throw runtime_error("bench/graphs/large_train.yaml has no train: section");
  def.train->steps = std::int64_t(steps);
  const ValidatedGraph graph = validate_graph(std::move(def), *registry);
  const TrainDef& train = *graph.def.train;

  raw::FloorConfig config;
  {
    Plan plan(graph, *registry);
    plan.infer_symbolic();
    config = floor_config(plan, train);
  }
  // One row more than the steps take, so no epoch ends (and no evaluation
  // runs) while timing.
  const auto rows = std::int64_t(steps + 1) * config.batch;
  const DataSet data = write_data(dir.path(), rows, config.width, config.classes);
  // The trainer's first epoch: rows in this order (no hold-out split).
  const std::vector<std::size_t> order = permutation(std::size_t(rows), graph.def.seed, 1);
  raw::FloorStep floor_step(config, data.x.as<float>(), data.labels.as<std::int64_t>());

  PassSetup setup{.graph = graph,
                  .registry = *registry,
                  .floor = floor_step,
                  .order = order,
                  .warmup = kWarmup,
                  .output_dir = dir.path() / "keel",
                  .threads = threads,
                  .profiler = nullptr,
                  .step_span = kTimedStep};
  const PassResult plain = run_pass(setup);
  const double keel_ms = median(plain.keel) * 1e3, floor_ms = median(plain.floor) * 1e3;
  const double ratio = keel_ms / floor_ms;
  std::fprintf(
      stderr,
      "bench_floor, %d thread%s: keel %.2f ms/step, floor %.2f ms/step, ratio %.3f (medians of %llu steps); "
      "after step 0, floor vs keel: %s\n",
      threads, threads == 1 ? "" : "s", keel_ms, floor_ms, ratio, static_cast<unsigned long long>(rounds),
      plain.check.c_str());

  Profiler profiler;
  setup.output_dir = dir.path() / "keel-profiled";
  setup.profiler = &profiler;
  const PassResult profiled = run_pass(setup);
  profiler.write_chrome_trace(dir.path() / "trace.json");
  print_breakdown(stderr, threads,
                  read_step_parts(dir.path() / "trace.json", graph, kTimedStep, kWarmup, steps),
                  profiled.floor_parts, profiled.allocations);

  std::printf(
      "{\"benchmark\": \"training step, large model, %d thread%s\", \"keel\": \"%.2f ms/step\", "
      "\"reference\": \"%.2f ms/step (raw oneDNN floor)\", \"ratio\": \"%.2f\", \"target\": \"<= %.2f: "
      "%s\"}\n",
      threads, threads == 1 ? "" : "s", keel_ms, floor_ms, ratio, kTarget,
      ratio <= kTarget ? "met" : "missed");
}

// Runs this program for one thread count in a child process with
// OMP_NUM_THREADS set; returns what it printed on stdout.
std::string run_child(int threads, bool quick) {
  std::vector<std::string> env_text{"OMP_NUM_THREADS=" + std::to_string(threads)};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OMP_NUM_THREADS=", 16) != 0) env_text.emplace_back(*e);
  std::vector<char*> env;
  for (std::string& s : env_text) env.push_back(s.data());
  env.push_back(nullptr);
  std::string exe = "/proc/self/exe", child = "--child", count = std::to_string(threads), q = "--quick";
  std::vector<char*> argv{exe.data(), child.data(), count.data()};
  if (quick) argv.push_back(q.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe(fds) != 0) throw runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    throw runtime_error(std::string("cannot start the ") + count + "-thread run: " + std::strerror(err));
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    throw runtime_error("the " + count + "-thread run was killed by signal " +
                        std::to_string(WTERMSIG(status)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw runtime_error("the " + count + "-thread run failed (its message above)");
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  auto count = [](const char* text) {
    char* end = nullptr;
    const long n = std::strtol(text, &end, 10);
    if (!*text || *end || n < 1 || n > 1024) return 0;
    return int(n);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--threads" || a == "--child") {
      if (i + 1 == argc || !count(argv[i + 1]))
        throw usage_error(a + " needs a thread count, a whole number from 1 to 1024");
      o.threads = {count(argv[++i])};
      o.child = o.child || a == "--child";
    } else {
      throw usage_error("unexpected argument '" + a + "' (usage: bench_floor [--quick] [--threads N])");
    }
  }
  return o;
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench;
  try {
    const Options o = parse_options(argc, argv);
    if (o.child) {
      keel::keep_freed_memory();  // as keel's main does before anything else
      measure(o.threads.front(), o.quick);
      return 0;
    }
    // Each child prints one row; together they are one JSON list.
    std::string list;
    for (int t : o.threads) {
      std::string row = run_child(t, o.quick);
      while (!row.empty() && std::isspace(static_cast<unsigned char>(row.back()))) row.pop_back();
      list += (list.empty() ? "[\n  " : ",\n  ") + row;
    }
    std::printf("%s\n]\n", list.c_str());
    return 0;
  } catch (const keel::Error& e) {
    std::fprintf(stderr, "bench_floor: %s\n", e.format().c_str());
    return e.code() == keel::ExitCode::usage ? kUsage : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_floor: %s\n", e.what());
    return 1;
  }
}
