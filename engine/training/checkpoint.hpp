// Checkpoints and parameter sets in the safetensors layout: every parameter
// under its name (fc1.weight, bn1.running_mean), optimizer state under
// optim.<parameter>.<state>, and the position in training in the metadata,
// so that a resumed run continues bit for bit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "planner/plan.hpp"
#include "runtime/safetensors.hpp"

namespace keel {

struct TrainingPosition {
  std::uint64_t step = 0;  // optimizer updates applied
  std::int64_t epoch = 0;  // the epoch in progress
  std::int64_t batch = 0;  // the next batch of that epoch
};

struct OptimizerState {
  std::string name;  // optim.<parameter>.<state>
  Tensor* tensor = nullptr;
};

void save_checkpoint(const std::filesystem::path& file, const Plan& plan,
                     const std::vector<OptimizerState>& state, const TrainingPosition& position);

// Loads parameters (and, when `state` is given, optimizer state) into the
// plan's already-shaped parameters; every parameter must be present with its
// shape. Returns the position recorded in the file. keel::Error (usage)
// naming the file and the tensor otherwise.
TrainingPosition load_checkpoint(const std::filesystem::path& file, Plan& plan,
                                 const std::vector<OptimizerState>* state);

}  // namespace keel
