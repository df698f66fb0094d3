// What a training run leaves for people to look at later (keel report,
// engine/report): the run's facts in DIR/run.json and one line per step in
// DIR/steps.csv. Both are small and cheap: run.json is written at the start
// and rewritten at the end (atomically), steps.csv is buffered in memory
// and reaches the file in one write(2) per epoch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/line_file.hpp"

namespace keel {

// The columns of steps.csv, after its header line `step,loss,lr,grad_norm`:
// the step (counted from 0, as anomalies.jsonl counts it), the batch loss in training mode, the
// learning rate the step used (schedule times any rollback factor), and the
// global L2 norm of all trained gradients before clipping ("nan" when a
// gradient was not finite).
class StepLog {
 public:
  StepLog() = default;
  // Opens `path`, emptied first unless `append` (a resumed run); the header
  // is written when the file is empty.
  StepLog(const std::filesystem::path& path, bool append);

  void add(std::uint64_t step, double loss, double lr, double grad_norm);
  // Everything added since the last flush, in one write; keel::Error
  // (runtime) naming the file on a failed write.
  void flush();
  bool is_open() const { return file_.is_open(); }

 private:
  LineFile file_;
  std::string pending_;
};

// The facts of a run that its output files do not say: what ran, with
// what, and where its checkpoint went. Written as DIR/run.json.
struct RunFacts {
  struct Plugin {
    std::string name, version, file;
  };
  std::string graph_file, graph_name, graph_dot;  // the dot text: keel graph's picture, for the report
  std::uint64_t seed = 0;
  int threads = 0, inter_op = 1;
  std::string keel_version;
  std::vector<Plugin> plugins;
  std::string loss, metric, optimizer;
  double lr = 0, clip_grad_norm = 0;
  std::int64_t batch = 0, epochs = 0, total_steps = 0, batches_per_epoch = 0;
  std::string metrics;     // the metrics file, relative to the output folder; empty: none
  std::string checkpoint;  // relative to the output folder; empty: none
  bool sealed = false;     // checkpoints encrypted (docs/encryption.md)
  std::string profile;     // --profile's trace file; empty: none
  std::string resumed_from;
  std::uint64_t first_step = 0;
  std::string started;  // UTC, ISO 8601
  bool report = true;   // train.report: write DIR/report.html at the end
  // Known at the end; status is "running" until then, so a killed run's
  // file says so: then "completed", "stopped" (a signal) or "aborted" (a guard).
  std::string status = "running";
  std::uint64_t steps = 0;
  double seconds = 0;
  std::size_t peak_bytes = 0;  // the step's tensor memory (executor arena)
  std::size_t guard_events = 0;

  std::string to_json() const;
};

// The current time as "2024-05-01T12:00:00Z".
std::string utc_now();

// Writes facts.to_json() to `path` atomically.
void write_run_facts(const std::filesystem::path& path, const RunFacts& facts);

}  // namespace keel
