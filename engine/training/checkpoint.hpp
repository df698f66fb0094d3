// Checkpoints and parameter sets in the safetensors layout: every parameter
// under its name (fc1.weight, bn1.running_mean), optimizer state under
// optim.<parameter>.<state>, and the position in training in the metadata,
// so that a resumed run continues bit for bit. With a key, a checkpoint is
// sealed in the encrypt plugin's Keel container (codec "keel") before it
// touches the disk, and a sealed checkpoint is recognized by its magic when
// read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "keel/codec.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
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

// How checkpoints are sealed and opened. No key: written as plain
// safetensors, and a sealed file read without a key is an error saying
// which option gives it.
struct CheckpointSeal {
  const Registry* registry = nullptr;  // needed to seal or to recognize a sealed file
  KeySource key;
};

// The seal for `key`, checked now (the codec exists, the key file is
// readable and protected, the variable is set) so that training fails before
// its first step rather than at its first checkpoint. keel::Error (usage).
CheckpointSeal checkpoint_seal(const Registry& registry, const KeySource& key);

void save_checkpoint(const std::filesystem::path& file, const Plan& plan,
                     const std::vector<OptimizerState>& state, const TrainingPosition& position,
                     const CheckpointSeal& seal = {});

// Loads parameters (and, when `state` is given, optimizer state) into the
// plan's already-shaped parameters; every parameter must be present with its
// shape. Returns the position recorded in the file. keel::Error (usage)
// naming the file and the tensor otherwise.
TrainingPosition load_checkpoint(const std::filesystem::path& file, Plan& plan,
                                 const std::vector<OptimizerState>* state, const CheckpointSeal& seal = {});

}  // namespace keel
