// Where a training step's time goes, read from the trace `keel run
// --profile` writes (executor/profiler.hpp): each step's span, the spans of
// its nodes' forward and backward calls, its guards and its optimizer
// update. What lies between them is the engine's own work, attributed by
// position in the step (training/trainer.cpp, Trainer::State::run_phase):
//
//   before the first node    the batch's rows gathered into new tensors,
//                            shapes bound, the memory layout chosen
//   between nodes            building each call's views, scheduling, the
//                            backward seed and zero fills
//   after backward, before   the gradient norm (clip_grad_norm's one pass
//   the update               over every gradient), the learning rate
//   after the update         the observers (steps.csv)
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "floor_step.hpp"
#include "graph/validate.hpp"

namespace keel::bench {

// One step's parts, in seconds.
struct StepParts {
  double total = 0;
  double before_nodes = 0, between_nodes = 0, grad_norm = 0, guards = 0, update = 0, after_update = 0;
  std::map<std::string, double> forward, backward;  // the nodes' calls, by op name
};

// The steps numbered [first, end) found in `trace`, each the span of that
// name and step number; the node spans are named after `graph`'s nodes.
// Throws keel::Error for a trace it cannot read.
std::vector<StepParts> read_step_parts(const std::filesystem::path& trace, const ValidatedGraph& graph,
                                       const std::string& step_span, std::uint64_t first, std::uint64_t end);

// What the process allocated through operator new in one of Keel's steps
// (medians over steps).
struct AllocationStats {
  double calls = 0, bytes = 0, seconds = 0;
};

// The breakdown as a text table on `out`: Keel's part and the floor's
// counterpart (medians over steps, ms), the difference and its share of
// Keel's step.
void print_breakdown(std::FILE* out, int threads, const std::vector<StepParts>& keel,
                     const std::vector<raw::FloorTimes>& floor, const AllocationStats& allocations);

}  // namespace keel::bench
