// The files a training run leaves in its output folder, read back for the
// run report (report/report.hpp): run.json (the run's facts), the metrics
// file (one JSON object per epoch), steps.csv (one line per step),
// anomalies.jsonl (one JSON object per guard event), the --profile trace
// named in run.json, and sample grids DIR/samples/epoch-NNN.png.
//
// The run's own files must be well formed: a malformed line is keel::Error
// (usage) at FILE:LINE. What comes from elsewhere and is optional (the
// trace, sample pictures) only adds a note when it cannot be used.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/json_read.hpp"

namespace keel {

struct StepSeries {
  std::vector<double> step, loss, lr, grad_norm;
};

// Time per node from a Chrome trace: every complete span of category
// forward or backward, summed by name.
struct NodeTime {
  std::string node;
  double forward_ms = 0, backward_ms = 0;
  std::uint64_t forward_calls = 0, backward_calls = 0;
};

struct SampleGrid {
  int epoch = 0;
  std::string png;  // the file's bytes
};

struct RunFolder {
  std::filesystem::path dir;
  JsonValue facts;                // run.json; null for a folder written before run.json existed
  std::vector<JsonValue> epochs;  // metrics lines, in order
  std::vector<JsonValue> events;  // anomalies.jsonl lines, in order
  std::size_t event_lines = 0;    // events.size() before any cut (see read_run_folder)
  StepSeries steps;
  std::vector<NodeTime> node_times;  // empty without a usable trace
  std::vector<SampleGrid> samples;
  std::vector<std::string> notes;  // what could not be shown, and why
};

// Reads `dir`. keel::Error (usage): no such folder, not a run's output
// folder (neither run.json nor a metrics file), or a malformed line.
// Guard events beyond `max_events` are counted but not kept.
RunFolder read_run_folder(const std::filesystem::path& dir, std::size_t max_events = 2000);

}  // namespace keel
