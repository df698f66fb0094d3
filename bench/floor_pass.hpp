// One pass of bench_floor: Keel's trainer on the large model, and after
// each of its steps, from an observer, the floor's step (floor_step.hpp) on
// the same rows, both timed, so the two alternate step by step.
//
// Keel's step is what `keel run` pays per step: a Trainer with the
// observers keel::train() gives it (metrics, run.json and steps.csv; the
// console's, quiet and without a terminal, does nothing per step and is
// left out), timed from the step's start to the on_step of the pass's
// observer, the last one: the batch gathered, forward, loss, backward, the
// gradient norm and clip_grad_norm, the graph's guards, the SGD update and
// the other observers. The pass stops the trainer after its last step,
// before any epoch ends, so nothing is evaluated.
//
// The floor starts from Keel's initial parameters, and after the first
// step its loss, gradient norm and updated parameters must match Keel's,
// or the pass throws: the floor is the same step, not a cheaper one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "executor/profiler.hpp"
#include "floor_step.hpp"
#include "graph/validate.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "step_breakdown.hpp"

namespace keel::bench {

struct PassSetup {
  const ValidatedGraph& graph;  // a train: section whose steps = warmup + timed steps
  const Registry& registry;
  raw::FloorStep& floor;
  const std::vector<std::size_t>& order;  // the trainer's first epoch: its rows in order
  std::uint64_t warmup = 3;               // steps not timed; the first is the check
  std::filesystem::path output_dir;       // the trainer's, fresh
  int threads = 1;                        // for run.json
  // With a profiler (`keel run --profile`), every timed step is also a span
  // there, named `step_span`, and the floor times its parts.
  Profiler* profiler = nullptr;
  std::string step_span;
};

struct PassResult {
  std::vector<double> keel, floor;           // seconds per timed step
  std::vector<raw::FloorTimes> floor_parts;  // with a profiler
  AllocationStats allocations;               // in Keel's timed steps
  std::string check;                         // how close the first steps were
};

PassResult run_pass(const PassSetup& setup);

// Keel's parameter `name`, or null.
const Parameter* find_param(const Plan& plan, const std::string& name);

}  // namespace keel::bench
