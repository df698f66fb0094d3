// What a run may write, and where: a graph file cannot write outside
// --output-dir or make two of a run's files collide; one run at a time per
// output folder; no silent downgrade from a sealed to a plaintext
// checkpoint; --resume continues only the run that wrote the checkpoint;
// output that cannot be written is a failure; a mistyped command is named.
// Each case checks the exit code, the one-line message and the disk.
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "error_checks.hpp"
#include "hardening_util.hpp"
#include "runtime/npy.hpp"
#include "runtime/safetensors.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

// A four-feature, three-class softmax regression on eight rows: a few
// milliseconds of training. `train_extra` is spliced into the train: section.
fs::path tiny_graph(const TempDir& dir, const std::string& train_extra, const std::string& name = "tiny") {
  write_rows_csv(dir);
  return dir.write(name + ".yaml", "keel: 1\nname: " + name +
                                       "\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n"
                                       "  y: {dtype: i32, shape: [batch]}\n"
                                       "nodes:\n  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}}\n"
                                       "  - {name: loss, op: softmax_cross_entropy, inputs: [fc, y]}\n"
                                       "outputs: [fc]\ntrain:\n  loss: loss\n"
                                       "  data: {csv: [rows.csv], columns: {x: \"0:4\", y: 4}, batch: 2}\n"
                                       "  epochs: 2\n  optimizer: {op: sgd, lr: 0.1}\n" +
                                       train_extra);
}

void expect_refused(const ProcessResult& r, int code, const std::string& fragment) {
  check_keel_error(r, code, fragment);
  CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
}

bool has_files(const fs::path& dir) {
  if (!fs::exists(dir)) return false;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory()) return true;
  return false;
}

ProcessResult run(const fs::path& graph, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run", graph.string(), "-q", "-o", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_keel(args);
}

}  // namespace

TEST_CASE("a graph cannot name a file outside the output folder, for validate or run") {
  TempDir dir;
  fs::create_directories(dir / "victim");
  const fs::path victim = dir.write("victim/x.ckpt", "precious\n");
  struct Case {
    std::string train;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"  checkpoint: {path: ../victim/x.ckpt}\n",
       ":15:22: train.checkpoint.path '../victim/x.ckpt' leaves the output folder"},
      {"  checkpoint: {path: sub/../../victim/x.ckpt}\n", "leaves the output folder"},
      {"  checkpoint: {path: " + victim.string() + "}\n", "is absolute"},
      {"  metrics: " + victim.string() + "\n", ":15:12: train.metrics '" + victim.string() + "' is absolute"},
  };
  for (const auto& c : cases) {
    const fs::path graph = tiny_graph(dir, c.train);
    INFO(c.train);
    expect_refused(run_keel({"validate", graph.string()}), 2, c.fragment);
    expect_refused(run(graph, dir / "out"), 2, c.fragment);
    CHECK(slurp(victim) == "precious\n");
    CHECK_FALSE(has_files(dir / "out"));
  }
}

TEST_CASE("files of one run that would collide are refused at validation") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  checkpoint: {path: m.jsonl}\n  metrics: m.jsonl\n", "is the same file as train.checkpoint.path"},
      {"  checkpoint: {path: logs/m.ckpt}\n  metrics: logs\n", "is the same file as train.checkpoint.path"},
      {"  checkpoint: {path: fc.npy}\n", "collides with 'fc.npy'"},
      {"  checkpoint: {path: ./holdout/x.npy}\n", "collides with 'holdout/x.npy'"},
      {"  metrics: anomalies.jsonl\n", "collides with 'anomalies.jsonl'"},
      {"  checkpoint: {path: .}\n", "names a folder"},
      {"  checkpoint: {path: sub/}\n", "names a folder"},
  };
  for (const auto& [train, fragment] : cases) {
    INFO(train);
    const fs::path graph = tiny_graph(dir, train);
    expect_refused(run_keel({"validate", graph.string()}), 2, fragment);
  }
  // Inside the folder, in a subfolder: fine.
  const fs::path ok = tiny_graph(dir, "  checkpoint: {path: ckpt/a/../t.ckpt}\n  metrics: logs/m.jsonl\n");
  const ProcessResult r = run(ok, dir / "out");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(dir / "out/ckpt/t.ckpt"));
  CHECK(fs::exists(dir / "out/logs/m.jsonl"));
  CHECK_FALSE(fs::exists(dir / "out/.keel.lock"));  // released and removed
}

TEST_CASE("a symbolic link in the output folder cannot carry a checkpoint outside it") {
  TempDir dir;
  fs::create_directories(dir / "victim");
  fs::create_directories(dir / "out");
  fs::create_directory_symlink(dir / "victim", dir / "out/sub");
  fs::create_symlink(dir / "victim/m.jsonl", dir / "out/m.jsonl");
  for (const std::string& train :
       {std::string("  checkpoint: {path: sub/x.ckpt}\n"), std::string("  metrics: m.jsonl\n")}) {
    INFO(train);
    const fs::path graph = tiny_graph(dir, train);
    CHECK(run_keel({"validate", graph.string()}).exit_code == 0);  // the names alone are fine
    expect_refused(run(graph, dir / "out"), 2, "leads outside the output folder");
    CHECK(fs::is_empty(dir / "victim"));
  }
}

TEST_CASE("a second run into a busy output folder exits 1 naming the process that holds it") {
  TempDir dir;
  const fs::path graph = tiny_graph(dir, "  checkpoint: {path: t.ckpt}\n");
  fs::create_directories(dir / "out");
  // Hold the folder as a running keel does: flock on its lock file, our pid inside.
  const fs::path lock = dir / "out/.keel.lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const std::string pid = std::to_string(::getpid());
  REQUIRE(::write(fd, pid.data(), pid.size()) == ssize_t(pid.size()));
  expect_refused(run(graph, dir / "out"), 1, "is in use by another keel run (process " + pid + ")");
  CHECK_FALSE(fs::exists(dir / "out/metrics.jsonl"));
  CHECK_FALSE(fs::exists(dir / "out/t.ckpt"));
  // Inference into the same folder waits its turn too.
  ::close(fd);  // released, as when the holder exits however it exits
  const ProcessResult r = run(graph, dir / "out");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Every metrics line is whole JSON of its own.
  std::istringstream lines(slurp(dir / "out/metrics.jsonl"));
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
  }
  CHECK(n == 2);
}

TEST_CASE("with a key given, a plaintext checkpoint is refused unless --allow-plaintext") {
  TempDir dir;
  REQUIRE(run_keel({"keygen", (dir / "k.key").string(), "-q"}).exit_code == 0);
  const fs::path plain = tiny_graph(dir, "  checkpoint: {path: t.ckpt}\n");
  REQUIRE(run(plain, dir / "plain").exit_code == 0);
  const std::string ckpt = (dir / "plain/t.ckpt").string();

  // --params and --resume with --key-file.
  expect_refused(run(plain, dir / "a", {"--resume", ckpt, "--key-file", (dir / "k.key").string()}), 2,
                 "'" + ckpt + "' is not encrypted, but a key is given for it");
  CHECK_FALSE(has_files(dir / "a"));
  const ProcessResult allowed =
      run(plain, dir / "b", {"--resume", ckpt, "--key-file", (dir / "k.key").string(), "--allow-plaintext"});
  INFO(allowed.err);
  CHECK(allowed.exit_code == 0);

  // A sealed training run resuming from a plaintext checkpoint.
  const fs::path sealed =
      tiny_graph(dir, "  checkpoint: {path: t.ckpt, encrypt: {key_file: k.key}}\n", "tiny");
  expect_refused(run(sealed, dir / "c", {"--resume", ckpt}), 2, "is not encrypted");
  CHECK_FALSE(has_files(dir / "c"));
  expect_refused(run(sealed, dir / "d", {"--params", ckpt}), 2, "is not encrypted");
}

TEST_CASE("a resumed run must be the run that wrote the checkpoint") {
  TempDir dir;
  const fs::path graph = tiny_graph(dir, "  checkpoint: {path: t.ckpt}\n");
  REQUIRE(run(graph, dir / "first").exit_code == 0);
  const std::string ckpt = (dir / "first/t.ckpt").string();

  expect_refused(run(graph, dir / "a", {"--resume", ckpt, "--params", ckpt}), 2, "give --params or --resume");
  expect_refused(run(graph, dir / "b", {"--resume", ckpt, "--set", "seed=7"}), 2,
                 ckpt + ": the checkpoint was trained with seed 0, this run has 7");
  CHECK_FALSE(has_files(dir / "b"));
  expect_refused(
      run(graph, dir / "c", {"--resume", ckpt, "--set", "train.steps=9", "--set", "train.batch=4"}), 2,
      "the checkpoint was trained with batch 2, this run has 4");
  const ProcessResult forced =
      run(graph, dir / "d", {"--resume", ckpt, "--set", "seed=7", "--allow-resume-mismatch"});
  INFO(forced.err);
  CHECK(forced.exit_code == 0);

  const fs::path other = tiny_graph(dir, "  checkpoint: {path: t.ckpt}\n", "other");
  expect_refused(run(other, dir / "e", {"--resume", ckpt}), 2,
                 "the checkpoint was written by graph 'tiny', not 'other'");

  // Metadata edited: an unknown format version, a position past the epoch's end.
  TensorFile f = read_safetensors(ckpt);
  f.metadata["format"] = "keel-checkpoint-9";
  write_safetensors(dir / "future.ckpt", f);
  expect_refused(run(graph, dir / "f", {"--resume", (dir / "future.ckpt").string()}), 2,
                 "checkpoint format 'keel-checkpoint-9' is not one this keel reads (keel-checkpoint-1)");
  f = read_safetensors(ckpt);
  f.metadata["batch"] = "5";  // eight rows in batches of two: four batches an epoch
  write_safetensors(dir / "past.ckpt", f);
  expect_refused(run(graph, dir / "g", {"--resume", (dir / "past.ckpt").string()}), 2,
                 "lies past the end of an epoch, which has 4 batches");
  f = read_safetensors(ckpt);
  f.metadata.clear();
  write_safetensors(dir / "bare.ckpt", f);
  expect_refused(run(graph, dir / "h", {"--resume", (dir / "bare.ckpt").string()}), 2,
                 "not a Keel training checkpoint");
  CHECK_FALSE(has_files(dir / "f"));
  CHECK_FALSE(has_files(dir / "g"));
}

TEST_CASE("output that cannot be written is a failure naming the reason") {
  const std::string keel = keel_binary();
  for (const std::string& cmd :
       {keel + " schema > /dev/full", keel + " plugins --json > /dev/full", keel + " plugins > /dev/full"}) {
    const ProcessResult r = run_process({"/bin/sh", "-c", cmd});
    INFO(cmd << "\nstderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.first_err_line() == "keel: error: cannot write to standard output: No space left on device");
  }
}

TEST_CASE("an unknown command is named, with the list of commands") {
  const ProcessResult r = run_keel({"bogus"});
  expect_refused(r, 2, "unknown command 'bogus' (commands: run, validate, plugins, graph, keygen,");
  expect_refused(run_keel({"rnu", "g.yaml"}), 2, "unknown command 'rnu' (did you mean 'run'?)");
  CHECK(run_keel({"--version"}).exit_code == 0);
}

TEST_CASE("a file that cannot be written whole is a failure naming the OS reason, with nothing left") {
  TempDir dir;
  const fs::path graph = dir.write("g.yaml",
                                   "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 64]}\n"
                                   "nodes:\n  - {name: r, op: relu, inputs: [x]}\noutputs: [r]\n");
  write_npy(dir / "x.npy", random_tensor({64, 64}, 3));  // 16 KiB in, 16 KiB out
  // A 1 KiB file-size limit, SIGXFSZ ignored: a write past it fails with EFBIG.
  const std::string cmd = "ulimit -f 1; trap '' XFSZ; exec " + keel_binary() + " run " + graph.string() +
                          " -i x=" + (dir / "x.npy").string() + " -o " + (dir / "out").string();
  const ProcessResult r = run_process({"/bin/sh", "-c", cmd});
  expect_refused(r, 1, "cannot write '" + (dir / "out/r.npy").string() + "': File too large");
  CHECK_FALSE(has_files(dir / "out"));  // no partial output, no temporary, no lock
}

TEST_CASE(
    "every file a run writes is checked before it starts: links out, links onto each other, non-files") {
  TempDir dir;
  fs::create_directories(dir / "victim");
  const fs::path graph = tiny_graph(dir, "  checkpoint: {path: m.ckpt}\n");
  const std::string holdout = "train.data.holdout=0.25";
  struct Case {
    std::string name;
    std::function<void(const fs::path&)> arrange;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"hold-out folder linked out",
       [&](const fs::path& out) { fs::create_directory_symlink(dir / "victim", out / "holdout"); },
       "leads outside the output folder"},
      {"output linked out",
       [&](const fs::path& out) { fs::create_symlink(dir / "victim/f", out / "fc.npy"); },
       "output 'fc.npy' leads outside the output folder"},
      {"checkpoint linked onto the metrics",
       [&](const fs::path& out) { fs::create_symlink("metrics.jsonl", out / "m.ckpt"); },
       "are the same file through a symbolic link"},
      {"checkpoint is a folder", [&](const fs::path& out) { fs::create_directory(out / "m.ckpt"); },
       "train.checkpoint.path 'm.ckpt' exists and is a folder"},
      {"metrics is a FIFO",
       [&](const fs::path& out) { REQUIRE(::mkfifo((out / "metrics.jsonl").c_str(), 0644) == 0); },
       "train.metrics 'metrics.jsonl' exists and is not a regular file"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const fs::path out = dir / ("out-" + std::to_string(&c - cases.data()));
    fs::create_directories(out);
    c.arrange(out);
    expect_refused(run(graph, out, {"--set", holdout}), 2, c.fragment);
    CHECK(fs::is_empty(dir / "victim"));
    CHECK_FALSE(fs::exists(out / "t.ckpt"));
    CHECK_FALSE(fs::exists(out / ".keel.lock"));
    if (c.name != "metrics is a FIFO") CHECK_FALSE(fs::is_regular_file(out / "metrics.jsonl"));
  }
  // Inference outputs too.
  const fs::path infer = dir.write("infer.yaml",
                                   "keel: 1\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n"
                                   "nodes:\n  - {name: r, op: relu, inputs: [x]}\noutputs: [r]\n");
  write_npy(dir / "x.npy", random_tensor({2, 4}, 1));
  fs::create_directories(dir / "iout");
  fs::create_symlink(dir / "victim/r.npy", dir / "iout/r.npy");
  expect_refused(
      run_keel({"run", infer.string(), "-i", "x=" + (dir / "x.npy").string(), "-o", (dir / "iout").string()}),
      2, "output 'r.npy' leads outside the output folder");
  CHECK(fs::is_empty(dir / "victim"));
}

TEST_CASE("a graph input named rows cannot take the place of the hold-out row indices") {
  TempDir dir;
  const fs::path g = dir.write("g.yaml",
                               "keel: 1\ninputs:\n  rows: {dtype: f32, shape: [batch, 4]}\n"
                               "  y: {dtype: i32, shape: [batch]}\nnodes:\n"
                               "  - {name: fc, op: linear, inputs: [rows], attrs: {units: 3}}\n"
                               "  - {name: loss, op: softmax_cross_entropy, inputs: [fc, y]}\n"
                               "outputs: [fc]\ntrain:\n  loss: loss\n"
                               "  data: {csv: [r.csv], columns: {rows: \"0:4\", y: 4}, holdout: 0.2}\n"
                               "  optimizer: {op: sgd, lr: 0.1}\n");
  expect_refused(run_keel({"validate", g.string()}), 2,
                 "g.yaml:3:3: graph input 'rows' would be written to holdout/rows.npy");
}

TEST_CASE("argument errors are one escaped line, and --help that cannot be written fails") {
  const ProcessResult r = run_keel({"validate", "g.yaml", "--bo\x1b[31mgus\xe2\x80\xae"});
  expect_refused(r, 2, "--bo\\x1b[31mgus\\u202e (run 'keel --help' for usage)");
  expect_refused(run_keel({"-q", "bogus"}), 2, "unknown command 'bogus'");
  const ProcessResult help = run_process({"/bin/sh", "-c", keel_binary() + " --help > /dev/full"});
  CHECK(help.exit_code == 1);
  CHECK(help.first_err_line() == "keel: error: cannot write to standard output: No space left on device");
}

TEST_CASE(
    "a run resumed with a key from a sealed checkpoint keeps sealing, and positions must fit the data") {
  TempDir dir;
  REQUIRE(run_keel({"keygen", (dir / "k.key").string(), "-q"}).exit_code == 0);
  const fs::path graph = tiny_graph(dir, "  checkpoint: {path: t.ckpt}\n");
  REQUIRE(run(graph, dir / "sealed", {"--set", "train.checkpoint.key_file=" + (dir / "k.key").string()})
              .exit_code == 0);
  const ProcessResult resumed = run(graph, dir / "again",
                                    {"--resume", (dir / "sealed/t.ckpt").string(), "--key-file",
                                     (dir / "k.key").string(), "--set", "train.epochs=3"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  // Not safetensors on disk: a plain read fails, a read with the key works.
  CHECK(slurp(dir / "again/t.ckpt").rfind("KEELENC1", 0) == 0);
  expect_refused(run(graph, dir / "plain", {"--resume", (dir / "again/t.ckpt").string()}), 2,
                 "is an encrypted checkpoint");

  REQUIRE(run(graph, dir / "first").exit_code == 0);
  TensorFile f = read_safetensors(dir / "first/t.ckpt");
  f.metadata["epoch"] = "9223372036854775807";
  f.metadata["step"] = "0";
  f.metadata["batch"] = "0";
  write_safetensors(dir / "odd.ckpt", f);
  expect_refused(run(graph, dir / "x", {"--resume", (dir / "odd.ckpt").string()}), 2,
                 "does not fit this data");
  CHECK_FALSE(has_files(dir / "x"));
}
