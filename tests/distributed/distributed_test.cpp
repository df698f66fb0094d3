// `mpirun -np N keel run`: with global batch statistics N ranks train the
// flagship to the single process's parameters, repeated runs write the same
// bytes (over shared memory or TCP alike), per-rank statistics keep the
// hold-out accuracy, guards fired on one rank act on every rank, a resumed
// run may use another N, and what cannot run data-parallel is refused.
// The single-process runs are the reference: they are checked against
// PyTorch and finite differences elsewhere in the suite.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "mpi_run.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string flagship = std::string(KEEL_SOURCE_DIR) + "/graphs/digits_train.yaml";

// keel run ARGS on the flagship, one intra-op thread per process.
std::vector<std::string> flagship_run(const fs::path& out, std::vector<std::string> extra) {
  std::vector<std::string> args{"run", flagship, "-q", "-o", out.string(), "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The same, without the biases of fc1 and fc2: the batchnorm after each
// subtracts its batch mean, so their exact gradient is zero and their
// values only ever hold rounding noise, which no two ways of summing share.
// The model computes the same function.
std::vector<std::string> flagship_exact(const fs::path& out, std::vector<std::string> extra) {
  std::vector<std::string> args = flagship_run(out, {"--set", "fc1.bias=false", "--set", "fc2.bias=false"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void require_ok(const ProcessResult& r) {
  INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
}

void check_close(const fs::path& ckpt, const fs::path& reference, double tolerance) {
  const Difference d = largest_difference(ckpt, reference);
  INFO(ckpt.string() << " against " << reference.string() << ": tensor '" << d.tensor << "' differs by "
                     << d.relative << " relative");
  CHECK(d.relative <= tolerance);
}

// Whether two files hold the same bytes; a missing one fails the test.
bool same_bytes(const fs::path& a, const fs::path& b) {
  const std::string x = slurp(a), y = slurp(b);
  INFO(a.string() << " and " << b.string());
  REQUIRE_FALSE(x.empty());
  return x == y;
}

// The last epoch's hold-out accuracy in DIR/metrics.jsonl.
double holdout_accuracy(const fs::path& dir) {
  const std::string text = slurp(dir / "metrics.jsonl");
  const std::string key = "\"holdout_accuracy\":";
  const std::size_t at = text.rfind(key);
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + key.size()));
}

}  // namespace

TEST_CASE(
    "with sync batchnorm 2 and 4 ranks reach one process's parameters after 100 steps, byte-identical "
    "when repeated") {
  TempDir dir;
  const std::vector<std::string> settings{"--set", "train.steps=100", "--set",
                                          "train.distributed.sync_batchnorm=true"};
  require_ok(run_keel(flagship_exact(dir / "one", settings)));
  require_ok(run_ranks({.ranks = 2}, flagship_exact(dir / "two", settings)));
  require_ok(run_ranks({.ranks = 2}, flagship_exact(dir / "two-again", settings)));
  require_ok(run_ranks({.ranks = 4}, flagship_exact(dir / "four", settings)));
  // Every parameter, the running statistics included.
  check_close(dir / "two" / "digits.ckpt", dir / "one" / "digits.ckpt", 1e-5);
  check_close(dir / "four" / "digits.ckpt", dir / "one" / "digits.ckpt", 1e-5);
  CHECK(same_bytes(dir / "two" / "digits.ckpt", dir / "two-again" / "digits.ckpt"));
}

TEST_CASE("sync set on one batchnorm node alone makes that node's statistics global") {
  TempDir dir;
  // Both batchnorms synced by their own attribute: the same parameters as the
  // train-level switch gives, to the bit.
  const std::vector<std::string> steps{"--set", "train.steps=30"};
  std::vector<std::string> per_node = steps;
  for (const char* node : {"bn1", "bn2"})
    per_node.insert(per_node.end(), {"--set", std::string(node) + ".sync=true"});
  std::vector<std::string> switched = steps;
  switched.insert(switched.end(), {"--set", "train.distributed.sync_batchnorm=true"});
  require_ok(run_ranks({.ranks = 2}, flagship_exact(dir / "nodes", per_node)));
  require_ok(run_ranks({.ranks = 2}, flagship_exact(dir / "switch", switched)));
  require_ok(run_keel(flagship_exact(dir / "one", steps)));
  CHECK(same_bytes(dir / "nodes" / "digits.ckpt", dir / "switch" / "digits.ckpt"));
  check_close(dir / "nodes" / "digits.ckpt", dir / "one" / "digits.ckpt", 1e-5);
}

TEST_CASE("2 ranks over TCP alone write the same checkpoint bytes as over shared memory") {
  TempDir dir;
  const std::vector<std::string> settings{"--set", "train.steps=30"};
  require_ok(run_ranks({.ranks = 2, .tcp_only = true}, flagship_run(dir / "tcp", settings)));
  require_ok(run_ranks({.ranks = 2}, flagship_run(dir / "shm", settings)));
  CHECK(same_bytes(dir / "tcp" / "digits.ckpt", dir / "shm" / "digits.ckpt"));
}

TEST_CASE(
    "with per-rank batchnorm statistics 2 ranks reach the single-process hold-out accuracy within 1 "
    "point") {
  TempDir dir;
  const std::vector<std::string> settings{"--set", "train.epochs=10"};
  require_ok(run_keel(flagship_run(dir / "one", settings)));
  require_ok(run_ranks({.ranks = 2}, flagship_run(dir / "two", settings)));
  const double one = holdout_accuracy(dir / "one"), two = holdout_accuracy(dir / "two");
  INFO("hold-out accuracy: one process " << one << ", 2 ranks " << two);
  CHECK(one > 0.9);
  CHECK(std::fabs(one - two) <= 0.01);
  // Per-rank statistics are a different computation: the parameters part
  // (so the equivalence test above is not passing by accident).
  CHECK(largest_difference(dir / "two" / "digits.ckpt", dir / "one" / "digits.ckpt").relative > 1e-3);
}

TEST_CASE("a run resumed with another number of ranks continues from the global data position") {
  TempDir dir;
  const std::vector<std::string> sync{"--set", "train.distributed.sync_batchnorm=true", "--set",
                                      "train.checkpoint.every=20"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> s = sync;
    s.insert(s.end(), more.begin(), more.end());
    return s;
  };
  require_ok(run_keel(flagship_exact(dir / "one", with({"--set", "train.steps=60"}))));
  require_ok(run_ranks({.ranks = 2}, flagship_exact(dir / "first", with({"--set", "train.steps=40"}))));
  // 3 ranks: a batch of 64 splits 22, 21, 21.
  require_ok(run_ranks({.ranks = 3},
                       flagship_exact(dir / "resumed", with({"--set", "train.steps=60", "--resume",
                                                             (dir / "first" / "digits.ckpt").string()}))));
  check_close(dir / "resumed" / "digits.ckpt", dir / "one" / "digits.ckpt", 1e-5);
}

TEST_CASE("what cannot run data-parallel is refused with one line on every rank and exit 2") {
  TempDir dir;
  SECTION("a graph without a train section") {
    const ProcessResult r = run_ranks(
        {.ranks = 2}, {"run", std::string(KEEL_SOURCE_DIR) + "/graphs/digits_infer.yaml", "-q", "-o",
                       (dir / "out").string(), "--input", "pixels=" + (dir / "none.npy").string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    for (const char* rank : {"keel[rank 0]: error: ", "keel[rank 1]: error: "})
      CHECK(r.err.find(rank) != std::string::npos);
    CHECK(r.err.find("mpirun") != std::string::npos);
  }
  SECTION("a batch smaller than the number of ranks") {
    const ProcessResult r =
        run_ranks({.ranks = 4}, flagship_run(dir / "out", {"--set", "train.data.batch=3"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("fewer than the 4 ranks") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out" / "digits.ckpt"));
  }
}

TEST_CASE("a single-process run neither loads Open MPI nor needs mpirun") {
  TempDir dir;
  const ProcessResult r =
      run_keel(flagship_run(dir / "one", {"--set", "train.steps=2"}), {{"LD_DEBUG", "files"}});
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("libmpi") == std::string::npos);
  CHECK(r.err.find("keel_mpi.so") == std::string::npos);
  CHECK(r.err.find("keel/plugins/") != std::string::npos);  // LD_DEBUG did report the loads
}
