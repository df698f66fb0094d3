// `keel run` trains to the same bytes whatever the thread settings: the
// flagship and the large benchmark model give byte-identical checkpoints
// (and metrics, hold-out outputs) with --threads 1 and 2 and --inter-op 1
// and 2 (docs/performance.md, "Results and the thread count").
#include <catch2/catch.hpp>
#include <filesystem>

#include "cli_util.hpp"
#include "result_files.hpp"
#include "runtime/npy.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

// Trains `graph` with each thread setting; every run's results must be
// byte-identical to the first's.
void check_thread_settings(const std::string& graph, const std::vector<std::string>& extra) {
#if defined(__SANITIZE_THREAD__)
  // libgomp is not instrumented: under TSan an op with two OpenMP threads is
  // reported as racing with itself (scripts/test runs TSan with one thread).
  WARN("skipped under ThreadSanitizer: it needs two OpenMP threads per op");
  return;
#endif
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> settings{
      {"1", "1"}, {"2", "1"}, {"2", "2"}, {"1", "2"}};
  std::map<std::string, std::string> first;
  for (const auto& [threads, inter_op] : settings) {
    const fs::path out = dir / ("t" + threads + "i" + inter_op);
    std::vector<std::string> args{"run",       graph,   "-q",         "-o",    out.string(),
                                  "--threads", threads, "--inter-op", inter_op};
    args.insert(args.end(), extra.begin(), extra.end());
    INFO("--threads " << threads << " --inter-op " << inter_op);
    const auto r = run_keel(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto files = files_under(out);
    if (first.empty()) {
      REQUIRE(files.size() >= 2);  // at least a checkpoint and the metrics
      first = files;
      continue;
    }
    check_same_files(first, files);
  }
}

}  // namespace

TEST_CASE("the flagship trains to the same bytes with --threads 1 and 2 and --inter-op 1 and 2") {
  check_thread_settings(kSource + "/graphs/digits_train.yaml", {"--set", "train.epochs=3"});
}

TEST_CASE(
    "the large benchmark model trains to the same bytes with --threads 1 and 2 and --inter-op 1 and 2") {
  // bench/graphs/large_train.yaml reads x.npy and label.npy next to it: 1,024
  // rows here, 4 steps of 256 per epoch.
  TempDir dir;
  fs::copy_file(kSource + "/bench/graphs/large_train.yaml", dir / "large_train.yaml");
  keel::Tensor x = random_tensor({1024, 512}, 11);
  keel::Tensor label(keel::DType::i64, {1024});
  for (std::int64_t i = 0; i < 1024; ++i) label.as<std::int64_t>()[i] = (i * 7) % 10;
  keel::write_npy(dir / "x.npy", x);
  keel::write_npy(dir / "label.npy", label);
  check_thread_settings((dir / "large_train.yaml").string(),
                        {"--set", "train.epochs=2", "--set", "train.checkpoint.path=large.ckpt"});
}
