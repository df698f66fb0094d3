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
#include <optional>
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
// With a key, a plaintext file is refused too ("is not encrypted"): whoever
// can swap a sealed checkpoint for a plain one must not thereby decide what
// the model does. allow_plaintext (--allow-plaintext) accepts it.
struct CheckpointSeal {
  const Registry* registry = nullptr;  // needed to seal or to recognize a sealed file
  KeySource key;
  bool allow_plaintext = false;
};

// The format this build writes and reads (metadata "format").
inline constexpr const char* kCheckpointFormat = "keel-checkpoint-1";

// What a checkpoint records besides tensors, for --resume's checks.
struct CheckpointInfo {
  TrainingPosition position;
  bool has_format = false;                 // written by Keel's training (metadata "format")
  std::string graph;                       // the training graph's name
  std::optional<std::uint64_t> seed;       // absent in checkpoints written before it was recorded
  std::optional<std::int64_t> batch_size;  // train.data.batch
};

// The seal for `key`, checked now (the codec exists, the key file is
// readable and protected, the variable is set) so that training fails before
// its first step rather than at its first checkpoint. keel::Error (usage).
CheckpointSeal checkpoint_seal(const Registry& registry, const KeySource& key);

// Records the graph's name and seed and `batch_size` with the position.
void save_checkpoint(const std::filesystem::path& file, const Plan& plan,
                     const std::vector<OptimizerState>& state, const TrainingPosition& position,
                     std::int64_t batch_size, const CheckpointSeal& seal = {});

// Loads parameters (and, when `state` is given, optimizer state) into the
// plan's already-shaped parameters; every parameter must be present with its
// shape. Returns what the file records. keel::Error (usage) naming the file
// and the tensor otherwise, and for a format version this build does not
// read.
CheckpointInfo load_checkpoint(const std::filesystem::path& file, Plan& plan,
                               const std::vector<OptimizerState>* state, const CheckpointSeal& seal = {});

}  // namespace keel
