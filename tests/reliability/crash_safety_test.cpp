// A training run is killed (SIGKILL: no handler, no cleanup) at random
// moments, many times, most of them while it writes its checkpoint (it
// writes one every step). After every kill the folder holds only the final
// checkpoint name, whole, its append-only metrics log with whole lines, and
// hidden temporaries; the checkpoint reads back
// and the next run resumes from it, never going back in steps. A last run
// resumes to the end and leaves no temporary behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "files.hpp"
#include "hardening_util.hpp"
#include "process.hpp"
#include "runtime/safetensors.hpp"

namespace fs = std::filesystem;
using keel::test::slurp;

namespace {

const char* kGraph = R"(keel: 1
name: crash-safety
inputs:
  x: {dtype: f32, shape: [batch, 4]}
  y: {dtype: f32, shape: [batch]}
nodes:
  - {name: hidden, op: linear, inputs: [x], attrs: {units: 32}}
  - {name: act, op: relu, inputs: [hidden]}
  - {name: fit, op: linear, inputs: [act], attrs: {units: 1}}
  - {name: pred, op: reshape, inputs: [fit], attrs: {shape: [-1]}}
  - {name: loss, op: mse, inputs: [pred, y]}
outputs: [pred]
train:
  loss: loss
  data: {csv: [data.csv], columns: {x: "0:4", y: 4}, batch: 8, shuffle: true}
  epochs: 1000000
  optimizer: {op: sgd, lr: 0.01, momentum: 0.9}
  checkpoint: {path: model.ckpt, every: 1}
)";

// Starts keel with stdout and stderr to `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  const std::string keel = keel::test::keel_binary();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    keel::test::exec_keel(keel, args);
  }
  return pid;
}

bool is_temporary(const std::string& name) { return name.rfind(".model.ckpt.tmp.", 0) == 0; }

std::uint64_t checkpoint_step(const fs::path& file) {
  const keel::TensorFile f = keel::read_safetensors(file);  // throws on a partial file
  REQUIRE(f.find("hidden.weight") != nullptr);
  REQUIRE(f.find("fit.bias") != nullptr);
  return std::stoull(f.metadata.at("step"));
}

}  // namespace

TEST_CASE("a training run killed at random moments keeps its last good checkpoint and resumes from it") {
  keel::test::TempDir dir;
  std::string csv;
  std::mt19937 data_rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int r = 0; r < 64; ++r) {
    float x[4], y = 0;
    for (int c = 0; c < 4; ++c) y += (c + 1) * (x[c] = u(data_rng));
    csv += std::to_string(x[0]) + "," + std::to_string(x[1]) + "," + std::to_string(x[2]) + "," +
           std::to_string(x[3]) + "," + std::to_string(y) + "\n";
  }
  const fs::path graph = dir.write("g/graph.yaml", kGraph);
  dir.write("g/data.csv", csv);
  const fs::path out = dir / "out", ckpt = out / "model.ckpt", log = dir / "log";

  // The kill window starts when a run has written its first checkpoint, as
  // measured here: start-up takes ~100 ms on an idle machine and many times
  // that under a sanitizer or load, and kills before it test little.
  int first_ms = 0;
  {
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = spawn({"run", graph.string(), "-q", "-o", out.string(), "--threads", "1"}, log);
    while (!fs::exists(ckpt) && first_ms < 120000 * keel::test::time_scale()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      first_ms =
          int(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
                  .count());
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    INFO("calibration run's output: " << slurp(log));
    REQUIRE(fs::exists(ckpt));
    fs::remove_all(out);
  }
  const unsigned seed = std::random_device{}();
  INFO("kill schedule seed " << seed << ", first checkpoint after " << first_ms << " ms");
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(first_ms, first_ms + std::max(300, 2 * first_ms));

  constexpr int kKills = 25;
  std::uint64_t last_step = 0;
  int temporaries_seen = 0, checkpoints_seen = 0;
  for (int i = 0; i < kKills; ++i) {
    std::vector<std::string> args{"run", graph.string(), "-q", "-o", out.string(), "--threads", "1"};
    if (fs::exists(ckpt)) args.insert(args.end(), {"--resume", ckpt.string()});
    const pid_t pid = spawn(args, log);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO("kill " << i << ", keel's output: " << slurp(log));
    // Killed, not failed on its own.
    REQUIRE(WIFSIGNALED(status));

    // Killed before it created its output folder (a slow start, as under
    // ASan): nothing was written, which is consistent.
    if (!fs::exists(out)) continue;
    for (const auto& entry : fs::directory_iterator(out)) {
      const std::string name = entry.path().filename().string();
      INFO("file left: " << name);
      // metrics.jsonl and steps.csv are append-only logs: each line (each
      // epoch's steps) is written whole. run.json is written atomically.
      // .keel.lock: the folder lock, which only a clean exit removes (the kernel
      // releases the lock itself whatever the exit).
      CHECK((name == "model.ckpt" || name == "metrics.jsonl" || name == "steps.csv" || name == "run.json" ||
             name == ".keel.lock" || is_temporary(name)));
      if (is_temporary(name)) ++temporaries_seen;
      if (name == "metrics.jsonl" || name == "steps.csv") {
        const std::string log_text = slurp(entry.path());
        CHECK((log_text.empty() || log_text.back() == '\n'));
      }
    }
    if (fs::exists(ckpt)) {
      ++checkpoints_seen;
      const std::uint64_t step = checkpoint_step(ckpt);
      CHECK(step >= last_step);
      last_step = step;
    }
  }
  // The schedule must have exercised what it is for.
  CHECK(checkpoints_seen >= kKills / 2);
  CHECK(temporaries_seen >= 1);
  CHECK(last_step > 0);

  // A final run resumes and finishes a few steps later; the killed runs'
  // temporaries are gone once it has written the checkpoint.
  const auto r = keel::test::run_process({keel::test::keel_binary(), "run", graph.string(), "-q", "-o",
                                          out.string(), "--threads", "1", "--resume", ckpt.string(), "--set",
                                          "train.steps=" + std::to_string(last_step + 3)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(checkpoint_step(ckpt) == last_step + 3);
  for (const auto& entry : fs::directory_iterator(out)) {
    INFO("file left: " << entry.path().filename().string());
    CHECK_FALSE(entry.path().filename().string().find(".tmp.") != std::string::npos);
  }
}
